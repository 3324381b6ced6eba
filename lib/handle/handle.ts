import type { Knex } from 'knex';
import { createQuery, markTransaction } from './builder.js';
import { createRaw, type RawOptions } from './raw.js';
import { TrxCapture } from '../capture/transaction-keys.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { isNotAuthoritative } from '../stage/authority.js';
import { admitWrite, guardWrites } from './admit.js';
import type { Scope, TrxScope } from './scope.js';
import type { DualWriteQueryInterface, DualWriteTransaction } from './types.js';

/** Builds the knex-like callable of a scope (the handle, a context of it, or a transaction). */
export function queryInterface(scope: Scope): DualWriteQueryInterface {
  const db = ((table: string) => createQuery(scope, table)) as DualWriteQueryInterface;
  const side = (): 'mysql' | 'postgres' => scope.trx?.side ?? scope.core.plan().authoritative;
  Object.assign(db, {
    table: (table: string) => createQuery(scope, table),
    queryBuilder: () => createQuery(scope),
    select: (...args: unknown[]) => (createQuery(scope).select as (...a: unknown[]) => unknown)(...args),
    from: (...args: unknown[]) => (createQuery(scope).from as (...a: unknown[]) => unknown)(...args),
    raw: (sql: string, bindings?: unknown, options?: RawOptions) => createRaw(scope, sql, bindings, options),
    transaction: <T>(callback?: (trx: DualWriteTransaction) => Promise<T> | T) =>
      callback ? runTransaction(scope, callback) : openTransaction(scope),
  });
  Object.defineProperty(db, 'fn', { get: () => scope.core.knex[side()].fn });
  // Schema builder and client of the authoritative side, for code that inspects them; DDL is not
  // replicated (apply schema changes to both databases).
  Object.defineProperty(db, 'schema', { get: () => scope.core.knex[side()].schema });
  Object.defineProperty(db, 'client', { get: () => scope.core.knex[side()].client as unknown });
  return db;
}

function transactionHandle(scope: Scope): DualWriteTransaction {
  const trx = scope.trx as TrxScope;
  const db = queryInterface(scope) as DualWriteTransaction;
  Object.assign(db, {
    isTransaction: true,
    commit: async (value?: unknown) => {
      try {
        await trx.capture.flush(trx.ktrx);
      } catch (error) {
        // The keys could not be recorded: the writes must not commit without them.
        await trx.ktrx.rollback(error).catch(() => undefined);
        throw error;
      }
      return trx.ktrx.commit(value);
    },
    rollback: (error?: unknown) => trx.ktrx.rollback(error),
    isCompleted: () => trx.ktrx.isCompleted(),
  });
  markTransaction(db, scope);
  return db;
}

/**
 * `db.transaction(cb)`: admitted through the write gate as one write (a flip waits for it), run on the
 * authoritative side of the stage at its start; the sync worker is woken after commit. Nested calls
 * are savepoints of the same transaction.
 */
async function runTransaction<T>(
  scope: Scope,
  callback: (trx: DualWriteTransaction) => Promise<T> | T,
): Promise<T> {
  const { core } = scope;
  core.assertOpen();
  if (scope.trx) {
    const parent = scope.trx;
    return parent.ktrx.transaction(async (ktrx: Knex.Transaction) =>
      callback(transactionHandle({ ...scope, trx: { ...parent, ktrx } })),
    );
  }
  return admitWrite(core, async (plan) => {
    const capture = new TrxCapture();
    let ran = false;
    const result = await core.knex[plan.authoritative]
      .transaction(async (ktrx: Knex.Transaction) => {
        await guardWrites(ktrx, plan);
        ran = true;
        const value = await callback(
          transactionHandle({ ...scope, trx: { side: plan.authoritative, plan, ktrx, capture } }),
        );
        await capture.flush(ktrx);
        return value;
      })
      .catch((error: unknown) => {
        // Run again only when the app's callback never ran: its own effects are not ours to repeat.
        if (ran && isNotAuthoritative(error)) {
          throw new DualWriteError(ErrorCode.NotAuthoritative, (error as Error).message, { cause: error });
        }
        throw error;
      });
    if (capture.captured) core.notify();
    return result;
  });
}

/**
 * `await db.transaction()` without a callback: the caller commits or rolls back. The write gate admits
 * it until it completes, so a flip waits for it like for any other write.
 */
async function openTransaction(scope: Scope): Promise<DualWriteTransaction> {
  const { core } = scope;
  core.assertOpen();
  if (scope.trx) {
    const ktrx = await scope.trx.ktrx.transaction();
    return transactionHandle({ ...scope, trx: { ...scope.trx, ktrx } });
  }
  for (let attempt = 0; ; attempt++) {
    const leave = await core.gate.enter();
    const plan = core.plan();
    let ktrx: Knex.Transaction;
    try {
      ktrx = await core.knex[plan.authoritative].transaction();
    } catch (error) {
      leave();
      throw error;
    }
    try {
      await guardWrites(ktrx, plan);
    } catch (error) {
      ktrx.executionPromise.catch(() => undefined);
      await ktrx.rollback().catch(() => undefined);
      leave();
      if (!isNotAuthoritative(error) || attempt >= 3) throw error;
      await core.follow();
      continue;
    }
    const capture = new TrxCapture();
    ktrx.executionPromise.then(
      () => {
        leave();
        if (capture.captured) core.notify();
      },
      () => leave(),
    );
    return transactionHandle({ ...scope, trx: { side: plan.authoritative, plan, ktrx, capture } });
  }
}
