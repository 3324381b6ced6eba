import type { Knex } from 'knex';
import { createQuery, markTransaction } from './builder.js';
import { createRaw, type RawOptions } from './raw.js';
import { TrxCapture } from '../capture/transaction-keys.js';
import {
  batchInsertThrough,
  instanceMembers,
  migratorFor,
  seederFor,
  transactionProviderThrough,
} from './knex-internals.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { isNotAuthoritative } from '../stage/authority.js';
import { admitWrite, guardWrites } from './admit.js';
import { createSchema } from './schema-builder.js';
import { createFunctionHelper, createRef } from './sql-objects.js';
import { internally } from './statement-context.js';
import type { Scope, TrxScope } from './scope.js';
import type { DualWriteQueryInterface, DualWriteTransaction } from './types.js';

type Callable = Record<string, (...args: unknown[]) => unknown>;

/** EventEmitter methods of a knex instance: they act on the handle's emitter of the app's query events. */
const EMITTER_METHODS = [
  'on',
  'once',
  'off',
  'addListener',
  'prependListener',
  'prependOnceListener',
  'removeListener',
  'removeAllListeners',
  'emit',
  'listeners',
  'rawListeners',
  'listenerCount',
  'eventNames',
  'setMaxListeners',
  'getMaxListeners',
] as const;

let startMethods: string[] | undefined;

/** Members of a knex instance that are not query-starting methods (the handle defines each itself). */
const OWN_MEMBERS = new Set<string>([
  ...EMITTER_METHODS,
  'length',
  'name',
  'arguments',
  'caller',
  'prototype',
  'client',
  'userParams',
  'schema',
  'migrate',
  'seed',
  'fn',
  'raw',
  'batchInsert',
  'transaction',
  'transactionProvider',
  'initialize',
  'destroy',
  'ref',
  'withUserParams',
  'queryBuilder',
  'disableProcessing',
  'enableProcessing',
  'context',
]);

/**
 * Methods of a knex instance that start a query (`db.select(...)`, `db.with(...)`, `db.insert(...)`):
 * knex's own list (even the few whose builder method knex lacks: they fail as on knex).
 */
function queryStartMethods(knex: Knex): string[] {
  startMethods ??= [...instanceMembers(knex)].filter((m) => !OWN_MEMBERS.has(m));
  return startMethods;
}

/** Builds the knex-like callable of a scope (the handle, a context of it, or a transaction). */
export function queryInterface(
  scope: Scope,
  userParams: Record<string, unknown> = {},
): DualWriteQueryInterface {
  const { core } = scope;
  const db = ((table: string, options?: unknown) =>
    createQuery(scope, table, options)) as DualWriteQueryInterface;
  const side = (): 'mysql' | 'postgres' => scope.trx?.side ?? core.plan().authoritative;
  const appKnex = (): Knex => scope.trx?.ktrx ?? core.app[side()];
  const forEachPool = (method: string, ...args: unknown[]): void => {
    for (const k of [core.app.mysql, core.app.mysqlWrites, core.app.postgres]) {
      (k as unknown as Callable)[method]!(...args);
    }
  };
  let params = userParams;
  const members: Record<string, unknown> = {};
  for (const m of queryStartMethods(core.app.mysql)) {
    members[m] = (...args: unknown[]) => (createQuery(scope) as unknown as Callable)[m]!(...args);
  }
  for (const m of EMITTER_METHODS) {
    members[m] = (...args: unknown[]) => {
      const out = (core.appEvents as unknown as Callable)[m]!(...args);
      return out === core.appEvents ? db : out;
    };
  }
  Object.assign(db, members, {
    queryBuilder: () => createQuery(scope),
    raw: (sql: string, bindings?: unknown, options?: RawOptions) => createRaw(scope, sql, bindings, options),
    ref: (ref: string) => createRef(scope, ref),
    transaction: (container?: unknown, config?: unknown) => {
      if (container && typeof container === 'object' && config === undefined) {
        return openTransaction(scope, container, params);
      }
      return typeof container === 'function'
        ? runTransaction(scope, container as (trx: DualWriteTransaction) => unknown, config, params)
        : openTransaction(scope, config, params);
    },
    transactionProvider: (config?: unknown) => transactionProviderThrough(core.app.mysql, db, config),
    batchInsert: (table: string, rows: readonly unknown[], chunkSize?: number) =>
      batchInsertThrough(core.app.mysql, db, table, rows, chunkSize),
    withUserParams: (params: Record<string, unknown>) => {
      if (scope.trx) {
        throw new Error(
          'Cannot set user params on a transaction - it can only inherit params from main knex instance',
        );
      }
      return Object.assign(queryInterface(scope, params), pickHandleExtras(db));
    },
    initialize: (config?: unknown) => forEachPool('initialize', config),
    disableProcessing: () => forEachPool('disableProcessing'),
    enableProcessing: () => forEachPool('enableProcessing'),
  });
  Object.defineProperties(db, {
    fn: { get: () => createFunctionHelper(scope), configurable: true },
    schema: { get: () => createSchema(scope), configurable: true },
    client: { get: () => appKnex().client as unknown, configurable: true },
    migrate: { get: () => migratorFor(core.app[side()], db), configurable: true },
    seed: { get: () => seederFor(core.app[side()], db), configurable: true },
    userParams: {
      get: () => (scope.trx ? scope.trx.userParams : params),
      set: (v: Record<string, unknown>) => {
        params = v;
      },
      configurable: true,
    },
    context: { get: () => db, configurable: true },
  });
  return db;
}

