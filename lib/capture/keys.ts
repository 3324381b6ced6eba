import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { bareColumn, type BuilderStatement } from '../handle/knex-internals.js';

/** Most keys a plain lookup may expand to before a locking pre-select is used instead. */
const MAX_LOOKUP_KEYS = 10_000;

export type KeyValue = string | number | bigint;

export function isKeyValue(value: unknown): value is KeyValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint';
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
 * Undefined when the WHERE is anything else (then a locking pre-select finds the keys).
 */
export function keysFromLookup(
  statements: readonly BuilderStatement[],
  primaryKey: readonly string[],
  table: { name: string; alias: string },
): KeyValue[][] | undefined {
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
