import type { Knex } from 'knex';
import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row } from '../translate/types.js';

export interface SyncResult {
  table: string;
  /** Keys upserted on the target. */
  upserted: number;
  /** Keys deleted on the target (absent on the source). */
  deleted: number;
  /** Keys put in quarantine (value the target cannot hold), with the reason. */
  quarantined: { key: KeyTuple; code: string; column?: string; reason: string }[];
}

/**
 * The one mechanism that moves rows: copy the current image of `keys` from `from` to the other side —
 * upsert where the row exists on `from`, delete where it does not. Idempotent. Locks target buckets
 * first, then reads the source, then writes the target, then commits (releasing the locks).
 */
export interface Syncer {
  sync(table: string, keys: readonly KeyTuple[], from: Side, options?: SyncOptions): Promise<SyncResult>;
}

export interface SyncOptions {
  /**
   * Where to read the source rows: e.g. the worker's READ COMMITTED claim transaction, so a sync needs no
   * second source connection. Must see the latest committed rows at each statement (never a snapshot
   * older than the bucket locks). @default the syncer's pool of the `from` side
   */
  source?: Knex;
  /**
   * Reads the source rows instead of the syncer's `WHERE key IN (...)` queries (e.g. the backfill's
   * primary-key range read). Called once the bucket locks are held; yields chunks of rows as read from
   * the source side, which must include the current row of every key of the sync that exists there.
   * Rows of other keys are ignored; a key of the sync missing from them is deleted on the target.
   */
  readSource?: () => AsyncIterable<readonly Row[]>;
  /**
   * The keys are every key of one range of the walk, in the source's key order (a backfill batch):
   * the target is looked up by that range, one index range scan, instead of key by key. @default false
   */
  contiguous?: boolean;
  /**
   * Take the bucket locks in share mode: such syncs do not wait for each other, only for ordinary
   * syncs, which also wait for them. For callers whose concurrent syncs never share a key (the
   * backfill's batches): the final image of a key is still written by an ordinary sync after every
   * app write of it, which locks exclusively after that write committed. @default false
   */
  sharedLocks?: boolean;
  /**
   * Awaited once the source is read and before anything of the sync commits (it keeps its locks
   * meanwhile): the backfill commits its batches in walk order, each after the previous one's checkpoint.
   * @default none
   */
  beforeCommit?: () => Promise<void>;
  /**
   * Awaited before the bucket locks are requested, and called once they are held. A caller whose syncs
   * wait for each other in `beforeCommit` must also let them lock one after the other: a lock request
   * queued behind a live sync that waits for a later sync's lock would otherwise close a cycle the
   * database cannot see. @default none
   */
  beforeLock?: () => Promise<void>;
  onLocked?: () => void;
}
