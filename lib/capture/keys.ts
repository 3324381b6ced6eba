import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import type { Knex } from 'knex';
import { bareColumn, internals, type BuilderStatement } from '../handle/knex-internals.js';

/** Most keys a plain lookup may expand to before a locking pre-select is used instead. */
const MAX_LOOKUP_KEYS = 10_000;

/** A key part as the driver or the app gives it: binary keys (VARBINARY, bytea) are Buffers. */
export type KeyValue = string | number | bigint | Buffer;

export function isKeyValue(value: unknown): value is KeyValue {
  return (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    Buffer.isBuffer(value)
  );
}

/** Key of a row (values for `side`), or undefined when a key column is missing or not a plain value. */
export function keyOfRow(row: Row, primaryKey: readonly string[]): KeyValue[] | undefined {
  const values: KeyValue[] = [];
  for (const col of primaryKey) {
    const v = row[col];
    if (!isKeyValue(v)) return undefined;
    values.push(v);
  }
  return values;
}

/**
 * Keys named by a WHERE that is a plain key lookup (`id = ?`, `id IN (...)`, every key column pinned,
 * joined with AND). Other AND-ed conditions only narrow the rows, so the keys are a safe superset.
 * Undefined when the WHERE is anything else (then a locking pre-select finds the keys), or when the
 * comparison is `loose` (a MySQL text key: 'abc' also finds 'ABC', so the stored keys are read instead).
 */
export function keysFromLookup(
  statements: readonly BuilderStatement[],
  primaryKey: readonly string[],
  table: { name: string; alias: string },
  loose = false,
): KeyValue[][] | undefined {
  if (loose) return undefined;
  const where = statements.filter((s) => s.grouping === 'where');
  if (where.length === 0 || where.some((s) => s.bool === 'or')) return undefined;
  const candidates = new Map<string, KeyValue[]>();
  for (const s of where) {
    if (s.not || s.asColumn) continue;
    const col = bareColumn(s.column, table);
    if (col === undefined || !primaryKey.includes(col)) continue;
    let values: KeyValue[] | undefined;
    if (s.type === 'whereBasic' && s.operator === '=' && isKeyValue(s.value)) values = [s.value];
    else if (s.type === 'whereIn' && Array.isArray(s.value) && s.value.every(isKeyValue)) {
      values = s.value as KeyValue[];
    }
    if (!values) continue;
    const prev = candidates.get(col);
    candidates.set(col, prev ? values.filter((v) => prev.some((p) => String(p) === String(v))) : values);
  }
  let keys: KeyValue[][] = [[]];
  for (const col of primaryKey) {
    const values = candidates.get(col);
    if (!values) return undefined;
    keys = keys.flatMap((k) => values.map((v) => [...k, v]));
    if (keys.length > MAX_LOOKUP_KEYS) return undefined;
  }
  return keys;
}

/** Canonical, de-duplicated keys as stored in the outbox (`pk` = JSON of the KeyTuple). */
export function canonicalKeys(
  translator: RowTranslator,
  keys: readonly (readonly unknown[])[],
  side: Side,
): KeyTuple[] {
  const seen = new Map<string, KeyTuple>();
  for (const values of keys) {
    const key = translator.canonicalKey(
      values.map((v) => (typeof v === 'bigint' ? v.toString() : v)),
      side,
    );
    seen.set(JSON.stringify(key), key);
  }
  return [...seen.values()];
}

/** The columns an upsert names in `onConflict(...)` ([] when none, or when one is not a plain name). */
export function conflictColumns(onConflict: unknown): string[] {
  const cols = (Array.isArray(onConflict) ? onConflict : onConflict ? [onConflict] : []) as unknown[];
  return cols.every((c) => typeof c === 'string') ? (cols as string[]) : [];
}

/** Whether two column lists name the same columns, in any order. */
export function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c));
}

/**
 * Adds the key columns to a PostgreSQL write's RETURNING. `appReturning` is what the app asked for;
 * `toApp` leaves the added key columns out of returned rows.
 */
export function returnKeysToo(
  builder: Knex.QueryBuilder,
  pk: readonly string[],
): { appReturning: unknown; toApp: (rows: Row[]) => Row[] } {
  const appReturning = internals(builder)._single.returning;
  const appCols = (
    appReturning === undefined ? [] : Array.isArray(appReturning) ? appReturning : [appReturning]
  ) as string[];
  const added = appCols.includes('*') ? [] : pk.filter((c) => !appCols.includes(c));
  builder.returning([...appCols, ...added]);
  const toApp = (rows: Row[]): Row[] =>
    added.length === 0 || appReturning === undefined
      ? rows
      : rows.map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => !added.includes(c))));
  return { appReturning, toApp };
}
