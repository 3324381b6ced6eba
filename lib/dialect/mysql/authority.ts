import type { Knex } from 'knex';
import { META_TABLES, NOT_AUTHORITATIVE } from '../../meta/tables.js';

/**
 * Reads this side's authority row with a share lock held to the end of the transaction: a side that
 * gives the role up waits for the transaction, and one that gave it up is seen.
 */
export const AUTHORITY_GUARD_SQL = `SELECT state FROM ${META_TABLES.authority} WHERE id = 1 LOCK IN SHARE MODE`;

/** The outbox trigger refused a captured write: this database is not the authoritative one now. */
export function isNotAuthoritative(error: unknown): boolean {
  const e = error as { errno?: unknown; sqlMessage?: unknown; message?: unknown } | null;
  if (!e || e.errno !== 1644) return false;
  const text = typeof e.sqlMessage === 'string' ? e.sqlMessage : String(e.message);
  return text.includes(NOT_AUTHORITATIVE.message);
}

/** A lock wait that ran out (the statement failed; the transaction is still open). */
export function isLockTimeout(error: unknown): boolean {
  return (error as { errno?: unknown } | null)?.errno === 1205;
}

/**
 * Bounds the lock waits of the following statements of `trx` (whole seconds: InnoDB's granularity);
 * returns the function that puts the session's previous bound back.
 */
export async function boundLockWaits(trx: Knex.Transaction, ms: number): Promise<() => Promise<void>> {
  const [rows] = (await trx.raw('SELECT @@SESSION.innodb_lock_wait_timeout AS t')) as [{ t: number }[]];
  const previous = Number(rows[0]?.t ?? 50);
  await trx.raw(`SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(ms / 1000))}`);
  return async () => {
    await trx.raw(`SET SESSION innodb_lock_wait_timeout = ${previous}`);
  };
}

/** Columns of `table` that take generated ids (the AUTO_INCREMENT column, at most one). */
export async function identityColumns(knex: Knex, table: string): Promise<string[]> {
  const [rows] = (await knex.raw(
    `SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND EXTRA LIKE '%auto_increment%'`,
    [table],
  )) as [{ c: string }[]];
  return rows.map((r) => r.c);
}

/** The next AUTO_INCREMENT value as the server holds it now (SHOW CREATE TABLE is never cached). */
async function nextAutoIncrement(knex: Knex, table: string): Promise<bigint> {
  const [rows] = (await knex.raw('SHOW CREATE TABLE ??', [table])) as [Record<string, string>[]];
  const ddl = Object.values(rows[0] ?? {})[1] ?? '';
  const m = /AUTO_INCREMENT=(\d+)/.exec(ddl);
  return m ? BigInt(m[1] as string) : 1n;
}

/**
 * The largest id `table` holds or has handed out (its AUTO_INCREMENT counter minus one); undefined
 * when no column is AUTO_INCREMENT.
 */
export async function identityHigh(
  knex: Knex,
  table: string,
  columns: readonly string[],
): Promise<bigint | undefined> {
  const column = columns[0];
  if (!column) return undefined;
  const [rows] = (await knex.raw('SELECT MAX(??) AS m FROM ??', [column, table])) as [
    { m: string | number | null }[],
  ];
  const max = rows[0]?.m === null || rows[0]?.m === undefined ? 0n : BigInt(rows[0].m);
  const next = await nextAutoIncrement(knex, table);
  return max > next - 1n ? max : next - 1n;
}

/** Moves the AUTO_INCREMENT counter of `table` past `value` (never backwards). */
export async function moveIdentityPast(
  knex: Knex,
  table: string,
  columns: readonly string[],
  value: bigint,
): Promise<void> {
  if (columns.length === 0) return;
  if ((await nextAutoIncrement(knex, table)) > value) return;
  await knex.raw(`ALTER TABLE ?? AUTO_INCREMENT = ${(value + 1n).toString()}`, [table]);
}

/** This side's authority row, with the age of its last change by the server's clock. */
export const AUTHORITY_READ_SQL = `SELECT state, stage, epoch, TIMESTAMPDIFF(MICROSECOND, updated_at, NOW(6)) / 1000 AS age_ms
  FROM ${META_TABLES.authority} WHERE id = 1`;

/** The server's current time, for `updated_at`. */
export const NOW_SQL = 'NOW(6)';

/** Runs `body` with metadata-lock waits bounded (an ALTER waiting for open transactions stalls every later statement on the table). */
export async function withBoundedDdlWait<T>(
  knex: Knex,
  ms: number,
  body: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  return knex.transaction(async (trx) => {
    const [rows] = (await trx.raw('SELECT @@SESSION.lock_wait_timeout AS t')) as [{ t: number }[]];
    await trx.raw(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(ms / 1000))}`);
    try {
      return await body(trx);
    } finally {
      await trx.raw(`SET SESSION lock_wait_timeout = ${Number(rows[0]?.t ?? 31536000)}`);
    }
  });
}
