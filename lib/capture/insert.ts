import type { Knex } from 'knex';
import { DualWriteError, ErrorCode } from '../errors.js';
import { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';
import { internals, isKnexRaw } from '../handle/knex-internals.js';
import type { ShapeHints } from '../shape/pg-rows.js';
import { appStatement, internalRows } from './app-statement.js';
import { evaluateGeneratedKey } from './generated-keys.js';
import { conflictColumns, isKeyValue, keyOfRow, sameColumns, type KeyValue } from './keys.js';

export interface InsertTarget {
  readonly name: string;
  readonly primaryKey: readonly string[];
  readonly side: Side;
  /** MySQL: unique keys other than the primary key, any of which an upsert may conflict on. */
  readonly uniqueKeys?: readonly (readonly string[])[] | undefined;
  /** PostgreSQL: how its client answers as MySQL (the insert's table gives the insert id). */
  readonly hints?: ShapeHints | undefined;
  /** MySQL: key columns the server computes (generated columns), with their expressions. */
  readonly generatedKey?: Readonly<Record<string, string>> | undefined;
}

export interface InsertOutcome {
  /** What knex returned (for a split MySQL insert: the first statement's result). */
  result: unknown;
  /** Keys of the rows inserted or, for upserts, inserted or updated. */
  keys: KeyValue[][];
  /** First generated id (MySQL insertId semantics), 0 when none was generated. */
  firstId: unknown;
  /** Whether dualwrite added a RETURNING the app did not ask for (then `result` is not app-shaped). */
  addedReturning: boolean;
}

/** The rows of an insert builder's values (one object or an array). */
export function insertRows(insert: unknown): Row[] {
  if (Array.isArray(insert)) return insert as Row[];
  return insert && typeof insert === 'object' ? [insert as Row] : [];
}

function uncaptured(table: string, why: string): DualWriteError {
  return new DualWriteError(ErrorCode.UncapturedWrite, `insert into ${table} cannot be captured: ${why}`, {
    table,
  });
}

/**
 * Runs an insert (or upsert) and finds the keys it wrote. Keys given in the values are used as they
 * are; generated ones come from RETURNING on PostgreSQL, and on MySQL from insertId one row at a time
 * (a multi-row statement's ids need not be consecutive) or, for upserts, by re-selecting the conflict
 * columns inside the same transaction.
 */
export async function runInsert(
  builder: Knex.QueryBuilder,
  target: InsertTarget,
  conn: Knex | Knex.Transaction,
  needKeys: boolean,
): Promise<InsertOutcome> {
  const { _single } = internals(builder);
  const rows = insertRows(_single.insert);
  const pk = target.primaryKey;
  const given = rows.map((r) => keyOfRow(r, pk));
  const missing = given.some((k) => k === undefined);
  const upsert = Boolean(_single.merge || _single.ignore);
  const conflict = conflictColumns(_single.onConflict);
  // MySQL's upsert updates the row of whichever unique key conflicts, named or not.
  const otherKeys = [conflict, ...(target.uniqueKeys ?? [])].filter(
    (cols) => cols.length > 0 && !sameColumns(cols, pk),
  );
  if (upsert && needKeys && !missing && target.side === Side.Mysql && otherKeys.length > 0) {
    if (rows.some((r) => conflict.some((c) => r[c] === undefined || isKnexRaw(r[c])))) {
      throw uncaptured(target.name, 'conflict column values are not plain values');
    }
    // The row an upsert updates is the one holding the conflicting values, whose key the values need
    // not name (`insert({ id: newId, email }).onConflict('email').merge()`): select it afterwards.
    // Only a merge that rewrites the key needs the key from before too (a locking pre-select, whose
    // gap locks would otherwise make concurrent upserts of new values deadlock).
    const before = mergeSetsKey(_single.merge, pk)
      ? await keysByUniqueValues(conn, target, rows, otherKeys, true)
      : [];
    const { result } = await appStatement(builder, undefined, target.hints);
    const after = await keysByUniqueValues(conn, target, rows, otherKeys, false);
    const firstId = Array.isArray(result) ? (result[0] ?? 0) : 0;
    const keys = uniqueKeys([...(given as KeyValue[][]), ...before, ...after]);
    return { result, keys, firstId, addedReturning: false };
  }
  if (missing && !upsert && target.side === Side.Mysql && Object.keys(target.generatedKey ?? {}).length > 0) {
    return insertWithGeneratedKey(builder, target, conn, rows);
  }
  // Given keys are the keys written, except for a PostgreSQL upsert (RETURNING below says which rows).
  if ((!missing && !(upsert && needKeys && target.side === Side.Postgres)) || rows.length === 0) {
    const { result } = await appStatement(builder, undefined, target.hints);
    const firstId = target.side === Side.Mysql && Array.isArray(result) ? (result[0] ?? 0) : 0;
    return { result, keys: given as KeyValue[][], firstId, addedReturning: false };
  }

  if (target.side === Side.Postgres) {
    // Generated keys, and the rows an upsert inserted or updated, come back from RETURNING (next to
    // the AUTO_INCREMENT column the insert id comes from).
    const returning = _single.returning;
    const cols = (
      Array.isArray(returning) ? returning : returning === undefined ? [] : [returning]
    ) as string[];
    builder.returning([...new Set([...cols, ...pk])]);
    const { result, response } = await appStatement(builder, undefined, target.hints);
    const returned = (response as { rows?: Row[] } | undefined)?.rows ?? [];
    const keys = returned.map((r) => keyOfRow(r, pk)).filter((k): k is KeyValue[] => k !== undefined);
    if (needKeys && keys.length < returned.length) throw uncaptured(target.name, 'RETURNING gave no key');
    const firstId = Array.isArray(result) ? (result[0] ?? 0) : 0;
    return { result, keys, firstId, addedReturning: false };
  }

  // MySQL.
  if (upsert) {
    const { result } = await appStatement(builder, undefined, target.hints);
    if (!needKeys)
      return { result, keys: [], firstId: Array.isArray(result) ? result[0] : 0, addedReturning: false };
    const keys = await reselectByConflict(conn, target, rows, conflict);
    return { result, keys, firstId: Array.isArray(result) ? result[0] : 0, addedReturning: false };
  }
  const missingCols = pk.filter((c) => rows.some((r) => !isKeyValue(r[c])));
  if (missingCols.length !== 1) throw uncaptured(target.name, 'more than one key column has no value');
  const idCol = missingCols[0] as string;
  if (rows.length === 1 || !needKeys) {
    const { result, response } = await appStatement(builder, undefined, target.hints);
    const id = insertIdOf(response) ?? (Array.isArray(result) ? result[0] : undefined);
    if (needKeys && (!isKeyValue(id) || id === 0)) throw uncaptured(target.name, 'no generated key');
    const keys = needKeys ? [pk.map((c) => (c === idCol ? id : rows[0]?.[c]) as KeyValue)] : [];
    return { result, keys, firstId: id ?? 0, addedReturning: false };
  }
  // One statement per row: insertId is exact for each, whatever the auto-increment lock mode.
  const keys: KeyValue[][] = [];
  let firstResult: unknown;
  for (const row of rows) {
    const single = conn(internals(builder)._single.table as string).insert(row);
    const { result, response } = await appStatement(single);
    firstResult ??= result;
    const id = insertIdOf(response) ?? (Array.isArray(result) ? result[0] : undefined);
    if (!isKeyValue(id) || id === 0) throw uncaptured(target.name, 'no generated key');
    keys.push(pk.map((c) => (c === idCol ? id : row[c]) as KeyValue));
  }
  return { result: firstResult, keys, firstId: keys[0]?.[pk.indexOf(idCol)] ?? 0, addedReturning: false };
}

/** The generated id MySQL reported for an insert (its raw `[ResultSetHeader, fields]` response). */
function insertIdOf(response: unknown): KeyValue | undefined {
  const header = Array.isArray(response) ? (response[0] as { insertId?: unknown } | undefined) : undefined;
  return header && isKeyValue(header.insertId) ? header.insertId : undefined;
}

/**
 * MySQL insert into a table whose key MySQL computes (a generated column, e.g. world_x's `_id` from a
 * JSON document): each row's key is evaluated from its values first, and checked to exist afterwards
 * in the same transaction, so the outbox never records a key no row has.
 */
async function insertWithGeneratedKey(
  builder: Knex.QueryBuilder,
  target: InsertTarget,
  conn: Knex | Knex.Transaction,
  rows: readonly Row[],
): Promise<InsertOutcome> {
  const pk = target.primaryKey;
  const generated = target.generatedKey ?? {};
  const keys: KeyValue[][] = [];
  for (const row of rows) {
    const computed = await evaluateGeneratedKey(conn, generated, row);
    if (typeof computed === 'string') throw uncaptured(target.name, computed);
    const key = pk.map((c) => (c in computed ? computed[c] : row[c]));
    if (!key.every(isKeyValue)) throw uncaptured(target.name, 'a key column has no value');
    keys.push(key);
  }
  const { result } = await appStatement(builder, undefined, target.hints);
  const found = (
    await internalRows(
      conn(target.name)
        .whereIn([...pk], keys as Knex.Value[][])
        .count({ n: '*' }),
      target.side,
    )
  )[0];
  if (Number(found?.['n'] ?? 0) < uniqueKeys(keys).length) {
    throw uncaptured(target.name, 'the computed keys of the inserted rows were not found');
  }
  return { result, keys, firstId: Array.isArray(result) ? (result[0] ?? 0) : 0, addedReturning: false };
}

/** Upsert without key values: the rows now hold the conflict columns' values; select their keys. */
async function reselectByConflict(
  conn: Knex | Knex.Transaction,
  target: InsertTarget,
  rows: readonly Row[],
  conflict: readonly string[],
): Promise<KeyValue[][]> {
  if (conflict.length === 0) {
    throw uncaptured(target.name, 'an upsert without key values must name its conflict columns');
  }
  if (rows.some((r) => conflict.some((c) => r[c] === undefined || isKnexRaw(r[c])))) {
    throw uncaptured(target.name, 'conflict column values are not plain values');
  }
  return keysByUniqueValues(conn, target, rows, [conflict], true);
}

/** Whether the update part of an upsert writes a key column (`merge()` with no list writes them all). */
function mergeSetsKey(merge: { updates?: unknown } | undefined, pk: readonly string[]): boolean {
  if (!merge) return false;
  const updates = merge.updates;
  if (updates === undefined) return true;
  const cols = Array.isArray(updates)
    ? updates
    : typeof updates === 'object' && updates
      ? Object.keys(updates)
      : [];
  return pk.some((c) => cols.includes(c));
}

/**
 * Keys of the rows holding, for any of the column sets, the values some inserted row has for all of
 * them (locked when `lock`). Rows without plain values for a set cannot conflict on it: skipped.
 */
async function keysByUniqueValues(
  conn: Knex | Knex.Transaction,
  target: InsertTarget,
  rows: readonly Row[],
  columnSets: readonly (readonly string[])[],
  lock: boolean,
): Promise<KeyValue[][]> {
  const lookups = columnSets
    .map((cols) => ({
      cols,
      values: rows
        .filter((r) => cols.every((c) => r[c] !== undefined && r[c] !== null && !isKnexRaw(r[c])))
        .map((r) => cols.map((c) => r[c] as Knex.Value)),
    }))
    .filter((l) => l.values.length > 0);
  if (lookups.length === 0) return [];
  const select = conn(target.name)
    .select([...target.primaryKey])
    .where((w) => {
      for (const l of lookups) void w.orWhereIn([...l.cols], l.values);
    });
  const found = await internalRows(lock ? select.forUpdate() : select, target.side);
  return found.map((r) => keyOfRow(r, target.primaryKey)).filter((k): k is KeyValue[] => k !== undefined);
}

function uniqueKeys(keys: readonly KeyValue[][]): KeyValue[][] {
  return [...new Map(keys.map((k) => [JSON.stringify(k.map(String)), k])).values()];
}
