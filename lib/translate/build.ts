import type { ColumnOverride } from '../config/schema.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import type { DatabaseSchema } from '../schema/model.js';
import { TableTranslator } from './table.js';
import type { TranslatorSet } from './types.js';

/** The part of the dualwrite config translators read (a full DualWriteConfig fits). */
export interface TranslationConfig {
  tables?: Record<
    string,
    { columns?: Record<string, ColumnOverride | undefined>; sensitiveColumns?: readonly string[] } | undefined
  >;
}

/**
 * Builds one RowTranslator per table present on both databases, from their introspected schemas.
 * Tables without a primary key on either side cannot be synced by key and are left out (`has()` is false;
 * `table()` throws NoPrimaryKey for them).
 */
export function buildTranslators(
  mysqlSchema: DatabaseSchema,
  pgSchema: DatabaseSchema,
  config: TranslationConfig = {},
): TranslatorSet {
  const translators = new Map<string, TableTranslator>();
  const keyless = new Set<string>();
  for (const m of mysqlSchema.tables) {
    const p = pgSchema.tables.find((t) => t.name === m.name);
    if (!p) continue;
    if (m.primaryKey.length === 0 && p.primaryKey.length === 0) {
      keyless.add(m.name);
      continue;
    }
    const options = config.tables?.[m.name];
    translators.set(
      m.name,
      new TableTranslator(m, p, { columns: options?.columns, sensitiveColumns: options?.sensitiveColumns }),
    );
  }
  return {
    table(name: string) {
      const t = translators.get(name);
      if (t) return t;
      if (keyless.has(name)) {
        throw new DualWriteError(ErrorCode.NoPrimaryKey, `table ${name} has no primary key`, { table: name });
      }
      throw new DualWriteError(ErrorCode.UnknownTable, `table ${name} is not on both databases`, {
        table: name,
      });
    },
    has: (name: string) => translators.has(name),
    tableNames: () => [...translators.keys()],
  };
}
