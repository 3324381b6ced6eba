import { callbackify } from 'node:util';
import type { Knex } from 'knex';
import { canonicalKeys, keyOfRow } from '../capture/keys.js';
import { enqueueKeys } from '../sync/outbox.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { isMetaTable } from '../meta/tables.js';
import { Side, type StagePlan } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { transactingScope } from './builder.js';
import { rawRole } from './builder-methods.js';
import { buildSql, SQL_SPEC, type SqlSpec } from './replay.js';
import type { Scope, TrxScope } from './scope.js';
import { appStatement, internalRawRows } from '../capture/app-statement.js';
import { planRawWrite, rawWriteTable } from '../capture/raw-write.js';
import { unsyncedTables } from './execute.js';
import { admitWrite, guardWrites } from './admit.js';
import { implicitTransaction } from './implicit.js';
import { isReadSql, sqlKind } from './sql-kind.js';
import { internally, runStatement, startStatement } from './statement-context.js';
import { runObserved } from './knex-internals.js';
import { driverResult } from '../dialect/results.js';
import type { DriverResult } from '../dialect/fields.js';
import type { ReadObservation } from '../shadow/types.js';

/** What a raw write touches, so it can be captured. */
export interface RawOptions {
  /** Table the statement writes. */
  table?: string;
  /** Keys of the rows it writes: key tuples, `{ id: 5 }` objects, or single values for one-column keys. */
  keys?: readonly (KeyTuple | Row | string | number)[];
}

interface RawState {
  scope: Scope;
  readonly spec: SqlSpec & { kind: 'raw' };
  readonly options: RawOptions;
  connection?: unknown;
}

/**
 * `db.raw(...)`: a knex Raw look-alike. Inside a builder it is rebuilt for the database the query runs
 * on; run on its own (await, then, asCallback, stream...) it is routed and captured like any statement.
 */
export function createRaw(scope: Scope, sql: string, bindings: unknown, options: RawOptions = {}): Knex.Raw {
  const state: RawState = { scope, spec: { kind: 'raw', sql, bindings, calls: [] }, options };
  const appRaw = (): Record<string, unknown> =>
    buildSql(state.spec, 'mysql', scope.core.app.mysql) as unknown as Record<string, unknown>;
  const proxy: Knex.Raw = new Proxy({} as Knex.Raw, {
    get(_target, prop) {
      if (prop === SQL_SPEC) return state.spec;
      if (prop === Symbol.toStringTag) return 'object';
      if (typeof prop !== 'string') return undefined;
      if (prop === 'isRawInstance') return true;
      if (prop === 'client')
        return state.scope.core.app[state.scope.trx?.side ?? state.scope.core.plan().authoritative].client;
      if (prop === 'sql') return sql;
      if (prop === 'bindings') return bindings;
      const role = rawRole(prop);
      if (role === 'chain') {
        return (...args: unknown[]) => {
          state.spec.calls.push({ method: prop, args });
          return proxy;
        };
      }
      if (role === 'execute') return rawExecution(state, prop);
      if (role === 'compile' || role === 'inspect') {
        return (...args: unknown[]) => {
          const built = appRaw();
          return (built[prop] as (...a: unknown[]) => unknown).apply(built, args);
        };
      }
      if (role === 'scope') {
        return (...args: unknown[]) => {
          if (prop === 'transacting') state.scope = transactingScope(args[0]);
          else if (prop === 'connection') state.connection = args[0];
          else if (args.length === 0) {
            return [...state.spec.calls].reverse().find((c) => c.method === 'queryContext')?.args[0];
          } else state.spec.calls.push({ method: prop, args });
          return proxy;
        };
      }
      return undefined;
    },
  });
  return proxy;
}

