import type { Knex } from 'knex';
import { Side } from '../stage/stage.js';
import type { RowTranslator } from '../translate/types.js';
import { parseTableRef } from './knex-internals.js';
import type { Scope } from './scope.js';
import { translateCallArgs } from './values.js';
import { mysqlSemanticsCall as mysqlSemantics } from '../dialect/mysql/mysql-semantics.js';
import { mysqlSemanticsCall as pgSemantics } from '../dialect/postgres/mysql-semantics.js';
import { rawSqlFor as mysqlRawSql } from '../dialect/mysql/raw-sql.js';
import { rawSqlFor as pgRawSql } from '../dialect/postgres/raw-sql.js';

/** One builder method call the app made (or a getter it read: `get:or`), kept to rebuild the query. */
export interface RecordedCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** A query as the app built it: not tied to a database until it runs. */
export interface QueryState {
  scope: Scope;
  readonly table: string | undefined;
  /** Second argument of `db(table, options)` (e.g. `{ only: true }`). */
  readonly tableOptions?: unknown;
  readonly calls: RecordedCall[];
  /** Set by `.connection(conn)`: a connection the app acquired from the handle's client. */
  connection?: unknown;
}

/** SQL made by the handle's `raw`, `ref` and `fn`: rebuilt for whichever database a query runs on. */
export type SqlSpec =
  | { readonly kind: 'raw'; readonly sql: string; readonly bindings: unknown; readonly calls: RecordedCall[] }
  | { readonly kind: 'ref'; readonly ref: string; readonly calls: RecordedCall[] }
  | {
      readonly kind: 'fn';
      readonly fn: string;
      readonly args: readonly unknown[];
      readonly calls: RecordedCall[];
    };

/** Marks the handle's query proxies (value: their QueryState). */
export const QUERY_STATE = Symbol('dualwrite.query');
/** Marks the handle's raw, ref and fn objects (value: their SqlSpec). */
export const SQL_SPEC = Symbol('dualwrite.sql');

export function queryStateOf(value: unknown): QueryState | undefined {
  if (value && (typeof value === 'object' || typeof value === 'function')) {
    return (value as { [QUERY_STATE]?: QueryState })[QUERY_STATE];
  }
  return undefined;
}

export function sqlSpecOf(value: unknown): SqlSpec | undefined {
  if (value && typeof value === 'object') return (value as { [SQL_SPEC]?: SqlSpec })[SQL_SPEC];
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

type Callable = Record<string, (...args: unknown[]) => unknown>;

function applyCalls(
  target: unknown,
  calls: readonly RecordedCall[],
  side: Side,
  knex: Knex | Knex.Transaction,
): unknown {
  let built = target;
  for (const call of calls)
    built = (built as Callable)[call.method]!(...call.args.map((a) => mapArgs(a, side, knex)));
  return built;
}

/** Builds a raw/ref/fn for `knex`'s dialect. */
export function buildSql(spec: SqlSpec, side: Side, knex: Knex | Knex.Transaction): Knex.Raw {
  let base: unknown;
  if (spec.kind === 'raw') {
    const sql = (side === Side.Postgres ? pgRawSql : mysqlRawSql)(spec.sql);
    base = knex.raw(sql, mapArgs(spec.bindings, side, knex) as Knex.RawBinding);
  } else if (spec.kind === 'ref') base = knex.ref(spec.ref);
  else base = (knex.fn as unknown as Callable)[spec.fn]!(...spec.args);
  return applyCalls(base, spec.calls, side, knex) as Knex.Raw;
}

/** Replaces the handle's sub-queries and SQL objects inside arguments by ones built for `side`. */
export function mapArgs(value: unknown, side: Side, knex: Knex | Knex.Transaction): unknown {
  const sub = queryStateOf(value);
  if (sub) return replay(sub, side, knex, { translate: side === Side.Postgres });
  const spec = sqlSpecOf(value);
  if (spec) return buildSql(spec, side, knex);
  if (Array.isArray(value)) return value.map((v) => mapArgs(v, side, knex));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapArgs(v, side, knex);
    return out;
  }
  return value;
}

/**
 * Builds the knex query for `side` from the recorded calls. Towards PostgreSQL the app's values are
 * translated (`translate`); towards MySQL they go as the app wrote them, as its own knex sent them.
 */
export function replay(
  state: QueryState,
  side: Side,
  knex: Knex | Knex.Transaction,
  options: { translate: boolean },
): Knex.QueryBuilder {
  const table = mainTableOf(state);
  const translator = options.translate ? translatorOf(state) : undefined;
  let builder: unknown =
    state.table !== undefined
      ? (knex as unknown as (t: string, o?: unknown) => unknown)(state.table, state.tableOptions)
      : knex.queryBuilder();
  for (const call of state.calls) {
    if (call.method.startsWith('get:')) {
      builder = (builder as Record<string, unknown>)[call.method.slice(4)];
      continue;
    }
    const semantic = (side === Side.Postgres ? pgSemantics : mysqlSemantics)(call.method, call.args);
    const mapped = semantic.map((a) => mapArgs(a, side, knex));
    const args = translator ? translateCallArgs(call.method, mapped, translator, side, table) : mapped;
    const fn = (builder as Callable)[call.method];
    if (typeof fn !== 'function') throw new TypeError(`knex query builder has no method ${call.method}()`);
    builder = fn.apply(builder, args);
  }
  const b = builder as Knex.QueryBuilder;
  if (state.connection !== undefined) b.connection(state.connection);
  return b;
}
