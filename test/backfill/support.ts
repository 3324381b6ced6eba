import type { Knex } from 'knex';
import type { DatabaseSchema, TableSchema } from '../../lib/schema/model.js';
import { rowsOf } from '../../lib/backfill/keys.js';

export { prng } from '../sync/support/traffic.js';

/** All rows of a table ordered by the given key columns, values as text so both sides compare. */
export async function dumpRows(
  db: Knex,
  table: string,
  columns: readonly string[],
  orderBy: readonly string[],
): Promise<string[]> {
  const rows = rowsOf(
    await db.raw(
      `SELECT ${columns.map(() => '??').join(', ')} FROM ?? ORDER BY ${orderBy.map(() => '??').join(', ')}`,
      [...columns, table, ...orderBy],
    ),
  );
  return rows.map((r) => JSON.stringify(columns.map((c) => (r[c] === null ? null : String(r[c])))));
}

/** Inserts rows in multi-row statements of `chunk` rows. */
export async function insertMany(
  db: Knex,
  table: string,
  rows: Record<string, unknown>[],
  chunk = 500,
): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) await db(table).insert(rows.slice(i, i + chunk));
}

/** A minimal source schema (what backfill reads of it: names, primary keys, foreign keys). */
export function schemaOf(
  tables: { name: string; primaryKey: string[]; references?: string[] }[],
): DatabaseSchema {
  return {
    dialect: 'mysql',
    serverVersion: 'test',
    otherObjects: [],
    tables: tables.map((t): TableSchema => ({
      name: t.name,
      columns: [],
      primaryKey: t.primaryKey,
      uniqueKeys: [],
      indexes: [],
      foreignKeys: (t.references ?? []).map((r) => ({
        name: `${t.name}_${r}_fk`,
        columns: [],
        referencedTable: r,
        referencedColumns: [],
        onDelete: 'RESTRICT',
        onUpdate: 'RESTRICT',
      })),
      checks: [],
      comment: null,
      engine: null,
      collation: null,
    })),
  };
}
