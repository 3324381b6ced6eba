import type { Knex } from 'knex';
import type { Side } from '../stage/stage.js';
import type { RowTranslator } from '../translate/types.js';
import { parseTableRef } from './knex-internals.js';
import type { Scope } from './scope.js';
import { translateCallArgs } from './values.js';

/** One builder method call the app made, kept so the query can be rebuilt for either database. */
export interface RecordedCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** A query as the app built it: not tied to a database until it runs. */
export interface QueryState {
  scope: Scope;
  readonly table: string | undefined;
  readonly calls: RecordedCall[];
}

/** Marks the handle's query proxies (value: their QueryState). */
export const QUERY_STATE = Symbol('dualwrite.query');
/** Marks the handle's raw objects (value: their RawSpec). */
export const RAW_SPEC = Symbol('dualwrite.raw');

export interface RawSpec {
  readonly sql: string;
  readonly bindings: unknown;
}

export function queryStateOf(value: unknown): QueryState | undefined {
  if (value && (typeof value === 'object' || typeof value === 'function')) {
    return (value as { [QUERY_STATE]?: QueryState })[QUERY_STATE];
  }
  return undefined;
}

export function rawSpecOf(value: unknown): RawSpec | undefined {
  if (value && typeof value === 'object') return (value as { [RAW_SPEC]?: RawSpec })[RAW_SPEC];
  return undefined;
}

/** The table a query is about (`users as u` → users/u), from db('t') or .from()/.table()/.into(). */
export function mainTableOf(state: QueryState): { name: string; alias: string } | undefined {
  if (state.table !== undefined) return parseTableRef(state.table);
  const from = state.calls.find((c) => c.method === 'from' || c.method === 'table' || c.method === 'into');
  return from ? parseTableRef(from.args[0]) : undefined;
}

export function translatorOf(state: QueryState): RowTranslator | undefined {
  const table = mainTableOf(state);
  const { translators } = state.scope.core;
  return table && translators.has(table.name) ? translators.table(table.name) : undefined;
}

/** Replaces the handle's sub-queries and raw objects inside arguments by ones built for `side`. */
export function mapArgs(value: unknown, side: Side, knex: Knex): unknown {
  const sub = queryStateOf(value);
  if (sub) return replay(sub, side, knex);
  const raw = rawSpecOf(value);
  if (raw) return knex.raw(raw.sql, mapArgs(raw.bindings, side, knex) as Knex.RawBinding);
  if (Array.isArray(value)) return value.map((v) => mapArgs(v, side, knex));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapArgs(v, side, knex);
    return out;
  }
  return value;
}

type Callable = Record<string, (...args: unknown[]) => unknown>;

/** Builds the knex query for `side` from the recorded calls, the app's values translated for it. */
export function replay(state: QueryState, side: Side, knex: Knex | Knex.Transaction): Knex.QueryBuilder {
  const table = mainTableOf(state);
  const translator = translatorOf(state);
  let builder: unknown = state.table !== undefined ? knex(state.table) : knex.queryBuilder();
  for (const call of state.calls) {
    const mapped = call.args.map((a) => mapArgs(a, side, knex));
    const args = translateCallArgs(call.method, mapped, translator, side, table);
    const fn = (builder as Callable)[call.method];
    if (typeof fn !== 'function') throw new TypeError(`knex query builder has no method ${call.method}()`);
    builder = fn.apply(builder, args);
  }
  return builder as Knex.QueryBuilder;
}
