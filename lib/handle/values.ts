import type { Side } from '../stage/stage.js';
import type { Row, RowTranslator } from '../translate/types.js';
import { bareColumn, isKnexRaw } from './knex-internals.js';

/** A value passed to knex as-is: raw SQL, a sub-query, or anything that is not plain data. */
function isSqlObject(value: unknown): boolean {
  // A function is a sub-query knex builds (`{ batch: (qb) => qb.max('batch')... }`).
  if (typeof value === 'function' || isKnexRaw(value)) return true;
  if (value && typeof value === 'object' && typeof (value as { toSQL?: unknown }).toSQL === 'function') {
    return true;
  }
  return false;
}

/** Runs prepareWrite on the plain values of `row`, leaving raw SQL and sub-queries untouched. */
export function prepareRow(row: Row, translator: RowTranslator, side: Side): Row {
  const plain: Row = {};
  const kept: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (isSqlObject(v) || !translator.columns.includes(k)) kept[k] = v;
    else plain[k] = v;
  }
  if (Object.keys(plain).length === 0) return row;
  const prepared = translator.prepareWrite(plain, side);
  // Keep the caller's column order; prepared values replace the plain ones.
  const out: Row = {};
  for (const k of Object.keys(row)) out[k] = k in prepared ? prepared[k] : kept[k];
  return out;
}

function prepareRows(value: unknown, translator: RowTranslator, side: Side): unknown {
  if (Array.isArray(value)) return value.map((r) => prepareRows(r, translator, side));
  if (value && typeof value === 'object' && !isSqlObject(value)) {
    return prepareRow(value as Row, translator, side);
  }
  return value;
}

const COMPARISON_OPERATORS = new Set(['=', '!=', '<>', '<', '>', '<=', '>=']);
const WHERE_METHODS = new Set(['where', 'andWhere', 'orWhere', 'whereNot', 'andWhereNot', 'orWhereNot']);
const WHERE_IN_METHODS = new Set(['whereIn', 'orWhereIn', 'whereNotIn', 'orWhereNotIn']);

function prepareOne(
  column: unknown,
  value: unknown,
  translator: RowTranslator,
  side: Side,
  table: { name: string; alias: string },
): unknown {
  const col = bareColumn(column, table);
  if (col === undefined || !translator.columns.includes(col) || isSqlObject(value) || value === null) {
    return value;
  }
  return translator.prepareWrite({ [col]: value }, side)[col];
}

/**
 * Arguments of one recorded builder call with the app's values made fit for `side`: inserted and
 * updated rows, and the values compared in simple where clauses on the table's own columns.
 */
export function translateCallArgs(
  method: string,
  args: readonly unknown[],
  translator: RowTranslator | undefined,
  side: Side,
  table: { name: string; alias: string } | undefined,
): unknown[] {
  if (!translator || !table) return [...args];
  if (method === 'insert' || method === 'upsert') {
    return [prepareRows(args[0], translator, side), ...args.slice(1)];
  }
  if (method === 'update' || method === 'merge') {
    if (args[0] && typeof args[0] === 'object' && !Array.isArray(args[0]) && !isSqlObject(args[0])) {
      return [prepareRow(args[0] as Row, translator, side), ...args.slice(1)];
    }
    if (method === 'update' && typeof args[0] === 'string' && args.length >= 2) {
      return [args[0], prepareOne(args[0], args[1], translator, side, table), ...args.slice(2)];
    }
    return [...args];
  }
  if (WHERE_METHODS.has(method)) {
    const [a, b, c] = args;
    if (args.length === 1 && a && typeof a === 'object' && !isSqlObject(a)) {
      const obj: Row = {};
      for (const [k, v] of Object.entries(a as Row)) obj[k] = prepareOne(k, v, translator, side, table);
      return [obj];
    }
    if (args.length === 2) return [a, prepareOne(a, b, translator, side, table)];
    if (args.length === 3 && typeof b === 'string' && COMPARISON_OPERATORS.has(b)) {
      return [a, b, prepareOne(a, c, translator, side, table)];
    }
    return [...args];
  }
  if (WHERE_IN_METHODS.has(method) && Array.isArray(args[1])) {
    return [args[0], args[1].map((v: unknown) => prepareOne(args[0], v, translator, side, table))];
  }
  return [...args];
}