/** What withUserParams copies from a handle to its new view (the dualwrite controls, destroy...). */
function pickHandleExtras(db: object): object {
  const out: Record<string, unknown> = {};
  for (const k of ['withContext', 'destroy', 'dualwrite'] as const) {
    const d = Object.getOwnPropertyDescriptor(db, k);
    if (d) out[k] = (db as Record<string, unknown>)[k];
  }
  return out;
}

function transactionHandle(scope: Scope): DualWriteTransaction {
  const trx = scope.trx as TrxScope;
  const db = queryInterface(scope) as DualWriteTransaction;
  Object.assign(db, {
    isTransaction: true,
    commit: async (value?: unknown) => {
      try {
        await internally(() => trx.capture.flush(trx.ktrx));
      } catch (error) {
        // The keys could not be recorded: the writes must not commit without them.
        await trx.ktrx.rollback(error).catch(() => undefined);
        throw error;
      }
      return trx.ktrx.commit(value);
    },
    rollback: (error?: unknown) => trx.ktrx.rollback(error),
    savepoint: (container?: unknown, config?: unknown) =>
      (db.transaction as (c?: unknown, o?: unknown) => unknown)(container, config),
    isCompleted: () => trx.ktrx.isCompleted(),
  });
  Object.defineProperty(db, 'executionPromise', { get: () => trx.ktrx.executionPromise, configurable: true });
  markTransaction(db, scope);
  return db;
}

/**
 * `db.transaction(cb, config?)`: admitted through the write gate as one write (a flip waits for it), run
 * on the authoritative side of the stage at its start; the sync worker is woken after commit. Nested
 * calls are savepoints of the same transaction. knex's own transaction semantics (commit when the
 * callback resolves, rollback when it rejects, `config` such as isolationLevel) are kept.
 */
async function runTransaction(
  scope: Scope,
  callback: (trx: DualWriteTransaction) => unknown,
  config: unknown,
  userParams: Record<string, unknown>,
): Promise<unknown> {
  const { core } = scope;
  core.assertOpen();
  if (scope.trx) {
    const parent = scope.trx;
    return parent.ktrx.transaction(
      async (ktrx: Knex.Transaction) => callback(transactionHandle({ ...scope, trx: { ...parent, ktrx } })),
      config as Knex.TransactionConfig,
    );
  }
  return admitWrite(core, async (plan) => {
    const capture = new TrxCapture();
    let ran = false;
    const result = await core.app[plan.authoritative]
      .transaction(async (ktrx: Knex.Transaction) => {
        await internally(() => guardWrites(ktrx, plan));
        ran = true;
        const value = await callback(
          transactionHandle({ ...scope, trx: { side: plan.authoritative, plan, ktrx, capture, userParams } }),
        );
        await internally(() => capture.flush(ktrx));
        return value;
      }, config as Knex.TransactionConfig)
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
async function openTransaction(
  scope: Scope,
  config: unknown,
  userParams: Record<string, unknown>,
): Promise<DualWriteTransaction> {
  const { core } = scope;
  core.assertOpen();
  if (scope.trx) {
    const ktrx = await scope.trx.ktrx.transaction(config as Knex.TransactionConfig);
    return transactionHandle({ ...scope, trx: { ...scope.trx, ktrx } });
  }
  for (let attempt = 0; ; attempt++) {
    const leave = await core.gate.enter();
    const plan = core.plan();
    let ktrx: Knex.Transaction;
    try {
      ktrx = await core.app[plan.authoritative].transaction(config as Knex.TransactionConfig);
    } catch (error) {
      leave();
      throw error;
    }
    try {
      await internally(() => guardWrites(ktrx, plan));
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
    return transactionHandle({
      ...scope,
      trx: { side: plan.authoritative, plan, ktrx, capture, userParams },
    });
  }
}
