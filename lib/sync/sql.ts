import type { Side } from '../stage/stage.js';

/** Quotes an identifier for `side`: backticks on MySQL, double quotes on PostgreSQL. */
export function quoteIdent(side: Side, name: string): string {
  return side === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`;
}

/** `(?, ?, ?)` for a row of n values (knex turns `?` into `$n` on PostgreSQL). */
export function placeholders(n: number): string {
  return `(${Array.from({ length: n }, () => '?').join(', ')})`;
}

/**
 * A binding knex passes through unchanged. knex expands a JS array into a list of placeholders, so
 * arrays become a PostgreSQL array literal (PG) or JSON text (MySQL); plain objects become JSON text.
 */
export function bindValue(value: unknown, side: Side): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return side === 'postgres' ? pgArrayLiteral(value) : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    return JSON.stringify(value);
  }
  return value;
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

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
