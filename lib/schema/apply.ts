import type { Knex } from 'knex';
import { resetPgSequences } from '../backfill/sequences.js';
import { introspectMysql } from '../dialect/mysql/introspect.js';
import { convertSchema, type ConversionResult, type ConvertOptions } from './convert.js';
import { detectUuidColumns } from './uuid.js';

/** knex.raw reads `?` as a placeholder; DDL has no bindings, so every `?` is literal. */
function literalSql(sql: string): string {
  return sql.replace(/\?/g, '\\?');
}

/**
 * Runs converted DDL on PostgreSQL in one transaction (PostgreSQL DDL is transactional): either the
 * whole schema is created or nothing is.
 */
export async function applySchema(
  pg: Knex,
  ddl: ConversionResult | readonly string[] | string,
): Promise<void> {
  const statements =
    typeof ddl === 'string' ? [ddl] : Array.isArray(ddl) ? ddl : (ddl as ConversionResult).statements;
  await pg.transaction(async (trx) => {
    for (const statement of statements) await trx.raw(literalSql(statement));
  });
}

/** Moves the identity sequences of `table` past its largest id (after rows were copied with explicit ids). */
export async function resetSequences(
  pg: Knex,
  table: string,
): Promise<{ sequence: string; value: string }[]> {
  return resetPgSequences(pg, table);
}

/** Introspects a MySQL database, decides its UUID columns from the data and converts it. */
export async function convertDatabase(
  mysql: Knex,
  options: Omit<ConvertOptions, 'uuidColumns'> = {},
): Promise<ConversionResult> {
  const schema = await introspectMysql(mysql);
  const uuidColumns = await detectUuidColumns(mysql, schema, options.tables ?? {});
  return convertSchema(schema, { ...options, uuidColumns });
}