function rawExecution(state: RawState, method: string): unknown {
  switch (method) {
    case 'then':
      return (f?: (v: unknown) => unknown, r?: (e: unknown) => unknown) => executeRaw(state).then(f, r);
    case 'catch':
      return (r?: (e: unknown) => unknown) => executeRaw(state).catch(r);
    case 'finally':
      return (f?: () => void) => executeRaw(state).finally(f);
    case 'asCallback':
      return (cb: (err: unknown, value?: unknown) => void) => {
        const promise = executeRaw(state);
        callbackify(() => promise)(cb as (err: NodeJS.ErrnoException | null, value: unknown) => void);
        return promise;
      };
    case 'stream':
      return (...args: unknown[]) => streamRaw(state, 'stream', args);
    default:
      return (...args: unknown[]) => streamRaw(state, 'pipe', args);
  }
}

/** The Raw for the side in force, on the transaction or the app-facing pool. */
function builtRaw(state: RawState, side: Side, conn: Knex | Knex.Transaction): Knex.Raw {
  const raw = buildSql(state.spec, side, conn);
  if (state.connection !== undefined) raw.connection(state.connection);
  return raw;
}

/** Streams (or pipes) a raw read; a write cannot be streamed in a syncing stage (nothing captures it). */
function streamRaw(state: RawState, method: 'stream' | 'pipe', args: unknown[]): unknown {
  const { core, trx } = state.scope;
  core.assertOpen();
  const plan = trx?.plan ?? core.plan();
  const side = plan.authoritative;
  if (!isReadSql(state.spec.sql) && plan.syncs && core.config().capture.mode !== 'triggers') {
    throw new DualWriteError(
      ErrorCode.UncapturedWrite,
      `a raw write cannot be streamed in stage ${plan.stage}`,
    );
  }
  const raw = builtRaw(state, side, trx?.ktrx ?? core.app[side]);
  return startStatement('app', () => (raw[method] as (...a: unknown[]) => unknown).apply(raw, args));
}

function executeRaw(state: RawState): Promise<unknown> {
  const { core, trx } = state.scope;
  core.assertOpen();
  return internally(async () => {
    if (trx) return runRaw(state, trx.plan, trx);
    if (isReadSql(state.spec.sql)) return runRaw(state, core.plan(), undefined);
    return admitWrite(core, (plan) => runRaw(state, plan, undefined));
  });
}

function keyValues(key: KeyTuple | Row | string | number, translator: RowTranslator): unknown[] {
  if (Array.isArray(key)) return key as unknown[];
  if (key && typeof key === 'object') {
    const values = keyOfRow(key as Row, translator.primaryKey);
    if (!values)
      throw new DualWriteError(
        ErrorCode.UncapturedWrite,
        `raw write: key ${JSON.stringify(key)} lacks key columns`,
      );
    return values;
  }
  return [key];
}

async function runRaw(state: RawState, plan: StagePlan, trx: TrxScope | undefined): Promise<unknown> {
  const { core } = state.scope;
  const { options } = state;
  const side = plan.authoritative;
  const conn = trx?.ktrx ?? core.app[side];
  const read = isReadSql(state.spec.sql);
  const config = core.config();
  const syncs =
    !read &&
    plan.syncs &&
    !(options.table && (isMetaTable(options.table) || config.tables[options.table]?.exclude));
  const run = async (k: Knex | Knex.Transaction): Promise<unknown> =>
    (await runStatement('app', () => builtRaw(state, side, k))).value;
  if (read && !trx && plan.shadowReads && core.readObserver && isComparableSql(state.spec.sql)) {
    const started = performance.now();
    const { result, response } = await appStatement(builtRaw(state, side, conn));
    observeRawRead(state, side, driverResult[side](response ?? result), performance.now() - started);
    return result;
  }
  if (!syncs) return await run(conn);
  if (config.capture.mode === 'triggers') {
    const result = await run(conn);
    if (trx) trx.capture.captured = true;
    else core.notify();
    return result;
  }
  if (sqlKind(state.spec.sql) !== 'write') {
    // DDL and session statements write no rows: they run on the authoritative side only.
    return await run(conn);
  }
  const record = async (k: Knex.Transaction, table: string, keys: KeyTuple[]): Promise<void> => {
    if (trx) trx.capture.add(table, keys);
    else await enqueueKeys(k, table, keys);
  };
  const write = async (k: Knex.Transaction): Promise<unknown> => {
    if (options.table && options.keys) {
      const t = core.translators.table(options.table);
      const keys = canonicalKeys(
        t,
        options.keys.map((key) => keyValues(key, t)),
        side,
      );
      const result = await run(k);
      await record(k, options.table, keys);
      return result;
    }
    return captureRawWrite(state, side, k, record);
  };
  if (trx) return await write(trx.ktrx);
  const result = await implicitTransaction(core.app[side], async (k) => {
    await guardWrites(k, plan);
    return write(k);
  });
  core.notify();
  return result;
}

