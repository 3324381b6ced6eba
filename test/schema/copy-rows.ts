import { expect } from 'vitest';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import type { Row, TranslatorSet } from '../../lib/translate/types.js';
import type { TestDatabases } from '../support/databases.js';

const CHUNK = 1000;

/**
 * Reads every row of every table from MySQL, translates it and inserts it into PostgreSQL (foreign keys
 * and triggers off for the copy, as a backfill of a cyclic schema needs). Returns the row count per table.
 */
export async function copyAllRows(
  dbs: TestDatabases,
  translators: TranslatorSet,
  schema: DatabaseSchema,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await dbs.pg.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    for (const table of schema.tables) {
      const tr = translators.table(table.name);
      const rows = (await dbs.mysql(table.name).select('*')) as Row[];
      counts[table.name] = rows.length;
      for (let i = 0; i < rows.length; i += CHUNK) {
        await trx(table.name).insert(rows.slice(i, i + CHUNK).map((r) => tr.translate(r, 'mysql')));
      }
    }
  });
  return counts;
}

/** Every row read from both sides, keyed by primary key, equal under the translators' normalisation. */
export async function expectSidesEqual(
  dbs: TestDatabases,
  translators: TranslatorSet,
  schema: DatabaseSchema,
): Promise<void> {
  for (const table of schema.tables) {
    const tr = translators.table(table.name);
    const keyed = (rows: Row[], side: 'mysql' | 'postgres'): Map<string, Row> =>
      new Map(
        rows.map((r) => [
          JSON.stringify(
            tr.canonicalKey(
              tr.primaryKey.map((c) => r[c]),
              side,
            ),
          ),
          tr.normalize(r, side),
        ]),
      );
    const mysqlRows = keyed((await dbs.mysql(table.name).select('*')) as Row[], 'mysql');
    const pgRows = keyed((await dbs.pg(table.name).select('*')) as Row[], 'postgres');
    expect(pgRows.size, table.name).toBe(mysqlRows.size);
    for (const [key, row] of mysqlRows) {
      expect(pgRows.get(key), `${table.name} ${key}`).toEqual(row);
    }
  }
}
