import type { Knex } from 'knex';
import { connectionConfig } from '../shape/mysql2-internals.js';
import type { ShapeSource } from '../shape/pg-rows.js';
import type { SchemaKnowledge } from './schema-knowledge.js';

/**
 * What the PostgreSQL client needs to answer as the app's MySQL connection: mysql2's view of the app's
 * connection options, and the MySQL schema of the tables PostgreSQL's result columns come from.
 */
export function pgShapeSource(appConfig: Knex.Config, tables: SchemaKnowledge): ShapeSource {
  const connection = (appConfig.connection ?? {}) as Record<string, unknown>;
  const config = connectionConfig(connection);
  return {
    column: (oid, attnum) => tables.pgOrigin(oid, attnum),
    table: (name) => tables.mysqlSchema.tables.find((t) => t.name === name),
    translator: (name) => (tables.has(name) ? tables.table(name) : undefined),
    get database() {
      return String(connection['database'] ?? '');
    },
    textCollation: (config as { charsetNumber?: number }).charsetNumber ?? 224,
    get mariadb() {
      return tables.mysqlSchema.flavor === 'mariadb';
    },
    config,
  };
}
