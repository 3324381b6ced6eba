import type { Knex } from 'knex';
import { DualWriteError, ErrorCode } from '../errors.js';
import { dialectFor } from '../dialect/dialects.js';
import type { Side } from '../dialect/side.js';
import { chunks, placeholders } from '../dialect/sql.js';
import { keyStep } from '../keys/errors.js';
import { deleteByKeys, selectByKeys } from '../keys/lookup.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';

/** Most bound values per statement (PostgreSQL allows 65535 parameters). */
const MAX_BINDINGS = 30_000;

/**
 * Upserts rows by primary key on `side` with multi-row statements: PostgreSQL
 * `INSERT ... OVERRIDING SYSTEM VALUE ... ON CONFLICT (pk) DO UPDATE` (explicit ids also land in
 * GENERATED ALWAYS identity columns), MySQL `INSERT ... ON DUPLICATE KEY UPDATE`.
 * MySQL's ODKU also fires on a conflict with a secondary UNIQUE key, which would overwrite ANOTHER row
 * with this one's values: the update is guarded to rows with the same primary key, and a row whose insert
 * was swallowed by such a conflict makes the call throw (the key is retried once the other row moved).
 * The key columns are updated too (last, under the same guard): a case-insensitive MySQL key that
 * matched in another case takes this row's case, so the exact delete of the old case that follows finds
 * nothing. Rows are grouped by their column set, so a translator may leave a column out of some rows.
 * The key is the translator's (the primary key, else the sync key it was given).
 */
export async function upsertRows(
  db: Knex,
  side: Side,
  tr: RowTranslator,
  rows: readonly Row[],
  /** Each row's canonical key: key columns the target computes (generated) are not in the rows. @default read from the rows */
  keys?: readonly KeyTuple[],
): Promise<void> {
  const { table, primaryKey } = tr;
  const groups = new Map<string, { rows: Row[]; keys: unknown[][] }>();
  rows.forEach((row, i) => {
    const sig = Object.keys(row).join('\u0000');
    const given = keys?.[i];
    const key = given ? tr.keyForSide(given, side) : primaryKey.map((c) => row[c]);
    const group = groups.get(sig);
    if (group) {
      group.rows.push(row);
      group.keys.push(key);
    } else groups.set(sig, { rows: [row], keys: [key] });
  });
  const dialect = dialectFor(side);
  for (const group of groups.values()) {
    const columns = Object.keys(group.rows[0] ?? {});
    const { head, tail } = dialect.upsertSql(table, columns, primaryKey, tr.generatedKey);
    const perStatement = Math.max(1, Math.floor(MAX_BINDINGS / Math.max(1, columns.length)));
    const tuple = placeholders(columns.length);
    for (let i = 0; i < group.rows.length; i += perStatement) {
      const part = group.rows.slice(i, i + perStatement);
      const partKeys = group.keys.slice(i, i + perStatement);
      await keyStep(table, `upsert rows on ${side}`, partKeys, () =>
        db.raw(
          head + part.map(() => tuple).join(', ') + tail,
          part.flatMap((row) => columns.map((c) => dialect.bindValue(row[c]))) as Knex.RawBinding[],
        ),
      );
      if (dialect.capabilities.upsertOnAnyUniqueKey) await assertAllPresent(db, side, tr, partKeys);
    }
  }
}

/** After a guarded upsert on any unique key: every row's key must now exist, or another key swallowed it. */
async function assertAllPresent(
  db: Knex,
  side: Side,
  tr: RowTranslator,
  keys: readonly unknown[][],
): Promise<void> {
  const found = await selectByKeys({ db, side, translator: tr }, keys, tr.primaryKey, 'check upserted keys');
  const missing = keys.length - found.length;
  if (missing > 0) {
    throw new DualWriteError(
      ErrorCode.SyncFailed,
      `${missing} row(s) of ${tr.table} conflict with another row on a unique key of the target; retried later`,
      { table: tr.table },
    );
  }
}

/** Deletes rows by key values (already in `side`'s form), `chunkSize` keys a call. */
export async function deleteKeys(
  db: Knex,
  side: Side,
  tr: RowTranslator,
  keyValues: readonly unknown[][],
  chunkSize: number,
): Promise<number> {
  let n = 0;
  for (const part of chunks(keyValues, chunkSize)) {
    n += await deleteByKeys({ db, side, translator: tr }, part, 'delete keys absent on the source');
  }
  return n;
}
