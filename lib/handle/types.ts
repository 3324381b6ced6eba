import type { Knex } from 'knex';
import type { AuthorityRow } from '../stage/authority.js';
import type { InstanceInfo } from '../stage/instances.js';
import type { Registry } from 'prom-client';
import type { DualWriteConfig } from '../config/schema.js';
import type { DualWriteEvents } from '../observe/events.js';
import type { RequestContext } from '../shadow/types.js';
import type { SetStageOptions, StageChange } from '../stage/flip.js';
import type { Side, Stage, StagePlan } from '../stage/stage.js';
import type { TranslatorSet } from '../translate/types.js';
import type { RawOptions } from './raw.js';
import type { OutboxWorkerLike } from './scope.js';

/** What `db.dualwrite.status()` reports. */
export interface DualWriteStatus {
  stage: Stage;
  authoritative: Side;
  /** Outbox rows waiting on the authoritative side. */
  backlog: number;
  /** Age of the oldest waiting outbox row, ms (0 when empty). */
  lagMs: number;
  /** Breaker in front of each side, as the sync worker reports it ('n/a' without a worker). */
  breaker: Record<Side, string>;
  /** Open quarantine entries; null while PostgreSQL (where they are kept) is unreachable. */
  quarantined: number | null;
  /**
   * App instances that published a heartbeat within the last minute, with their stage and the stage
   * they hold writes for during a fence; null while PostgreSQL is unreachable.
   */
  instances: InstanceInfo[] | null;
  /** Both outboxes: rows waiting and the age of the oldest, ms; null where unreadable. */
  outboxes: Record<Side, OutboxStatus | null>;
  /** The authoritative role as the databases record it (null where unreadable or not initialised). */
  authority: Record<Side, AuthorityRow | null> | null;
  /** The stage of the configuration (the file) this status was read for. */
  configStage: Stage;
  /**
   * What does not agree with the configuration: live instances in another stage, a role the
   * databases hold elsewhere or still moving. Empty when everything agrees.
   */
  disagreements: string[];
}

export interface OutboxStatus {
  backlog: number;
  /** Age of the oldest row, ms (0 when empty). */
  oldestAgeMs: number;
}

/** Control surface of a handle: stage, flips, status, events, metrics, the sync worker. */
export interface DualWriteControl {
  /** Stage in force. */
  readonly stage: Stage;
  plan(): StagePlan;
  /** Changes the stage (a flip when the authoritative role moves: checks + fence). */
  setStage(stage: Stage, options?: SetStageOptions): Promise<StageChange>;
  /** Same as setStage, for the operator's "flip" wording. */
  flip(target: Stage, options?: { force?: boolean; source?: string }): Promise<StageChange>;
  status(): Promise<DualWriteStatus>;
  readonly events: DualWriteEvents;
  readonly metrics: Registry;
  readonly worker: OutboxWorkerLike | undefined;
  readonly translators: TranslatorSet;
  /** Configuration in force (hot reload replaces it). */
  readonly config: Readonly<DualWriteConfig>;
  /** dualwrite's own pools, canonical driver settings (for its tooling; app code uses the handle). */
  readonly knex: Readonly<Record<Side, Knex>>;
  /** The pools the app's statements run on (the app's knex configuration on MySQL). */
  readonly app: Readonly<Record<Side, Knex>>;
  /** MySQL pool of the one-round-trip captured writes (the app's settings, multiple statements allowed). */
  readonly mysqlWrites: Knex;
  /** Context attached with withContext(), if any. */
  readonly context: RequestContext | undefined;
}

/**
 * The knex surface of the handle and of its transactions: everything a knex instance has (query
 * builders, raw, ref, fn, transactions, transactionProvider, batchInsert, schema, migrate, seed,
 * userParams/withUserParams, events), answering as the app's own knex did.
 */
export interface DualWriteQueryInterface extends Knex {
  /** Raw SQL. A raw write dualwrite cannot read its keys from may declare `{ table, keys }`. */
  raw: Knex['raw'] &
    ((
      sql: string,
      bindings: readonly Knex.RawBinding[] | Knex.ValueDict | Knex.RawBinding,
      options: RawOptions,
    ) => Knex.Raw);
}

export type DualWriteTransaction = Knex.Transaction & DualWriteQueryInterface;

/** The handle: a knex drop-in routed by stage, with `dualwrite` controls. */
export interface DualWriteDb extends DualWriteQueryInterface {
  /** The same handle whose reads carry `context` into shadow reports. */
  withContext(context: RequestContext): DualWriteDb;
  /** Drains the sync worker, stops watchers and closes both pools. */
  destroy(): Promise<void>;
  readonly dualwrite: DualWriteControl;
}
