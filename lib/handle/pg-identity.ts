import type { Knex } from 'knex';
import { insertRows } from '../capture/insert.js';
import type { TableSchema } from '../schema/model.js';
import { internals } from './knex-internals.js';
import { internally } from './statement-context.js';

/**
 * MySQL moves a table's AUTO_INCREMENT past a value inserted explicitly into its column; a PostgreSQL
 * identity does not. After such an insert on PostgreSQL the identity is moved past the largest value,
 * so the next generated id is the one MySQL would have given (and never collides).
 */
export async function advanceIdentity(
  conn: Knex | Knex.Transaction,
  builder: Knex.QueryBuilder,
  table: TableSchema | undefined,
): Promise<void> {
  const ai = table?.columns.find((c) => c.autoIncrement);
  if (!table || !ai) return;
  const rows = insertRows(internals(builder)._single.insert);
  const explicit = rows.some((r) => typeof r[ai.name] === 'number' || typeof r[ai.name] === 'string');
  if (!explicit) return;
  await internally(() =>
    conn.raw(
      `SELECT setval(x.s, x.m) FROM (SELECT pg_get_serial_sequence(?, ?)::regclass AS s, (SELECT MAX(??) FROM ??) AS m) x
        WHERE x.m IS NOT NULL AND x.m > COALESCE(pg_sequence_last_value(x.s), 0)`,
      [table.name, ai.name, ai.name, table.name],
    ),
  );
}
