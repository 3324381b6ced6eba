import { callbackify } from 'node:util';
import type { Knex } from 'knex';
import { DualWriteError, ErrorCode } from '../errors.js';
import { META_TABLES } from '../meta/tables.js';
import { otherSide } from '../stage/stage.js';
import type { RecordedCall } from './replay.js';
import type { Scope } from './scope.js';

/** Schema builder methods that only read the catalog, or run SQL dualwrite cannot translate. */
const NOT_REPLICATED = new Set(['hasTable', 'hasColumn', 'raw', 'withSchema']);

/** Methods that compile without running. */
const COMPILE = new Set(['toSQL', 'toString', 'toQuery', 'generateDdlCommands']);

type Callable = Record<string, (...args: unknown[]) => unknown>;

function build(schema: Knex.SchemaBuilder, calls: readonly RecordedCall[]): Knex.SchemaBuilder {
  let built: unknown = schema;
  for (const c of calls) built = (built as Callable)[c.method]!(...c.args);
  return built as Knex.SchemaBuilder;
}

/**
 * `db.schema`: knex's schema builder, recorded. It runs on the authoritative side; in a stage that syncs
 * the databases, DDL (createTable, alterTable, dropTable...) also runs on the other one, compiled by
 * knex for its dialect, and dualwrite reads both schemas again so a new table is captured from its first
 * write. `schema.raw(...)` runs on the authoritative side only (its SQL is one dialect's).
 */
export function createSchema(scope: Scope): Knex.SchemaBuilder {
  const { core } = scope;
  const calls: RecordedCall[] = [];
  const run = async (): Promise<unknown> => {
    core.assertOpen();
    const plan = scope.trx?.plan ?? core.plan();
    const side = plan.authoritative;
    const result = await build((scope.trx?.ktrx ?? core.app[side]).schema, calls);
    if (plan.syncs && calls.some((c) => !NOT_REPLICATED.has(c.method))) {
      const other = otherSide(side);
      try {
        await build(core.app[other].schema, calls);
        // A table dropped on both databases has nothing left to sync: its keys leave the outboxes.
        const dropped = calls
          .filter((c) => c.method === 'dropTable' || c.method === 'dropTableIfExists')
          .map((c) => c.args[0])
          .filter((t): t is string => typeof t === 'string');
        if (dropped.length > 0) {
          await Promise.all(
            [core.knex.mysql, core.knex.postgres].map((k) =>
              k(META_TABLES.outbox).whereIn('table_name', dropped).del(),
            ),
          );
        }
      } catch (error) {
        throw new DualWriteError(
          ErrorCode.SchemaConversion,
          `schema change ran on ${side} but failed on ${other}: ${(error as Error).message}`,
          { cause: error },
        );
      } finally {
        // Inside a transaction the new catalog is not visible (and reading it could wait on the
        // transaction's own locks): read it once the transaction is over.
        if (scope.trx) {
          const later = (): Promise<void> => core.tables.refresh().catch(() => undefined);
          void scope.trx.ktrx.executionPromise.then(later, later);
        } else await core.tables.refresh();
      }
    }
    return result;
  };
  const proxy: Knex.SchemaBuilder = new Proxy({} as Knex.SchemaBuilder, {
    get(_target, prop) {
      if (typeof prop !== 'string') return undefined;
      switch (prop) {
        case 'then':
          return (f?: (v: unknown) => unknown, r?: (e: unknown) => unknown) => run().then(f, r);
        case 'catch':
          return (r?: (e: unknown) => unknown) => run().catch(r);
        case 'finally':
          return (f?: () => void) => run().finally(f);
        case 'asCallback':
          return (cb: (err: NodeJS.ErrnoException | null, value: unknown) => void) => {
            const promise = run();
            callbackify(() => promise)(cb);
            return promise;
          };
        default:
          if (COMPILE.has(prop)) {
            return (...args: unknown[]) => {
              const built = build(core.app.mysql.schema, calls) as unknown as Callable;
              return built[prop]!(...args);
            };
          }
          return (...args: unknown[]) => {
            calls.push({ method: prop, args });
            return proxy;
          };
      }
    },
  });
  return proxy;
}
