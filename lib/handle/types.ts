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
  /** The two knex pools (for dualwrite's own tooling; app code uses the handle). */
  readonly knex: Readonly<Record<Side, Knex>>;
  /** MySQL pool of the one-round-trip captured writes (multiple statements allowed; dualwrite's SQL only). */
  readonly mysqlWrites: Knex;
  /** Context attached with withContext(), if any. */
  readonly context: RequestContext | undefined;
}

/** Query-building surface shared by the handle and its transactions. */
export interface DualWriteQueryInterface {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the same defaults as knex's own signature
  <TRecord extends object = any, TResult = unknown[]>(table: string): Knex.QueryBuilder<TRecord, TResult>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  table<TRecord extends object = any, TResult = unknown[]>(
    table: string,
  ): Knex.QueryBuilder<TRecord, TResult>;
  queryBuilder(): Knex.QueryBuilder;
  select: Knex.QueryBuilder['select'];
  from: Knex.QueryBuilder['from'];
  /** Raw SQL. A raw write in a syncing stage must declare `{ table, keys }` (unless trigger capture is on). */
  raw(
    sql: string,
    bindings?: readonly Knex.RawBinding[] | Knex.ValueDict | Knex.RawBinding,
    options?: RawOptions,
  ): Knex.Raw;
  fn: Knex.FunctionHelper;
  /** Schema builder of the authoritative side (DDL is not replicated: apply it to both databases). */
  readonly schema: Knex.SchemaBuilder;
  /** knex client of the authoritative side. */
  readonly client: unknown;
  transaction<T>(callback: (trx: DualWriteTransaction) => Promise<T> | T): Promise<T>;
  /** A transaction the caller completes with commit() or rollback(). */
  transaction(): Promise<DualWriteTransaction>;
}

export interface DualWriteTransaction extends DualWriteQueryInterface {
  readonly isTransaction: true;
  commit(value?: unknown): Promise<unknown>;
  rollback(error?: unknown): Promise<unknown>;
  isCompleted(): boolean;
}

/** The handle: a knex drop-in routed by stage, with `dualwrite` controls. */
export interface DualWriteDb extends DualWriteQueryInterface {
  /** The same handle whose reads carry `context` into shadow reports. */
  withContext(context: RequestContext): DualWriteDb;
  /** Drains the sync worker, stops watchers and closes both pools. */
  destroy(): Promise<void>;
  readonly dualwrite: DualWriteControl;
}
