import { isJsonObject, rawRows } from '../sql.js';

/** A MySQL identifier: backticks, inner backticks doubled. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A binding knex passes through unchanged. knex expands a JS array into a list of placeholders, so
 * arrays (and plain objects) become JSON text.
 */
export function bindValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value) || isJsonObject(value)) return JSON.stringify(value);
  return value;
}

/** Rows of a knex.raw() result (either driver's shape: see rawRows). */
export const rows = rawRows;

/** Rows a write affected: the ResultSetHeader of `[header, fields]`. */
export function affectedRows(result: unknown): number {
  const header = (Array.isArray(result) ? result[0] : result) as { affectedRows?: number } | undefined;
  return Number(header?.affectedRows ?? 0);
}
