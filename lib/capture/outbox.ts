import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import type { KeyTuple } from '../translate/types.js';

const CHUNK = 500;

/** Records keys in the outbox of the database `trx` runs on, inside that transaction. */
export async function recordKeys(
  trx: Knex.Transaction,
  table: string,
  keys: readonly KeyTuple[],
): Promise<void> {
  for (let i = 0; i < keys.length; i += CHUNK) {
    const rows = keys.slice(i, i + CHUNK).map((key) => ({ table_name: table, pk: JSON.stringify(key) }));
    await trx(META_TABLES.outbox).insert(rows);
  }
}
