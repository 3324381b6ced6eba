import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';

/** Path of the MySQL-era DDL of the example. */
export const MYSQL_SCHEMA_FILE = fileURLToPath(new URL('./schema.mysql.sql', import.meta.url));

/** The DDL split into statements (comment lines dropped; no statement contains a `;`). */
export function mysqlSchemaStatements(file = MYSQL_SCHEMA_FILE): string[] {
  const text = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Creates the Genascope tables in an empty MySQL/MariaDB database. */
export async function createMysqlSchema(mysql: Knex): Promise<void> {
  for (const statement of mysqlSchemaStatements()) await mysql.raw(statement);
}
