import { AsyncLocalStorage } from 'node:async_hooks';
import type { ShapeHints } from '../shape/pg-rows.js';

/**
 * What dualwrite adds to an app statement at the driver, in the same round trip: the outbox insert of
 * a one-trip write (capture/one-trip). `sql`/`bindings` replace the statement's; `unwrap` turns the
 * driver's response back into the response of the app's statement alone.
 */
export interface StatementWrap {
  wrap(sql: string, bindings: readonly unknown[]): { sql: string; bindings: unknown[] };
  unwrap(response: unknown): unknown;
  /** The wrapped statement failed on this driver connection (e.g. roll back what it began). */
  failed?(connection: unknown): Promise<void>;
}

/**
 * Which of dualwrite's execution paths a statement reaching an app-facing pool came from. Every
 * statement the handle runs carries one (AsyncLocalStorage); a write that arrives without one did not
 * go through capture and is refused (see app-clients).
 */
export interface StatementContext {
  /** `app`: the app's own statement (its events reach the app's listeners); `internal`: dualwrite's. */
  readonly kind: 'app' | 'internal';
  /** Set by the driver hook: the driver's raw response to the app statement (before knex processed it). */
  response?: unknown;
  readonly wrap?: StatementWrap | undefined;
  /** What the PostgreSQL side needs to name and type the result's columns as MySQL does. */
  readonly hints?: ShapeHints | undefined;
}

const storage = new AsyncLocalStorage<StatementContext>();

/** The context of the statement being run, if dualwrite runs it. */
export function currentStatement(): StatementContext | undefined {
  return storage.getStore();
}

/** Runs `fn` (which starts statements) in a statement context; returns the context with what it saw. */
export async function runStatement<T>(
  kind: StatementContext['kind'],
  fn: () => PromiseLike<T> | T,
  wrap?: StatementWrap,
  hints?: ShapeHints,
): Promise<{ value: T; context: StatementContext }> {
  const context: StatementContext = { kind, wrap, hints };
  // Awaited inside run(): a knex builder is a thenable whose then() must start in this context.
  const value = await storage.run(context, async () => await fn());
  return { value, context };
}

/** Starts `fn` synchronously in a statement context (streams: knex starts them synchronously). */
export function startStatement<T>(kind: StatementContext['kind'], fn: () => T, hints?: ShapeHints): T {
  return storage.run({ kind, hints }, fn);
}

/** Runs `fn` as dualwrite's own work (its statements are neither refused nor shown to the app). */
export function internally<T>(fn: () => PromiseLike<T> | T): Promise<T> {
  return storage.run({ kind: 'internal' }, async () => await fn());
}

/** knex's events an instance emits for each statement. */
const KNEX_EVENTS = ['query', 'query-response', 'query-error', 'start'] as const;

/**
 * Passes the knex events of the app-facing pools to the handle's emitter: those of the app's own
 * statements and transactions, not those of dualwrite's additions (outbox rows, key look-ups, the
 * implicit transaction of a captured write), so the app's listeners see what its own knex emitted.
 */
export function forwardAppEvents(
  pools: readonly { on(event: string, listener: (...args: unknown[]) => void): unknown }[],
  target: { emit(event: string, ...args: unknown[]): unknown },
): void {
  for (const pool of pools) {
    for (const event of KNEX_EVENTS) {
      pool.on(event, (...args: unknown[]) => {
        if (storage.getStore()?.kind !== 'internal') target.emit(event, ...args);
      });
    }
  }
}

/** Driver connections of the transactions dualwrite opened around a single app write. */
const implicitConnections = new WeakSet<object>();

/** Whether `connection` runs a transaction dualwrite opened (the app's statement was autocommit). */
export function isImplicitTransaction(connection: unknown): boolean {
  return typeof connection === 'object' && connection !== null && implicitConnections.has(connection);
}

/** Marks (or unmarks) the connection of a transaction dualwrite opened around one app write. */
export function markImplicit(connection: unknown, on: boolean): void {
  if (typeof connection !== 'object' || connection === null) return;
  if (on) implicitConnections.add(connection);
  else implicitConnections.delete(connection);
}
