import type { Knex } from 'knex';
import type { KeyColumn } from '../dialect/dialect.js';
import { dialectFor } from '../dialect/dialects.js';
import type { Side } from '../dialect/side.js';
import type { Row, RowTranslator } from '../translate/types.js';
import { distinctKeys, keyText } from './codec.js';
import { keyStep } from './errors.js';

/** Key columns of a translator's table per side, looked up once (translators are rebuilt on schema change). */
const columnCache = new WeakMap<RowTranslator, Partial<Record<Side, Promise<KeyColumn[]>>>>();

/** The key columns of `tr`'s table on `side`, with what key-set statements need (types, collations). */
export function keyColumnsOf(db: Knex, side: Side, tr: RowTranslator): Promise<KeyColumn[]> {
  let sides = columnCache.get(tr);
  if (!sides) columnCache.set(tr, (sides = {}));
  let found = sides[side];
  if (!found) {
    found = dialectFor(side).keys.keyColumns(db, tr.table, tr.primaryKey);
    sides[side] = found;
    // A failed lookup is not kept.
    found.catch(() => {
      if (sides[side] === found) delete sides[side];
    });
  }
  return found;
}

/** Where a key-set operation runs: a table (its translator) on one side, through `db` (a pool or a transaction). */
export interface KeySetTarget {
  db: Knex;
  side: Side;
  translator: RowTranslator;
}

async function runSelect(
  target: KeySetTarget,
  key: readonly KeyColumn[],
  keys: readonly (readonly unknown[])[],
  columns: readonly string[],
  lock: boolean,
): Promise<Row[]> {
  const { db, side, translator: tr } = target;
  const dialect = dialectFor(side);
  const out: Row[] = [];
  for (const s of dialect.keys.keySetStatements('select', tr.table, key, keys, columns, lock)) {
    for (const row of dialect.rows(await db.raw(s.sql, s.bindings as Knex.RawBinding[]))) out.push(row);
  }
  if (!dialect.capabilities.collationAwareKeyLookups) return out;
  // MySQL compares by the column's collation: a case-insensitive key also finds 'ABC' for 'abc'. Only
  // rows whose canonical key is one asked for are kept (a uuid's case does not count, a name's does).
  const wanted = new Set(keys.map((k) => keyText(tr.canonicalKey(k, side))));
  return out.filter((row) =>
    wanted.has(
      keyText(
        tr.canonicalKey(
          tr.primaryKey.map((c) => row[c]),
          side,
        ),
      ),
    ),
  );
}

/**
 * The rows of `keys` (values in `side`'s form, as keyForSide gives them; repeats are ignored), reading
 * `columns` (which must include the key columns). Any number of keys: PostgreSQL joins one unnest() of
 * typed arrays, MySQL/MariaDB read row-value IN lists of 1000 keys. A key finds only the row whose
 * canonical key it is. A failure is a KeyQueryError naming the table, `operation` and the keys.
 */
export async function selectByKeys(
  target: KeySetTarget,
  keys: readonly (readonly unknown[])[],
  columns: readonly string[],
  operation = 'read rows by key',
): Promise<Row[]> {
  const { db, side, translator: tr } = target;
  if (keys.length === 0) return [];
  const distinct = distinctKeys(keys);
  return keyStep(tr.table, `${operation} on ${side}`, distinct, async () =>
    runSelect(target, await keyColumnsOf(db, side, tr), distinct, columns, false),
  );
}

/**
 * Deletes the rows of `keys` (values in `side`'s form); returns how many went. See selectByKeys. On
 * MySQL the rows are first found (and locked) as a read finds them, then deleted by their stored
 * values compared exactly, so a key never removes a row of another canonical key.
 */
export async function deleteByKeys(
  target: KeySetTarget,
  keys: readonly (readonly unknown[])[],
  operation = 'delete rows by key',
): Promise<number> {
  const { db, side, translator: tr } = target;
  if (keys.length === 0) return 0;
  let distinct = distinctKeys(keys);
  return keyStep(tr.table, `${operation} on ${side}`, distinct, async () => {
    const key = await keyColumnsOf(db, side, tr);
    const dialect = dialectFor(side);
    if (dialect.capabilities.collationAwareKeyLookups) {
      const found = await runSelect(target, key, distinct, tr.primaryKey, true);
      distinct = found.map((r) => tr.primaryKey.map((c) => r[c]));
    }
    let n = 0;
    for (const s of dialect.keys.keySetStatements('delete', tr.table, key, distinct)) {
      n += dialect.affectedRows(await db.raw(s.sql, s.bindings as Knex.RawBinding[]));
    }
    return n;
  });
}
