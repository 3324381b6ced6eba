import { isJsonObject, rawRows } from '../sql.js';

/** A PostgreSQL identifier: double quotes, inner double quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `{a,"b c",NULL}` — the text form PostgreSQL accepts for any array type. */
export function pgArrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return pgArrayLiteral(v);
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}

/**
 * A binding knex passes through unchanged. knex expands a JS array into a list of placeholders, so
 * arrays become a PostgreSQL array literal; plain objects become JSON text.
 */
export function bindValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return pgArrayLiteral(value);
  if (isJsonObject(value)) return JSON.stringify(value);
  return value;
}

/** Rows of a knex.raw() result (either driver's shape: see rawRows). */
export const rows = rawRows;

/** Rows a write affected: the Result's rowCount. */
export function affectedRows(result: unknown): number {
  return Number((result as { rowCount?: number | null } | null)?.rowCount ?? 0);
}
