import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { DualWriteConfig } from '../config/schema.js';
import type { ReadObserver, RequestContext } from '../shadow/types.js';
import type { Side, StagePlan } from '../stage/stage.js';
import { keyText } from '../sync/buckets.js';
import { enqueueKeys } from '../sync/outbox.js';
import type { KeyTuple, TranslatorSet } from '../translate/types.js';
import type { WriteGate } from './gate.js';

/** What the handle needs from the outbox worker of the sync part. */
export interface OutboxWorkerLike {
  /** A local write committed outbox rows: drain soon instead of waiting for the next poll. */
  notify(): void;
  /** Resolves once the outbox of the authoritative side is empty (rejects past `timeoutMs`). */
  drain(options?: { timeoutMs?: number }): Promise<void>;
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

/**
 * Keys a transaction's statements wrote, recorded in the outbox in one insert per table just before
 * the commit (still inside the transaction) instead of one insert per statement.
 */
export class TrxCapture {
  /** Whether the transaction wrote anything to sync (the worker is woken after the commit). */
  captured = false;
  readonly #pending = new Map<string, Map<string, KeyTuple>>();

  add(table: string, keys: readonly KeyTuple[]): void {
    this.captured = true;
    let byText = this.#pending.get(table);
    if (!byText) this.#pending.set(table, (byText = new Map()));
    for (const k of keys) byText.set(keyText(k), k);
  }

  /** Writes the pending keys into the outbox through `trx`. */
  async flush(trx: Knex.Transaction): Promise<void> {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [table, keys] of pending) await enqueueKeys(trx, table, [...keys.values()]);
  }
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
