import type { Knex } from 'knex';
import type { KeyColumn, KeySetStatement } from '../dialect.js';
import { pgArrayLiteral, quoteIdent as q, rows as rowsOf } from './sql.js';

/** The key columns of `table` (in `columns` order) with their types, from the catalog. */
export async function keyColumns(db: Knex, table: string, columns: readonly string[]): Promise<KeyColumn[]> {
  const rows = rowsOf(
    await db.raw(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`,
      [q(table)],
    ),
  );
  const types = new Map(rows.map((r) => [String(r['name']), String(r['type'])]));
  return columns.map((name) => {
    const type = types.get(name);
    if (type === undefined) throw new Error(`column ${table}.${name} not found on PostgreSQL`);
    return { name, type, exact: null };
  });
}

/** A key value as array-literal text PostgreSQL reads back as the same value (bytea as hex). */
function elementText(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * `unnest($1::t1[], $2::t2[], …) AS k (k0, k1, …)` over the keys: one typed array per key column,
 * whatever the number of keys (a row-value IN list of thousands of keys exhausts PostgreSQL's stack,
 * `54001`, and VALUES lists are bounded by 65535 parameters and slower; see bench/keysets.ts).
 */
function unnest(key: readonly KeyColumn[], keys: readonly (readonly unknown[])[]): KeySetStatement {
  return {
    sql: `unnest(${key.map((c) => `?::${c.type}[]`).join(', ')}) AS k (${key.map((_, i) => `k${i}`).join(', ')})`,
    bindings: key.map((_, i) => pgArrayLiteral(keys.map((k) => elementText(k[i])))),
  };
}

const joinOn = (key: readonly KeyColumn[]): string =>
  key.map((c, i) => `t.${q(c.name)} = k.k${i}`).join(' AND ');

/**
 * Statements reading (`select`, the given columns; `lock`: FOR UPDATE) or deleting the rows of `keys`
 * (values in PostgreSQL's form, one per key column): one statement joining the table with the
 * unnested keys.
 * Keys must be distinct (a repeated key would return its row twice).
 */
export function keySetStatements(
  op: 'select' | 'delete',
  table: string,
  key: readonly KeyColumn[],
  keys: readonly (readonly unknown[])[],
  columns: readonly string[] = [],
  lock = false,
): KeySetStatement[] {
  if (keys.length === 0) return [];
  const k = unnest(key, keys);
  if (op === 'delete') {
    return [
      { sql: `DELETE FROM ${q(table)} AS t USING ${k.sql} WHERE ${joinOn(key)}`, bindings: k.bindings },
    ];
  }
  const selected = columns.map((c) => `t.${q(c)}`).join(', ');
  return [
    {
      sql: `SELECT ${selected} FROM ${q(table)} AS t JOIN ${k.sql} ON ${joinOn(key)}${lock ? ' FOR UPDATE OF t' : ''}`,
      bindings: k.bindings,
    },
  ];
}
