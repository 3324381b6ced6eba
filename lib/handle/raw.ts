import type { Knex } from 'knex';
import { canonicalKeys, keyOfRow } from '../capture/keys.js';
import { enqueueKeys } from '../sync/outbox.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { isMetaTable } from '../meta/tables.js';
import { Side, type StagePlan } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { RAW_SPEC, mapArgs, type RawSpec } from './replay.js';
import { admitWrite, guardWrites } from './admit.js';
import { onDriverResponse, runObserved } from './knex-internals.js';
import { driverResult } from '../dialect/results.js';
import type { DriverResult } from '../dialect/fields.js';
import type { ReadObservation } from '../shadow/types.js';
import { appRow } from './results.js';
import type { Scope, TrxScope } from './scope.js';

/** What a raw write touches, so it can be captured. */
export interface RawOptions {
  /** Table the statement writes. */
  table?: string;
  /** Keys of the rows it writes: key tuples, `{ id: 5 }` objects, or single values for one-column keys. */
  keys?: readonly (KeyTuple | Row | string | number)[];
}

const READ_SQL = /^\s*(\(\s*)*(select|show|explain|describe|desc|values)\b/i;
const WRITE_WORDS = /\b(insert|update|delete|merge|replace)\b/i;

/** Whether a raw statement only reads (a `WITH` counts as a read unless it writes). */
export function isReadSql(sql: string): boolean {
  if (READ_SQL.test(sql)) return true;
  return /^\s*with\b/i.test(sql) && !WRITE_WORDS.test(sql);
}

/**
 * `db.raw(...)`: a knex Raw of the authoritative side (usable inside builders, where it is rebuilt for
 * the side the query runs on) that, when awaited, is routed and captured like any other statement.
 */
export function createRaw(scope: Scope, sql: string, bindings: unknown, options: RawOptions = {}): Knex.Raw {
  const { core, trx } = scope;
  const side = trx?.side ?? core.plan().authoritative;
  const spec: RawSpec = { sql, bindings };
  const base = core.knex[side].raw(sql, bindings as Knex.RawBinding);
  const run = (): Promise<unknown> => executeRaw(scope, spec, options);
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (prop === RAW_SPEC) return spec;
      if (prop === 'then') {
        return (f?: (v: unknown) => unknown, r?: (e: unknown) => unknown) => run().then(f, r);
      }
      if (prop === 'catch') return (r: (e: unknown) => unknown) => run().catch(r);
      if (prop === 'finally') return (f: () => void) => run().finally(f);
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

async function executeRaw(scope: Scope, spec: RawSpec, options: RawOptions): Promise<unknown> {
  const { core, trx } = scope;
  core.assertOpen();
  if (trx) return runRaw(scope, spec, options, trx.plan, trx);
  if (isReadSql(spec.sql)) return runRaw(scope, spec, options, core.plan(), undefined);
  return admitWrite(core, (plan) => runRaw(scope, spec, options, plan, undefined));
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

async function runRaw(
  scope: Scope,
  spec: RawSpec,
  options: RawOptions,
  plan: StagePlan,
  trx: TrxScope | undefined,
): Promise<unknown> {
  const { core } = scope;
  const side = plan.authoritative;
  const knex = core.knex[side];
  const conn = trx?.ktrx ?? knex;
  const bindings = mapArgs(spec.bindings, side, knex) as Knex.RawBinding;
  const translator =
    options.table && core.translators.has(options.table) ? core.translators.table(options.table) : undefined;
  const read = isReadSql(spec.sql);
  const config = core.config();
  const syncs =
    !read &&
    plan.syncs &&
    !(options.table && (isMetaTable(options.table) || config.tables[options.table]?.exclude));
  if (read && !trx && plan.shadowReads && core.readObserver && isComparableSql(spec.sql)) {
    const query = conn.raw(spec.sql, bindings);
    let response: unknown;
    onDriverResponse(query, (r) => (response = r));
    const started = performance.now();
    const result: unknown = await query;
    observeRawRead(
      scope,
      spec,
      options,
      side,
      driverResult[side](response ?? result),
      performance.now() - started,
    );
    return shapeRaw(result, side, translator);
  }
  if (!syncs) return shapeRaw(await conn.raw(spec.sql, bindings), side, translator);
  if (config.capture.mode === 'triggers') {
    const result = await conn.raw(spec.sql, bindings);
    if (trx) trx.capture.captured = true;
    else core.notify();
    return shapeRaw(result, side, translator);
  }
  if (!options.table || !options.keys) {
    throw new DualWriteError(
      ErrorCode.UncapturedWrite,
      `raw write in stage ${plan.stage} must declare { table, keys } (or enable trigger capture): ${spec.sql.slice(0, 80)}`,
      { table: options.table },
    );
  }
  const t = core.translators.table(options.table);
  const keys = canonicalKeys(
    t,
    options.keys.map((k) => keyValues(k, t)),
    side,
  );
  const table = options.table;
  const write = async (k: Knex.Transaction): Promise<unknown> => {
    const result = await k.raw(spec.sql, bindings);
    await enqueueKeys(k, table, keys);
    return result;
  };
  if (trx) {
    const result = await trx.ktrx.raw(spec.sql, bindings);
    trx.capture.add(table, keys);
    return shapeRaw(result, side, t);
  }
  const result = await knex.transaction(async (k) => {
    await guardWrites(k, plan);
    return write(k);
  });
  core.notify();
  return shapeRaw(result, side, t);
}

/** Reads compared by shadow reads: SELECT and WITH (SHOW, EXPLAIN and the like answer about each server itself). */
function isComparableSql(sql: string): boolean {
  return /^\s*(\(\s*)*(select|with)\b/i.test(sql);
}

/** Hands a raw read to the read observer after the caller has its result, like builder reads. */
function observeRawRead(
  scope: Scope,
  spec: RawSpec,
  options: RawOptions,
  side: Side,
  served: DriverResult,
  latencyMs: number,
): void {
  const { core, context } = scope;
  const observer = core.readObserver;
  if (!observer) return;
  const at = Date.now();
  setImmediate(() => {
    const bindingsOn = (on: Side): unknown => mapArgs(spec.bindings ?? [], on, core.knex[on]);
    const observation: ReadObservation = {
      table: options.table ?? null,
      sql: spec.sql,
      bindings: bindingsOn(side),
      servedBy: side,
      rows: served.rows,
      fields: served.fields,
      latencyMs,
      context,
      at,
      run: async (on) => {
        const bindings = bindingsOn(on);
        const query = core.knex[on].raw(spec.sql, bindings as Knex.RawBinding);
        const { result, response, ms } = await runObserved(query);
        const { rows, fields } = driverResult[on](response ?? result);
        return { rows, fields, ms, sql: spec.sql, bindings };
      },
    };
    try {
      observer.observe(observation);
    } catch (error) {
      core.logger.warn({ err: error }, 'read observer threw; ignored');
    }
  });
}

/** Raw results in the shape knex gives on MySQL (`[rows, fields]`), whichever side ran them. */
function shapeRaw(result: unknown, side: Side, translator: RowTranslator | undefined): unknown {
  if (side === Side.Mysql) {
    if (translator && Array.isArray(result) && Array.isArray(result[0])) {
      return [(result[0] as Row[]).map((r) => appRow(r, translator, side)), result[1]];
    }
    return result;
  }
  const r = result as { command?: string; rows?: Row[]; rowCount?: number; fields?: unknown[] };
  if (r.command === 'SELECT' || (r.rows && r.rows.length > 0)) {
    return [(r.rows ?? []).map((row) => appRow(row, translator, side)), r.fields ?? []];
  }
  return [{ affectedRows: r.rowCount ?? 0, insertId: 0 }, undefined];
}
