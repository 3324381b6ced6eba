import type { ColumnOverride } from '../config/schema.js';
import { ConfigError, DualWriteError, ErrorCode } from '../errors.js';
import type { DatabaseSchema } from '../schema/model.js';
import { chooseSyncKey, noSyncKeyMessage, type SyncKey } from '../schema/sync-key.js';
import { TableTranslator } from './table.js';
import type { TranslatorSet } from './types.js';

/** The part of the dualwrite config translators read (a full DualWriteConfig fits). */
export interface TranslationConfig {
  tables?: Record<
    string,
    | {
        columns?: Record<string, ColumnOverride | undefined>;
        sensitiveColumns?: readonly string[];
        key?: readonly string[] | undefined;
      }
    | undefined
  >;
}

/**
 * Builds one RowTranslator per table present on both databases, from their introspected schemas. A
 * table's rows are identified by its sync key (schema/sync-key): the declared `tables.<name>.key`, else
 * the primary key, else the first NOT NULL unique key — of MySQL, else of PostgreSQL. Tables with none
 * cannot be synced by key and are left out (`has()` is false; `table()` throws NoPrimaryKey naming the
 * remedies). A declared key naming a column a side lacks throws ConfigError.
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
    const options = config.tables?.[m.name];
    let key: SyncKey | null;
    try {
      key = chooseSyncKey(m, options?.key) ?? chooseSyncKey(p);
      if (options?.key) chooseSyncKey(p, options.key);
    } catch (error) {
      throw new ConfigError((error as Error).message, { table: m.name });
    }
    if (!key) {
      keyless.add(m.name);
      continue;
    }
    translators.set(
      m.name,
      new TableTranslator(m, p, {
        key: key.columns,
        columns: options?.columns,
        sensitiveColumns: options?.sensitiveColumns,
      }),
    );
  }
  return {
    table(name: string) {
      const t = translators.get(name);
      if (t) return t;
      if (keyless.has(name)) {
        throw new DualWriteError(ErrorCode.NoPrimaryKey, noSyncKeyMessage(name), { table: name });
      }
      throw new DualWriteError(ErrorCode.UnknownTable, `table ${name} is not on both databases`, {
        table: name,
      });
    },
    has: (name: string) => translators.has(name),
    tableNames: () => [...translators.keys()],
  };
}
