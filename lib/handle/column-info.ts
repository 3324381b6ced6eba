import type { Knex } from 'knex';
import { internals } from './knex-internals.js';
import type { HandleCore } from './scope.js';

/**
 * `columnInfo()` answered as knex's mysql2 client answers it, from the MySQL schema: the column's
 * information_schema DATA_TYPE, CHARACTER_MAXIMUM_LENGTH (a BIGINT: a string with the app's
 * bigNumberStrings), COLUMN_DEFAULT and IS_NULLABLE.
 */
export function columnInfo(core: HandleCore, table: string | undefined, builder: Knex.QueryBuilder): unknown {
  const schema = core.tables.mysqlSchema.tables.find((t) => t.name === table);
  const connection = (core.app.config.connection ?? {}) as Record<string, unknown>;
  const bigStrings = Boolean(connection['supportBigNumbers'] && connection['bigNumberStrings']);
  const out: Record<string, { defaultValue: unknown; type: string; maxLength: unknown; nullable: boolean }> =
    {};
  for (const c of schema?.columns ?? []) {
    const textual = /char|text|blob|binary|enum|set|json/.test(c.dataType);
    const length = textual ? (c.length ?? null) : null;
    out[c.name] = {
      defaultValue: c.defaultValue,
      type: c.dataType,
      maxLength: length === null ? null : bigStrings ? String(length) : length,
      nullable: c.nullable,
    };
  }
  const column = internals(builder)._single.columnInfo;
  const result = (column && out[column]) || out;
  return core.app.postgres.client.postProcessResponse(result, builder.queryContext());
}
