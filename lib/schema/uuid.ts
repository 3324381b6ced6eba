import type { Knex } from 'knex';
import type { ColumnOverride } from '../config/schema.js';
import type { DatabaseSchema } from './model.js';

/** `table.column` names of columns to convert to `uuid`. */
export type UuidColumns = ReadonlySet<string>;

const UUID_SQL_RE = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** CHAR(36)/VARCHAR(36) columns: the only ones that may hold UUIDs as text. */
function candidates(schema: DatabaseSchema): { table: string; column: string }[] {
  return schema.tables.flatMap((t) =>
    t.columns
      .filter((c) => (c.dataType === 'char' || c.dataType === 'varchar') && c.length === 36 && !c.isJson)
      .map((c) => ({ table: t.name, column: c.name })),
  );
}

/**
 * Decides from the data which CHAR(36)/VARCHAR(36) columns hold UUIDs: every non-NULL value must be a
 * hyphenated UUID (and lower-case under a case-sensitive collation). An empty column counts as UUID when its name says so (`id`, `*_id`, `*uuid*`).
 * Config overrides (`tables[t].columns[c].uuid`) win. Columns joined by a foreign key are kept
 * consistent (both uuid or neither), since PostgreSQL needs equal types on both ends.
 */
export async function detectUuidColumns(
  mysql: Knex,
  schema: DatabaseSchema,
  overrides: Record<string, { columns?: Record<string, ColumnOverride | undefined> } | undefined> = {},
): Promise<UuidColumns> {
  const decided = new Map<string, boolean>();
  for (const { table, column } of candidates(schema)) {
    const forced = overrides[table]?.columns?.[column]?.uuid;
    if (forced !== undefined) {
      decided.set(`${table}.${column}`, forced);
      continue;
    }
    // With a case-sensitive collation an upper-case UUID could not be found again by its lower-case
    // canonical key, so such columns must already be lower-case to become uuid.
    const col = schema.tables.find((t) => t.name === table)?.columns.find((c) => c.name === column);
    const caseSensitive = !/_ci$|_ci_/i.test(col?.collation ?? '');
    const [rows] = (await mysql.raw(
      `SELECT COUNT(??) AS filled,
              COALESCE(SUM(?? NOT REGEXP ? OR (? AND CAST(?? AS BINARY) <> CAST(LOWER(??) AS BINARY))), 0) AS bad
         FROM ??`,
      [column, column, UUID_SQL_RE, caseSensitive ? 1 : 0, column, column, table],
    )) as unknown as [{ filled: string | number; bad: string | number }[]];
    const filled = Number(rows[0]?.filled ?? 0);
    const bad = Number(rows[0]?.bad ?? 0);
    decided.set(`${table}.${column}`, filled > 0 ? bad === 0 : /^id$|_id$|uuid/i.test(column));
  }
  // Foreign keys need the same type on both ends: one text end makes the whole group text.
  let changed = true;
  while (changed) {
    changed = false;
    for (const t of schema.tables) {
      for (const fk of t.foreignKeys) {
        fk.columns.forEach((col, i) => {
          const a = `${t.name}.${col}`;
          const b = `${fk.referencedTable}.${fk.referencedColumns[i] ?? ''}`;
          if ((decided.get(a) ?? false) !== (decided.get(b) ?? false)) {
            if (decided.get(a)) decided.set(a, false);
            if (decided.get(b)) decided.set(b, false);
            changed = true;
          }
        });
      }
    }
  }
  return new Set([...decided].filter(([, v]) => v).map(([k]) => k));
}
