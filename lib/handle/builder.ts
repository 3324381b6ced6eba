import { callbackify } from 'node:util';
import type { Knex } from 'knex';
import { DualWriteError, ErrorCode } from '../errors.js';
import { builderRole, CHAIN_GETTERS } from './builder-methods.js';
import { executeQuery, streamQuery } from './execute.js';
import { isKnexTransaction, queryBuilderMethods } from './knex-internals.js';
import { QUERY_STATE, replay, type QueryState } from './replay.js';
import type { Scope } from './scope.js';

/** Handles of transactions, so `.transacting(trx)` can move a query into one. */
const TRX_SCOPE = Symbol('dualwrite.trxScope');

export function markTransaction(handle: object, scope: Scope): void {
  Object.defineProperty(handle, TRX_SCOPE, { value: scope });
}

export function scopeOfTransaction(trx: unknown): Scope | undefined {
  return trx && (typeof trx === 'function' || typeof trx === 'object')
    ? (trx as { [TRX_SCOPE]?: Scope })[TRX_SCOPE]
    : undefined;
}

/** `.transacting(trx)`: the scope of a dualwrite transaction (of this handle or another one). */
export function transactingScope(trx: unknown): Scope {
  const scope = scopeOfTransaction(trx);
  if (scope) return scope;
  throw new DualWriteError(
    ErrorCode.Unsupported,
    isKnexTransaction(trx)
      ? 'transacting() got a plain knex transaction: its statements would bypass capture; use a transaction of the dualwrite handle'
      : 'transacting() needs a transaction of a dualwrite handle',
  );
}

let knownMethods: Set<string> | undefined;

/**
 * A knex query builder look-alike. Builder calls are recorded; the query is built for a database only
 * when it runs, so the stage in force at that moment decides where it goes. Every way of running it
 * (await, then, catch, finally, asCallback, stream, pipe) goes to the one executor.
 */
export function createQuery(scope: Scope, table?: string, tableOptions?: unknown): Knex.QueryBuilder {
  return proxyFor({ scope, table, tableOptions, calls: [] });
}

function proxyFor(state: QueryState): Knex.QueryBuilder {
  const { core } = state.scope;
  knownMethods ??= queryBuilderMethods(core.app.mysql);
  /** The query as the app's own knex builds it: what toSQL()/toString() show, and inspections read. */
  const appBuilder = (): Record<string, unknown> =>
    replay(state, 'mysql', core.app.mysql, { translate: false }) as unknown as Record<string, unknown>;
  const record = (method: string, args: readonly unknown[]): Knex.QueryBuilder => {
    state.calls.push({ method, args });
    return proxy;
  };
  const proxy: Knex.QueryBuilder = new Proxy({} as Knex.QueryBuilder, {
    get(_target, prop) {
      if (prop === QUERY_STATE) return state;
      if (prop === Symbol.toStringTag) return 'object';
      if (typeof prop !== 'string') return undefined;
      if ((CHAIN_GETTERS as readonly string[]).includes(prop)) return record(`get:${prop}`, []);
      if (prop === 'client') return core.app[state.scope.trx?.side ?? core.plan().authoritative].client;
      const role = builderRole(prop);
      switch (role) {
        case 'chain':
          return (...args: unknown[]) => record(prop, args);
        case 'execute':
          return execution(state, prop);
        case 'compile':
        case 'inspect':
          return (...args: unknown[]) => {
            const built = appBuilder();
            return (built[prop] as (...a: unknown[]) => unknown).apply(built, args);
          };
        case 'scope':
          return scoped(state, prop, proxy, record);
        default:
          if (prop.startsWith('_')) return appBuilder()[prop];
          if (knownMethods?.has(prop)) {
            throw new DualWriteError(
              ErrorCode.Unsupported,
              `knex query builder method ${prop}() is not known to dualwrite (newer knex?): refused rather than run past capture`,
            );
          }
          return undefined;
      }
    },
  });
  return proxy;
}

function execution(state: QueryState, method: string): unknown {
  switch (method) {
    case 'then':
      return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
        executeQuery(state).then(onFulfilled, onRejected);
    case 'catch':
      return (onRejected?: (e: unknown) => unknown) => executeQuery(state).catch(onRejected);
    case 'finally':
      return (onFinally?: () => void) => executeQuery(state).finally(onFinally);
    case 'asCallback':
      return (cb: (err: unknown, value?: unknown) => void) => {
        const promise = executeQuery(state);
        callbackify(() => promise)(cb as (err: NodeJS.ErrnoException | null, value: unknown) => void);
        return promise;
      };
    case 'stream':
      return (...args: unknown[]) => streamQuery(state, 'stream', args);
    default:
      return (...args: unknown[]) => streamQuery(state, 'pipe', args);
  }
}

function scoped(
  state: QueryState,
  method: string,
  proxy: Knex.QueryBuilder,
  record: (method: string, args: readonly unknown[]) => Knex.QueryBuilder,
): unknown {
  switch (method) {
    case 'clone':
      return () => proxyFor({ ...state, calls: [...state.calls] });
    case 'transacting':
      return (trx: unknown) => {
        state.scope = transactingScope(trx);
        return proxy;
      };
    case 'connection':
      return (connection: unknown) => {
        state.connection = connection;
        return proxy;
      };
    default:
      // queryContext(ctx) sets it (recorded); queryContext() reads it.
      return (...args: unknown[]) => {
        if (args.length > 0) return record('queryContext', args);
        const last = [...state.calls].reverse().find((c) => c.method === 'queryContext');
        return last?.args[0];
      };
  }
}
