import type { Knex } from 'knex';
import { rawRole } from './builder-methods.js';
import { createRaw } from './raw.js';
import { buildSql, SQL_SPEC, type SqlSpec } from './replay.js';
import type { Scope } from './scope.js';

/** Chainable methods of knex's Ref on top of Raw's. */
const REF_CHAIN = new Set(['as', 'withSchema']);

/**
 * `db.ref(...)` and the SQL of `db.fn.now()` / `db.fn.uuid()`: recorded, rebuilt for the database a
 * query runs on (identifier quoting and function names differ), compiled as MySQL when inspected.
 */
function sqlObject(scope: Scope, spec: SqlSpec): Knex.Raw {
  const appBuilt = (): Record<string, unknown> =>
    buildSql(spec, 'mysql', scope.core.app.mysql) as unknown as Record<string, unknown>;
  const proxy: Knex.Raw = new Proxy({} as Knex.Raw, {
    get(_target, prop) {
      if (prop === SQL_SPEC) return spec;
      if (prop === Symbol.toStringTag) return 'object';
      if (typeof prop !== 'string') return undefined;
      if (prop === 'isRawInstance') return true;
      const role = REF_CHAIN.has(prop) && spec.kind === 'ref' ? 'chain' : rawRole(prop);
      if (role === 'chain') {
        return (...args: unknown[]) => {
          spec.calls.push({ method: prop, args });
          return proxy;
        };
      }
      if (role === 'execute' || role === 'scope') {
        // Run on its own, it is a raw statement of its SQL (as knex would send it).
        return (...args: unknown[]) => {
          const compiled = (appBuilt()['toSQL'] as () => Knex.Sql)();
          const raw = createRaw(scope, compiled.sql, compiled.bindings) as unknown as Record<string, unknown>;
          return (raw[prop] as (...a: unknown[]) => unknown)(...args);
        };
      }
      if (role === 'compile' || role === 'inspect') {
        return (...args: unknown[]) => {
          const built = appBuilt();
          return (built[prop] as (...a: unknown[]) => unknown).apply(built, args);
        };
      }
      return appBuilt()[prop];
    },
  });
  return proxy;
}

export function createRef(scope: Scope, ref: string): Knex.Ref<string, Record<string, string>> {
  return sqlObject(scope, { kind: 'ref', ref, calls: [] }) as unknown as Knex.Ref<
    string,
    Record<string, string>
  >;
}

/** `db.fn`: knex's FunctionHelper, whose SQL functions are rebuilt per database. */
export function createFunctionHelper(scope: Scope): Knex.FunctionHelper {
  const knexFn = scope.core.app.mysql.fn;
  return {
    now: (...args: unknown[]) => sqlObject(scope, { kind: 'fn', fn: 'now', args, calls: [] }),
    uuid: () => sqlObject(scope, { kind: 'fn', fn: 'uuid', args: [], calls: [] }),
    // These two compute values in JS, the same for both databases.
    uuidToBin: (uuid: string, ordered?: boolean) => knexFn.uuidToBin(uuid, ordered),
    binToUuid: (bin: Buffer, ordered?: boolean) => knexFn.binToUuid(bin, ordered),
  } as unknown as Knex.FunctionHelper;
}
