import type { Knex } from 'knex';
import { DualWriteError, ErrorCode } from '../errors.js';
import { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { internals, type BuilderInternals } from '../handle/knex-internals.js';
import { runInsert, type InsertOutcome } from './insert.js';
import { canonicalKeys, isKeyValue, keyOfRow, keysFromLookup, type KeyValue } from './keys.js';
import { enqueueKeys } from '../sync/outbox.js';
import type { ShapeHints } from '../shape/pg-rows.js';
import { appStatement, internalRows } from './app-statement.js';
import { evaluateGeneratedKey, generatedKeyInputs, generatedKeyOf } from './generated-keys.js';

export interface CaptureTarget {
  readonly table: { name: string; alias: string };
  readonly translator: RowTranslator;
  readonly side: Side;
  /** MySQL: unique keys other than the primary key (undefined: not known). */
  readonly uniqueKeys?: readonly (readonly string[])[] | undefined;
  /** PostgreSQL: how its client names and types the result as MySQL does. */
  readonly hints?: ShapeHints | undefined;
}

export interface CapturedWrite {
  result: unknown;
  /** Set for inserts: generated-id details used to shape the app's result. */
  insert: InsertOutcome | undefined;
  keys: KeyTuple[];
}

export function uncaptured(table: string, message: string): DualWriteError {
  return new DualWriteError(ErrorCode.UncapturedWrite, `${table}: ${message}`, { table });
}

/** A MySQL text key: the app's WHERE values may differ from the stored key (see keysFromLookup). */
export function looseLookup(target: CaptureTarget): boolean {
  return target.side === Side.Mysql && target.translator.looseKeyLookup === true;
}

/** Keys of the rows an update/delete will touch: from a plain key lookup, else a locking pre-select. */
async function keysBefore(
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  trx: Knex.Transaction,
): Promise<KeyValue[][]> {
  const b = internals(builder);
  const pk = target.translator.primaryKey;
  const lookup = keysFromLookup(b._statements, pk, target.table, looseLookup(target));
  if (lookup) return lookup;
  const select = trx.queryBuilder();
  const s = internals(select);
  s._single.table = b._single.table;
  s._statements = b._statements.filter((st) => st.grouping === 'where' || st.grouping === 'join');
  select.select(pk.map((c) => `${target.table.alias}.${c}`)).forUpdate();
  const rows = await internalRows(select, target.side);
  return rows.map((r) => keyOfRow(r, pk)).filter((k): k is KeyValue[] => k !== undefined);
}

/**
 * Runs an update/delete on PostgreSQL with the key columns added to its RETURNING. The app gets what
 * it would have got: the affected-row count, or its own RETURNING columns.
 */
async function returningKeys(
  builder: Knex.QueryBuilder,
  pk: readonly string[],
  hints: ShapeHints | undefined,
): Promise<{ result: unknown; keys: KeyValue[][] }> {
  // The app's own RETURNING has no effect (as on MySQL): the statement returns the key columns.
  builder.returning([...pk]);
  const { result, response } = await appStatement(builder, undefined, hints);
  const rows = (response as { rows?: Row[] } | undefined)?.rows ?? [];
  const keys = rows.map((r) => keyOfRow(r, pk)).filter((k): k is KeyValue[] => k !== undefined);
  return { result, keys };
}

/** An update that sets key columns moves rows: their new keys must be synced too. */
export function movedKeys(b: BuilderInternals, target: CaptureTarget, before: KeyValue[][]): KeyValue[][] {
  const pk = target.translator.primaryKey;
  const update = b._single.update ?? {};
  const counter = b._single.counter ?? {};
  const changed = pk.filter((c) => c in update || c in counter);
  if (changed.length === 0) return [];
  if (changed.some((c) => c in counter || !isKeyValue(update[c]))) {
    throw uncaptured(target.table.name, 'an update that computes new key values cannot be captured');
  }
  return before.map((key) =>
    pk.map((c, i) => (c in update ? (update[c] as KeyValue) : (key[i] as KeyValue))),
  );
}

/** Whether an update sets a column a generated key column is computed from. */
export function movesGeneratedKey(b: BuilderInternals, target: CaptureTarget): boolean {
  const set = { ...(b._single.update ?? {}), ...(b._single.counter ?? {}) };
  return generatedKeyInputs(target.translator).some((c) => c in set);
}

/** MySQL: the keys rows get from an update of their generated key's inputs (all must be set, plainly). */
async function movedGeneratedKeys(
  b: BuilderInternals,
  target: CaptureTarget,
  trx: Knex.Transaction,
  before: KeyValue[][],
): Promise<KeyValue[][]> {
  const pk = target.translator.primaryKey;
  if (b._single.counter && Object.keys(b._single.counter).length > 0) {
    throw uncaptured(target.table.name, 'an update that computes a generated key cannot be captured');
  }
  const computed = await evaluateGeneratedKey(trx, generatedKeyOf(target.translator), b._single.update ?? {});
  if (typeof computed === 'string') throw uncaptured(target.table.name, computed);
  const update = (b._single.update ?? {}) as Row;
  return before.map(
    (key) =>
      pk.map((c, i) =>
        c in computed ? computed[c] : c in update ? (update[c] as KeyValue) : key[i],
      ) as KeyValue[],
  );
}

/**
 * Runs one app write inside `trx` (a transaction on the authoritative database) and records the keys
 * it touched in that database's outbox, in the same transaction — now, or through `record` (an app
 * transaction inserts them all before its commit).
 */
export async function captureWrite(
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  trx: Knex.Transaction,
  record?: (table: string, keys: readonly KeyTuple[]) => void,
): Promise<CapturedWrite> {
  const pk = target.translator.primaryKey;
  if (pk.length === 0) {
    throw new DualWriteError(ErrorCode.NoPrimaryKey, `${target.table.name} has no primary key`, {
      table: target.table.name,
    });
  }
  builder.transacting(trx);
  const b = internals(builder);
  let raw: KeyValue[][];
  let result: unknown;
  let insert: InsertOutcome | undefined;
  if (b._method === 'insert') {
    insert = await runInsert(
      builder,
      {
        name: target.table.name,
        primaryKey: pk,
        side: target.side,
        uniqueKeys: target.uniqueKeys,
        hints: target.hints,
        generatedKey: generatedKeyOf(target.translator),
      },
      trx,
      true,
    );
    result = insert.result;
    raw = insert.keys;
  } else if ((b._method === 'update' || b._method === 'counter') && movesGeneratedKey(b, target)) {
    // The update changes what a generated key is computed from: the rows' old keys, then their new ones
    // (PostgreSQL: RETURNING; MySQL: the key evaluated from the new values).
    const before = await keysBefore(builder, target, trx);
    if (target.side === Side.Postgres) {
      const changed = await returningKeys(builder, pk, target.hints);
      result = changed.result;
      raw = [...before, ...changed.keys];
    } else {
      const after = await movedGeneratedKeys(b, target, trx, before);
      result = (await appStatement(builder, undefined, target.hints)).result;
      raw = [...before, ...after];
    }
  } else if (
    (b._method === 'update' || b._method === 'counter' || b._method === 'del') &&
    target.side === Side.Postgres &&
    !keysFromLookup(b._statements, pk, target.table) &&
    !pk.some((c) => c in (b._single.update ?? {}) || c in (b._single.counter ?? {}))
  ) {
    // PostgreSQL reports the rows a statement changed: exact keys in one statement, with no window
    // for a row committed between a pre-select and the write (READ COMMITTED re-reads per statement).
    const changed = await returningKeys(builder, pk, target.hints);
    result = changed.result;
    raw = changed.keys;
  } else if (b._method === 'update' || b._method === 'counter' || b._method === 'del') {
    const before = await keysBefore(builder, target, trx);
    const after = b._method === 'del' ? [] : movedKeys(b, target, before);
    result = (await appStatement(builder, undefined, target.hints)).result;
    raw = [...before, ...after];
  } else {
    throw uncaptured(target.table.name, `a ${b._method} statement cannot be captured in a syncing stage`);
  }
  const keys = canonicalKeys(target.translator, raw, target.side);
  if (record) record(target.table.name, keys);
  else if (keys.length > 0) await enqueueKeys(trx, target.table.name, keys);
  return { result, insert, keys };
}
