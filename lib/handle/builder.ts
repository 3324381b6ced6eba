import type { Knex } from 'knex';
import { executeQuery } from './execute.js';
import { QUERY_STATE, replay, type QueryState } from './replay.js';
import type { Scope } from './scope.js';

/** Builder methods knex has, found once from a real builder's prototype chain. */
let builderMethods: Set<string> | undefined;

function methodsOf(knex: Knex): Set<string> {
  if (builderMethods) return builderMethods;
  const names = new Set<string>(['merge', 'ignore']);
  let proto: object | null = Object.getPrototypeOf(knex.queryBuilder()) as object | null;
  while (proto && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && !name.startsWith('_')) names.add(name);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  builderMethods = names;
  return names;
}

/** Builder methods that do not return the builder: they run on the authoritative side's builder. */
const UNRECORDED = new Set(['stream', 'pipe', 'asCallback', 'toSQL', 'toString', 'toQuery']);

/** Handles of transactions, so `.transacting(trx)` can move a query into one. */
const TRX_SCOPE = Symbol('dualwrite.trxScope');

export function markTransaction(handle: object, scope: Scope): void {
  Object.defineProperty(handle, TRX_SCOPE, { value: scope });
}

function scopeOfTransaction(trx: unknown): Scope | undefined {
  return trx && (typeof trx === 'function' || typeof trx === 'object')
    ? (trx as { [TRX_SCOPE]?: Scope })[TRX_SCOPE]
    : undefined;
}

/**
 * A knex query builder look-alike. Builder calls are recorded; the query is built for a database
 * only when it runs (awaited), so the stage in force at that moment decides where it goes.
 */
export function createQuery(scope: Scope, table?: string): Knex.QueryBuilder {
  return proxyFor({ scope, table, calls: [] });
}

function proxyFor(state: QueryState): Knex.QueryBuilder {
  const authoritativeBuilder = (): Knex.QueryBuilder => {
    const { core, trx } = state.scope;
    const side = trx?.side ?? core.plan().authoritative;
    return replay(state, side, core.knex[side]);
  };
  const proxy: Knex.QueryBuilder = new Proxy({} as Knex.QueryBuilder, {
    get(_target, prop) {
      if (prop === QUERY_STATE) return state;
      if (prop === 'then') {
        return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
          executeQuery(state).then(onFulfilled, onRejected);
      }
      if (prop === 'catch')
        return (onRejected: (e: unknown) => unknown) => executeQuery(state).catch(onRejected);
      if (prop === 'finally') return (onFinally: () => void) => executeQuery(state).finally(onFinally);
      if (prop === 'clone') return () => proxyFor({ ...state, calls: [...state.calls] });
      if (prop === 'transacting') {
        return (trx: unknown) => {
          const scope = scopeOfTransaction(trx);
          if (!scope) throw new TypeError('transacting() needs a transaction of this dualwrite handle');
          state.scope = scope;
          return proxy;
        };
      }
      if (prop === 'toSQL' || prop === 'toString' || prop === 'toQuery') {
        return (...args: unknown[]) =>
          (authoritativeBuilder() as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!(...args);
      }
      if (typeof prop !== 'string') return undefined;
      const { core } = state.scope;
      if (methodsOf(core.knex.mysql).has(prop) && !UNRECORDED.has(prop)) {
        return (...args: unknown[]) => {
          state.calls.push({ method: prop, args });
          return proxy;
        };
      }
      const built = authoritativeBuilder() as unknown as Record<string, unknown>;
      const value = built[prop];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(built) : value;
    },
  });
  return proxy;
}
