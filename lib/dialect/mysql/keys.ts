import type { Knex } from 'knex';
import type { KeyColumn, KeySetStatement } from '../dialect.js';
import { placeholders } from '../sql.js';
import { bindValue, quoteIdent as q, rows as rowsOf } from './sql.js';

/** Keys per statement: row-value IN lists of this size use the primary-key range (bench/keysets.ts). */
const KEYS_PER_STATEMENT = 1000;

const TEXT_TYPES = /^(char|varchar|tinytext|text|mediumtext|longtext|enum|set)$/;

/** The key columns of `table` (in `columns` order), with the COLLATE clause comparing their text exactly. */
export async function keyColumns(db: Knex, table: string, columns: readonly string[]): Promise<KeyColumn[]> {
  const rows = rowsOf(
    await db.raw(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS coll
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
      [table],
    ),
  );
  const byName = new Map(rows.map((r) => [String(r['name']), r]));
  return columns.map((name) => {
    const r = byName.get(name);
    if (!r) throw new Error(`column ${table}.${name} not found on MySQL`);
    const type = String(r['type']).toLowerCase();
    const cs = r['cs'] === null ? null : String(r['cs']).replace(/[^a-z0-9]/gi, '');
    const coll = r['coll'] === null ? '' : String(r['coll']);
    // Deletes compare case- and accent-insensitive text bytewise too: 'abc' must not remove 'ABC'.
    const exact = TEXT_TYPES.test(type) && cs && !coll.endsWith('_bin') ? `COLLATE ${cs}_bin` : null;
    return { name, type, exact };
  });
}

/**
 * Row-value IN lists, KEYS_PER_STATEMENT keys a statement (`(a, b) IN ((?, ?), …)`; the driver
 * inlines values, so no parameter limit applies, and the range optimiser keeps using the key). With
 * `exact`, text key columns with a non-binary collation also compare bytewise, so the values find
 * their own row only (`'abc'` does not find `'ABC'`).
 */
function conditions(
  key: readonly KeyColumn[],
  keys: readonly (readonly unknown[])[],
  exact: boolean,
): KeySetStatement {
  const single = key.length === 1;
  const tuple = single ? '?' : placeholders(key.length);
  const list = keys.map(() => tuple).join(', ');
  const values = keys.flatMap((k) => key.map((_, i) => bindValue(k[i])));
  const plain = single ? q(key[0]!.name) : `(${key.map((c) => q(c.name)).join(', ')})`;
  let sql = `${plain} IN (${list})`;
  const bindings = [...values];
  if (exact && key.some((c) => c.exact)) {
    const cols = key.map((c) => (c.exact ? `${q(c.name)} ${c.exact}` : q(c.name)));
    sql += ` AND ${single ? cols[0] : `(${cols.join(', ')})`} IN (${list})`;
    bindings.push(...values);
  }
  return { sql, bindings };
}

/**
 * Statements reading (`select`, the given columns; `lock`: FOR UPDATE) or deleting the rows of `keys`
 * (values in MySQL's form, one per key column), a statement per KEYS_PER_STATEMENT keys. Reads compare
 * as the column's collation does (a case-insensitive key finds its row in any case); deletes compare
 * text exactly, so they take the values as stored.
 */
export function keySetStatements(
  op: 'select' | 'delete',
  table: string,
  key: readonly KeyColumn[],
  keys: readonly (readonly unknown[])[],
  columns: readonly string[] = [],
  lock = false,
): KeySetStatement[] {
  const out: KeySetStatement[] = [];
  const selected = columns.map(q).join(', ');
  for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
    const where = conditions(key, keys.slice(i, i + KEYS_PER_STATEMENT), op === 'delete');
    out.push({
      sql:
        op === 'delete'
          ? `DELETE FROM ${q(table)} WHERE ${where.sql}`
          : `SELECT ${selected} FROM ${q(table)} WHERE ${where.sql}${lock ? ' FOR UPDATE' : ''}`,
      bindings: where.bindings,
    });
  }
  return out;
}
