import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DatabaseSchema } from '../schema/model.js';
import type { Side } from '../stage/stage.js';
import type { Syncer } from '../sync/types.js';
import type { TranslatorSet } from '../translate/types.js';
import type { BackfillPhase } from './checkpoint.js';

export interface BackfillOptions {
  /** MySQL/MariaDB connection (from createMysqlKnex). */
  mysql: Knex;
  /** PostgreSQL connection (from createPostgresKnex); also holds the checkpoints (dualwrite_state). */
  postgres: Knex;
  /** The side rows are copied from: the authoritative one. @default 'mysql' */
  from?: Side;
  /**
   * Moves rows; every batch goes through `syncer.sync(table, keys, from)`, under its locking protocol.
   * @default a KeySyncer of its own, writing through target sessions with foreign keys unchecked (see deferForeignKeys)
   */
  syncer?: Syncer;
  /**
   * When the backfill builds its own syncer: write through target sessions that do not check foreign keys
   * (PostgreSQL `session_replication_role = replica`, MySQL `FOREIGN_KEY_CHECKS = 0`), so self-references
   * and FK cycles copy in key order. Falls back to checked sessions when the role may not set it.
   * @default true
   */
  deferForeignKeys?: boolean;
  /** Canonical keys and key binding per table. */
  translators: TranslatorSet;
  /** Introspected schema of the source side: tables, primary keys, foreign keys. */
  sourceSchema: DatabaseSchema;
  /** Tables to backfill. @default every table of the source schema except dualwrite_* and `exclude` */
  tables?: readonly string[];
  /** Tables left out (the config's `tables[name].exclude`). @default [] */
  exclude?: readonly string[];
  /**
   * Keys per batch: the most a resumed run repeats, and how long a batch holds its lock buckets (live
   * syncs of those keys wait for it). Bigger batches spend less per batch but hold more keys in memory.
   * @default 8000
   */
  batchSize?: number;
  /**
   * Batches of one table in flight at once: one reads and COPYs while the previous one commits. They
   * lock and commit in walk order, each after the previous one's checkpoint, so a killed run repeats at
   * most one batch (with `lanes` > 1, up to this many). @default 2
   */
  pipeline?: number;
  /**
   * With 1, each batch is one sync that reads the source by key range (`after < key <= last key of the
   * page`) and streams the rows into the target. With more, each batch is synced as this many concurrent
   * syncs over disjoint sets of lock buckets (bucket mod lanes), each reading its keys by key list (no
   * range): the checkpoint still moves per batch. @default 1
   */
  lanes?: number;
  /**
   * Tables copied at once. A batch of a few thousand keys locks most of the 4096 lock buckets, so batches
   * of different tables mostly run one after the other anyway: more tables at once add memory, not speed.
   * @default 1
   */
  concurrency?: number;
  /** Rows per second over all tables; 0 means no limit. @default 0 */
  maxRowsPerSecond?: number;
  /** A batch slower than this (ms) means the source is slow: the batch size halves and the walk pauses. @default 5000 */
  slowBatchMs?: number;
  /** Start every table over, ignoring checkpoints (a finished table is otherwise skipped). @default false */
  restart?: boolean;
  /** Resets sequences/identities of a table on PostgreSQL after it is copied. @default resetPgSequences */
  resetSequences?: (pg: Knex, table: string) => Promise<unknown>;
  /** @default a silent logger */
  logger?: Logger;
  /** Progress and lifecycle events, called synchronously; must not throw. */
  onEvent?: (event: BackfillEvent) => void;
  /** Aborting stops after the batch in flight; the checkpoints let a later run resume. */
  signal?: AbortSignal;
}

/** Events of a backfill, in the order they happen for a table. */
export type BackfillEvent =
  /** A table starts (or resumes: `rowsDone` > 0). */
  | { type: 'tableStart'; table: string; total: number; rowsDone: number; resumed: boolean }
  /** A batch was synced and checkpointed. `rate` is rows/s of this table since this run started it. */
  | {
      type: 'batch';
      table: string;
      phase: BackfillPhase;
      rows: number;
      rowsDone: number;
      total: number;
      deleted: number;
      latencyMs: number;
      rate: number;
    }
  /** The source answered slowly: the batch size shrank and the walk pauses `pauseMs`. */
  | { type: 'backoff'; table: string; latencyMs: number; batchSize: number; pauseMs: number }
  /** A table finished both phases. */
  | {
      type: 'tableDone';
      table: string;
      rowsDone: number;
      deleted: number;
      quarantined: number;
      durationMs: number;
    }
  /** A table was not backfilled: refused (no primary key, not on both sides), already done, or excluded. */
  | { type: 'tableSkipped'; table: string; reason: string; code?: string }
  /** A table failed; others go on. */
  | { type: 'tableFailed'; table: string; error: Error };

export interface TableOutcome {
  table: string;
  status: 'done' | 'skipped' | 'refused' | 'failed';
  /** Source keys synced by this run. */
  rows: number;
  /** Target-only keys deleted by this run. */
  deleted: number;
  quarantined: number;
  durationMs: number;
  /** Why a table was skipped, refused or failed. */
  reason?: string;
  code?: string;
  /** Whether this run continued from a checkpoint. */
  resumed?: boolean;
}

export interface BackfillResult {
  tables: TableOutcome[];
  /** Source keys synced by this run, all tables. */
  rows: number;
  durationMs: number;
  /** rows / seconds of this run. */
  rowsPerSecond: number;
  /** True when no table failed or was refused. */
  ok: boolean;
}
