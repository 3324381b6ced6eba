import type { Side } from '../stage/stage.js';
import type { Row, RowTranslator } from '../translate/types.js';
import type { BuilderStatement } from './knex-internals.js';

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

/**
 * Unaliased aggregates come back under different names: MySQL names the column after the expression
 * (`count(*)`, ``sum(`qty`)``), PostgreSQL after the function (`count`). Apps written for MySQL read
 * MySQL's names, so PostgreSQL's are renamed. Returns pg name → MySQL name (empty when nothing to do).
 */
export function aggregateRenames(statements: readonly BuilderStatement[]): Map<string, string> {
  const renames = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const s of statements) {
    if (s.grouping !== 'columns' || s.type !== 'aggregate') continue;
    const method = (s as { method?: string }).method ?? '';
    seen.set(method, (seen.get(method) ?? 0) + 1);
    const value = s.value;
    if ((s as { alias?: unknown }).alias !== undefined || typeof value !== 'string' || / as /i.test(value))
      continue;
    const expr =
      value === '*'
        ? '*'
        : value
            .split('.')
            .map((p) => `\`${p}\``)
            .join('.');
    const distinct = (s as { aggregateDistinct?: boolean }).aggregateDistinct ? 'distinct ' : '';
    renames.set(method, `${method}(${distinct}${expr})`);
  }
  // Two unaliased aggregates of one function collide on PostgreSQL already; leave those alone.
  for (const [method, n] of seen) if (n > 1) renames.delete(method);
  return renames;
}

export function renameKeys(result: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (renames.size === 0) return result;
  const rename = (row: unknown): unknown => {
    if (!isRow(row)) return row;
    const out: Row = {};
    for (const [k, v] of Object.entries(row)) out[renames.get(k) ?? k] = v;
    return out;
  };
  return Array.isArray(result) ? result.map(rename) : rename(result);
}
