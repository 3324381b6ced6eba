import type { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DualWriteConfig } from '../config/schema.js';
import type { ReadObserver, RequestContext } from '../shadow/types.js';
import type { Side, StagePlan } from '../stage/stage.js';
import type { TrxCapture } from '../capture/transaction-keys.js';
import type { TranslatorSet } from '../translate/types.js';
import type { AppKnex } from './app-knex.js';
import type { WriteGate } from './gate.js';
import type { SchemaKnowledge } from './schema-knowledge.js';

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
  /** dualwrite's own pools (canonical driver settings): introspection, status, shadow reads. */
  readonly knex: Readonly<Record<Side, Knex>>;
  /** The pools the app's statements run on, with the app's knex configuration. */
  readonly app: AppKnex;
  /** knex's events (`query`, `query-response`, `query-error`, `start`) of the app's statements. */
  readonly appEvents: EventEmitter;
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
  /** The tables known to both sides, re-read when the app writes one not known yet. */
  readonly tables: SchemaKnowledge;
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
  /** The handle's userParams when the transaction began (knex: a transaction inherits them). */
  readonly userParams: Record<string, unknown>;
}

/** Where a query runs: the handle (implicit transactions) or an open transaction, with request context. */
export interface Scope {
  readonly core: HandleCore;
  readonly context: RequestContext | undefined;
  readonly trx: TrxScope | undefined;
}
