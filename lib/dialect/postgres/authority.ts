import type { Knex } from 'knex';
import { META_TABLES, NOT_AUTHORITATIVE } from '../../meta/tables.js';

/**
 * Reads this side's authority row with a share lock held to the end of the transaction: a side that
 * gives the role up waits for the transaction, and one that gave it up is seen.
 */
export const AUTHORITY_GUARD_SQL = `SELECT state FROM ${META_TABLES.authority} WHERE id = 1 FOR SHARE`;

/** The outbox trigger refused a captured write: this database is not the authoritative one now. */
export function isNotAuthoritative(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === NOT_AUTHORITATIVE.pgCode;
}

/** A lock wait that ran out (lock_timeout). */
export function isLockTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '55P03';
}

/** Bounds the lock waits of the following statements of `trx` (to its end); the returned function is a no-op. */
export async function boundLockWaits(trx: Knex.Transaction, ms: number): Promise<() => Promise<void>> {
  await trx.raw(`SET LOCAL lock_timeout = '${Math.max(1, Math.round(ms))}ms'`);
  return () => Promise.resolve();
}

interface SequenceColumn {
  column: string;
  seq: string;
}

/** Columns of `table` that take their default from a sequence (serial, identity), as `column\tsequence`. */
export async function identityColumns(pg: Knex, table: string): Promise<string[]> {
  return (await sequenceColumns(pg, table)).map((c) => `${c.column}\t${c.seq}`);
}

const parse = (columns: readonly string[]): SequenceColumn[] =>
  columns.map((c) => {
    const [column, seq] = c.split('\t') as [string, string];
    return { column, seq };
  });

async function sequenceColumns(pg: Knex, table: string): Promise<SequenceColumn[]> {
  const res = (await pg.raw(
    `SELECT a.attname AS col, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relname = ? AND c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  )) as { rows: { col: string; seq: string | null }[] };
  return res.rows.flatMap((r) => (typeof r.seq === 'string' ? [{ column: r.col, seq: r.seq }] : []));
}

/**
 * The largest id `table` holds or its sequences handed out; undefined when no column takes its
 * default from a sequence.
 */
export async function identityHigh(
  pg: Knex,
  table: string,
  columns: readonly string[],
): Promise<bigint | undefined> {
  let high: bigint | undefined;
  for (const { column, seq } of parse(columns)) {
    const res = (await pg.raw(
      `SELECT GREATEST((SELECT COALESCE(MAX(??), 0)::bigint FROM ??),
                       CASE WHEN s.is_called THEN s.last_value ELSE 0 END)::text AS v
         FROM ${seq} s`,
      [column, table],
    )) as { rows: { v: string }[] };
    const v = BigInt(res.rows[0]?.v ?? '0');
    if (high === undefined || v > high) high = v;
  }
  return high;
}

/** Moves every sequence feeding a column of `table` past `value` and past the column's largest value (never backwards). */
export async function moveIdentityPast(
  pg: Knex,
  table: string,
  columns: readonly string[],
  value: bigint,
): Promise<void> {
  if (columns.length === 0) return;
  // setval is not atomic with concurrent nextval: an insert between reading last_value and setting it
  // would move the sequence back (a late process finishing a move the side already took). Inserts take
  // ROW EXCLUSIVE on the table before their defaults run, so SHARE keeps them out meanwhile.
  await pg.raw('LOCK TABLE ?? IN SHARE MODE', [table]);
  for (const { column, seq } of parse(columns)) {
    await pg.raw(
      // Only forwards: set when the target is past the last value handed out; the next id follows it.
      `SELECT setval(?::regclass, GREATEST(m.v, ?::bigint), true)
         FROM (SELECT COALESCE(MAX(??), 0)::bigint AS v FROM ??) m, ${seq} s
        WHERE GREATEST(m.v, ?::bigint) > CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END`,
      [seq, value.toString(), column, table, value.toString()],
    );
  }
}

/** This side's authority row, with the age of its last change by the server's clock. */
export const AUTHORITY_READ_SQL = `SELECT state, stage, epoch, EXTRACT(EPOCH FROM (clock_timestamp() - updated_at)) * 1000 AS age_ms
  FROM ${META_TABLES.authority} WHERE id = 1`;

/** The server's current time, for `updated_at`. */
export const NOW_SQL = 'clock_timestamp()';

/** Runs `body` in a transaction with lock waits bounded (the table lock of a sequence move). */
export async function withBoundedDdlWait<T>(
  knex: Knex,
  ms: number,
  body: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  return knex.transaction(async (trx) => {
    await boundLockWaits(trx, ms);
    return body(trx);
  });
}
