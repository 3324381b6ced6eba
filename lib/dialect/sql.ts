/** SQL-building helpers both dialects share (dialect-specific text lives in each dialect). */

/** `(?, ?, ?)` for a row of n values (knex turns `?` into `$n` on PostgreSQL). */
export function placeholders(n: number): string {
  return `(${Array.from({ length: n }, () => '?').join(', ')})`;
}

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A binding value both drivers take as JSON text: plain objects (not Dates or Buffers). */
export function isJsonObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value);
}

/**
 * Rows of a `knex.raw()` result in either shape: mysql2's `[rows, fields]` (also what the app's
 * PostgreSQL connections answer, shaped as MySQL's) or pg's Result with `rows`.
 */
export function rawRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return (Array.isArray(result[0]) ? result[0] : []) as Record<string, unknown>[];
  return ((result as { rows?: unknown[] } | null)?.rows ?? []) as Record<string, unknown>[];
}
