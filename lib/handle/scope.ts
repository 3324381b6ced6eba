import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DualWriteConfig } from '../config/schema.js';
import type { ReadObserver, RequestContext } from '../shadow/types.js';
import type { Side, StagePlan } from '../stage/stage.js';
import type { TrxCapture } from '../capture/transaction-keys.js';
import type { TranslatorSet } from '../translate/types.js';
import type { WriteGate } from './gate.js';

/** What the handle needs from the outbox worker of the sync part. */
export interface OutboxWorkerLike {
  /** A local write committed outbox rows: drain soon instead of waiting for the next poll. */
  notify(): void;
  /** Resolves once the outbox of the authoritative side is empty (rejects past `timeoutMs`). */
  drain(options?: { timeoutMs?: number; side?: Side }): Promise<void>;
  /** Outbox rows waiting on the authoritative side. */
  backlog(): Promise<number>;
  /** Drains what it can and stops. */
  close(): Promise<void>;
}

/** State shared by a handle and every context, query and transaction made from it. */
export interface HandleCore {
  readonly knex: Readonly<Record<Side, Knex>>;
  /** MySQL pool with multiple statements allowed, for one-round-trip captured writes (capture/one-trip). */
  readonly mysqlWrites: Knex;
  readonly translators: TranslatorSet;
  readonly gate: WriteGate;
  readonly logger: Logger;
  readonly readObserver: ReadObserver | undefined;
  /** Current configuration (hot reload replaces it). */
  config(): Readonly<DualWriteConfig>;
  /** Routing plan in force. */
  plan(): StagePlan;
  /** After a write its database refused (the role moved): catch up with the stage the databases hold. */
  follow(): Promise<void>;
  /**
   * Unique keys of a MySQL table other than its primary key (column lists; undefined for a table the
   * introspection did not see). A MySQL upsert updates the row of whichever of them conflicts.
   */
  mysqlUniqueKeys(table: string): readonly (readonly string[])[] | undefined;
  /** Called after a commit that wrote outbox rows. */
  notify(): void;
  /** Throws DualWriteError(Closed) once destroy() started. */
  assertOpen(): void;
}

/** An open transaction: every statement of it runs on `side` through `ktrx`. */
export interface TrxScope {
  readonly side: Side;
  readonly plan: StagePlan;
  readonly ktrx: Knex.Transaction;
  /** Shared with nested (savepoint) transactions: keys to record in the outbox before the commit. */
  readonly capture: TrxCapture;
}

/** Where a query runs: the handle (implicit transactions) or an open transaction, with request context. */
export interface Scope {
  readonly core: HandleCore;
  readonly context: RequestContext | undefined;
  readonly trx: TrxScope | undefined;
}
