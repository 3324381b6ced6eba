import type { Knex } from 'knex';
import { DualWriteError, ErrorCode } from '../errors.js';
import type { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';
import { bindValue, chunks, placeholders, quoteIdent } from './sql.js';

/** Most bound values per statement (PostgreSQL allows 65535 parameters). */
const MAX_BINDINGS = 30_000;

/**
 * Upserts rows by primary key on `side` with multi-row statements: PostgreSQL
 * `INSERT ... OVERRIDING SYSTEM VALUE ... ON CONFLICT (pk) DO UPDATE` (explicit ids also land in
 * GENERATED ALWAYS identity columns), MySQL `INSERT ... ON DUPLICATE KEY UPDATE`.
 * MySQL's ODKU also fires on a conflict with a secondary UNIQUE key, which would overwrite ANOTHER row
 * with this one's values: the update is guarded to rows with the same primary key, and a row whose insert
 * was swallowed by such a conflict makes the call throw (the key is retried once the other row moved).
 * Rows are grouped by their column set, so a translator may leave a column out of some rows.
 */
export async function upsertRows(
  db: Knex,
  side: Side,
  table: string,
  primaryKey: readonly string[],
  rows: readonly Row[],
): Promise<void> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const sig = Object.keys(row).join('\u0000');
    const group = groups.get(sig);
    if (group) group.push(row);
    else groups.set(sig, [row]);
  }
  const q = (name: string): string => quoteIdent(side, name);
  for (const group of groups.values()) {
    const columns = Object.keys(group[0] ?? {});
    const nonKey = columns.filter((c) => !primaryKey.includes(c));
    const head =
      side === 'postgres'
        ? `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) OVERRIDING SYSTEM VALUE VALUES `
        : `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES `;
    let tail: string;
    if (side === 'postgres') {
      tail =
        nonKey.length === 0
          ? ` ON CONFLICT (${primaryKey.map(q).join(', ')}) DO NOTHING`
          : ` ON CONFLICT (${primaryKey.map(q).join(', ')}) DO UPDATE SET ${nonKey.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}`;
    } else {
      const samePk = primaryKey.map((c) => `${q(c)} <=> VALUES(${q(c)})`).join(' AND ');
      const updated = nonKey.length === 0 ? primaryKey.slice(0, 1) : nonKey;
      tail = ` ON DUPLICATE KEY UPDATE ${updated.map((c) => `${q(c)} = IF(${samePk}, VALUES(${q(c)}), ${q(c)})`).join(', ')}`;
    }
    const perStatement = Math.max(1, Math.floor(MAX_BINDINGS / Math.max(1, columns.length)));
    const tuple = placeholders(columns.length);
    for (const part of chunks(group, perStatement)) {
      await db.raw(
        head + part.map(() => tuple).join(', ') + tail,
        part.flatMap((row) => columns.map((c) => bindValue(row[c], side))) as Knex.RawBinding[],
      );
      if (side === 'mysql') await assertAllPresent(db, table, primaryKey, part);
    }
  }
}

/** After a guarded MySQL upsert: every row's primary key must now exist, or a unique conflict swallowed it. */
async function assertAllPresent(
  db: Knex,
  table: string,
  primaryKey: readonly string[],
  rows: readonly Row[],
): Promise<void> {
  const keys = rows.map((r) => primaryKey.map((c) => r[c]));
  const q = db(table).count({ n: '*' });
  const found = (await (
    primaryKey.length === 1
      ? q.whereIn(primaryKey[0] as string, keys.map((k) => k[0]) as Knex.Value[])
      : q.whereIn([...primaryKey], keys as Knex.Value[][])
  ).first()) as { n: string | number } | undefined;
  const missing = rows.length - Number(found?.n ?? 0);
  if (missing > 0) {
    throw new DualWriteError(
      ErrorCode.SyncFailed,
      `${missing} row(s) of ${table} conflict with another row on a unique key of the target; retried later`,
      { table },
    );
  }
}

/** Deletes rows by key values (already in `side`'s form), in chunks. */
export async function deleteKeys(
  db: Knex,
  table: string,
  primaryKey: readonly string[],
  keyValues: readonly unknown[][],
  chunkSize: number,
): Promise<number> {
  let n = 0;
  for (const part of chunks(keyValues, chunkSize)) {
    n +=
      primaryKey.length === 1
        ? await db(table)
            .whereIn(primaryKey[0] as string, part.map((k) => k[0]) as Knex.Value[])
            .del()
        : await db(table)
            .whereIn(primaryKey as string[], part as Knex.Value[][])
            .del();
  }
  return n;
}
