import type { Side } from '../stage/stage.js';
import type { Row, RowTranslator } from '../translate/types.js';

/** A row in the app's shape; only the table's own columns are translated, aliases and aggregates pass. */
export function appRow(row: Row, translator: RowTranslator | undefined, side: Side): Row {
  if (!translator) return row;
  const own: Row = {};
  for (const k of Object.keys(row)) if (translator.columns.includes(k)) own[k] = row[k];
  if (Object.keys(own).length === 0) return row;
  return { ...row, ...translator.toApp(own, side) };
}

function isRow(value: unknown): value is Row {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Shapes what a read returned (rows, one row, or plucked values) for the app. */
export function shapeRead(
  method: string,
  result: unknown,
  translator: RowTranslator | undefined,
  side: Side,
  pluck: string | undefined,
): unknown {
  if (!translator) return result;
  if (method === 'first') return isRow(result) ? appRow(result, translator, side) : result;
  if (method === 'pluck' && pluck && Array.isArray(result)) {
    return result.map((v: unknown) => appRow({ [pluck]: v }, translator, side)[pluck]);
  }
  if (Array.isArray(result)) return result.map((r: unknown) => (isRow(r) ? appRow(r, translator, side) : r));
  return result;
}

/** Rows a read returned, as an array (for shadow comparison). */
export function rowsOf(method: string, result: unknown): Row[] {
  if (method === 'first') return isRow(result) ? [result] : [];
  return Array.isArray(result) ? result.filter(isRow) : [];
}
