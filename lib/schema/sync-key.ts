import type { IndexSchema, TableSchema } from './model.js';

/**
 * The columns whose values identify a row of a table everywhere dualwrite moves or compares rows
 * (capture, the outbox, sync, backfill, verify, repair, shadow re-checks): `primary` — the primary key;
 * `unique` — the table has none, so its first NOT NULL unique key (by index name; Vitess and Ghostferry
 * accept the same); `declared` — the operator's `tables.<name>.key`.
 */
export interface SyncKey {
  columns: readonly string[];
  source: 'primary' | 'unique' | 'declared';
  /** The unique index the key is (`unique`), or the one a declared key matches; null otherwise. */
  index: string | null;
}

/** Why a table has no sync key, with the two remedies, as the refusal message names it. */
export function noSyncKeyMessage(table: string): string {
  return (
    `table ${table} has no primary key and no NOT NULL unique key: its rows cannot be synced by key. ` +
    `Add a primary key (or a unique key on NOT NULL columns), or declare the columns that identify a row ` +
    `in the config (tables.${table}.key: [columns]); or exclude the table (tables.${table}.exclude: true)`
  );
}

/** A unique key can identify rows when every part is a whole NOT NULL column (no prefix, no expression). */
function usable(table: TableSchema, ix: IndexSchema): boolean {
  if (ix.columns.length === 0 || (ix.prefixLengths ?? []).some((p) => p !== null)) return false;
  // A functional key part (`UNIQUE ((lower(email)))`) is not a column value a row can be found by.
  if ((ix.expressions ?? []).some((e) => e !== null)) return false;
  return ix.columns.every((name) => table.columns.find((c) => c.name === name)?.nullable === false);
}

/**
 * The key rows of `table` are synced by: the declared columns when given, else the primary key, else
 * the first NOT NULL unique key (index names in code-point order, so both servers agree); null when
 * there is none (the table is refused, see noSyncKeyMessage). Declared columns missing from the table
 * throw a TypeError naming them.
 */
export function chooseSyncKey(table: TableSchema, declared?: readonly string[]): SyncKey | null {
  if (declared && declared.length > 0) {
    const missing = declared.filter((c) => !table.columns.some((col) => col.name === c));
    if (missing.length > 0) {
      throw new TypeError(
        `tables.${table.name}.key names column(s) ${missing.join(', ')} that ${table.name} does not have`,
      );
    }
    const same = (cols: readonly string[]): boolean =>
      cols.length === declared.length && cols.every((c) => declared.includes(c));
    const index = table.uniqueKeys.find((ix) => same(ix.columns))?.name ?? null;
    return { columns: [...declared], source: 'declared', index };
  }
  if (table.primaryKey.length > 0) return { columns: [...table.primaryKey], source: 'primary', index: null };
  const unique = [...table.uniqueKeys]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .find((ix) => usable(table, ix));
  return unique ? { columns: [...unique.columns], source: 'unique', index: unique.name } : null;
}

/** How a report names a sync key: `primary key (a, b)`, `unique key uq_x (a)`, `declared key (a)`. */
export function describeSyncKey(key: SyncKey): string {
  const cols = `(${key.columns.join(', ')})`;
  if (key.source === 'primary') return `primary key ${cols}`;
  if (key.source === 'unique') return `unique key ${key.index ?? ''} ${cols}`;
  return `declared key ${cols}${key.index ? ` (unique key ${key.index})` : ''}`;
}