/**
 * A raw write without declared keys: its SQL is read (capture/raw-write) to find the keys it writes,
 * then it runs in `k` with them recorded. Forms whose keys cannot be found are refused before they run.
 */
async function captureRawWrite(
  state: RawState,
  side: Side,
  k: Knex.Transaction,
  record: (k: Knex.Transaction, table: string, keys: KeyTuple[]) => Promise<void>,
): Promise<unknown> {
  const { core } = state.scope;
  const compiled = buildSql(state.spec, 'mysql', core.app.mysql).toSQL();
  if (side !== Side.Mysql) {
    throw new DualWriteError(
      ErrorCode.UncapturedWrite,
      `raw write on PostgreSQL must declare { table, keys } (or enable trigger capture): ${compiled.sql.slice(0, 80)}`,
    );
  }
  const named = rawWriteTable(compiled.sql);
  if (named && !core.translators.has(named)) {
    const captured = await core.tables.resolveUnknown(named, side, unsyncedTables(core));
    if (!captured) return (await appStatement(builtRaw(state, side, k))).result;
  }
  const plan = planRawWrite(
    compiled.sql,
    compiled.bindings,
    (t) => (core.translators.has(t) ? core.translators.table(t).primaryKey : undefined),
    (t) => core.mysqlUniqueKeys(t),
  );
  const t = core.translators.table(plan.table);
  const found: unknown[][] = [];
  if (plan.kind === 'lookup') {
    const rows = await internalRawRows(k.raw(plan.select.sql, plan.select.bindings as Knex.RawBinding[]));
    for (const row of rows) {
      const key = t.primaryKey.map((c) => row[c]);
      found.push(key);
      if (Object.keys(plan.moved).length > 0)
        found.push(t.primaryKey.map((c, i) => (c in plan.moved ? plan.moved[c] : key[i])));
    }
  } else if (plan.kind === 'keys') {
    found.push(...plan.keys);
  }
  const { result, response } = await appStatement(builtRaw(state, side, k));
  if (plan.kind === 'generated') {
    const header = (Array.isArray(response) ? response[0] : undefined) as { insertId?: unknown } | undefined;
    // 0: nothing was inserted (INSERT IGNORE of a duplicate).
    if (header?.insertId) found.push([header.insertId]);
  }
  await record(k, plan.table, canonicalKeys(t, found, side));
  return result;
}

function isComparableSql(sql: string): boolean {
  return /^\s*(\(\s*)*(select|with)\b/i.test(sql);
}

/** A raw read served in a stage with shadow reads, handed to the observer after the app has it. */
function observeRawRead(state: RawState, side: Side, served: DriverResult, latencyMs: number): void {
  const { core, context } = state.scope;
  const observer = core.readObserver;
  if (!observer) return;
  const at = Date.now();
  setImmediate(() => {
    const compiled = (on: Side): Knex.Sql => buildSql(state.spec, on, core.knex[on]).toSQL();
    const observation: ReadObservation = {
      table: state.options.table ?? null,
      sql: state.spec.sql,
      bindings: compiled(side).bindings,
      servedBy: side,
      rows: served.rows,
      fields: served.fields,
      latencyMs,
      context,
      at,
      run: async (on) => {
        const query = buildSql(state.spec, on, core.knex[on]);
        const { sql, bindings } = query.toSQL();
        const { result, response, ms } = await runObserved(query);
        const { rows, fields } = driverResult[on](response ?? result);
        return { rows, fields, ms, sql, bindings };
      },
    };
    try {
      observer.observe(observation);
    } catch (error) {
      core.logger.warn({ err: error }, 'read observer threw; ignored');
    }
  });
}
