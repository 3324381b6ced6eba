import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Knex } from 'knex';
import pgCopy from 'pg-copy-streams';
import type pg from 'pg';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { keyStep } from '../keys/errors.js';
import { keyColumnsOf, selectByKeys } from '../keys/lookup.js';
import { keyText } from './buckets.js';
import { pgArrayLiteral, quoteIdent as q } from '../dialect/postgres/sql.js';
import { placeholders } from '../dialect/sql.js';

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value in COPY text format: `\N` for NULL, backslash escapes for the separators. */
export function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'boolean') s = value ? 't' : 'f';
  else if (Buffer.isBuffer(value)) s = `\\x${value.toString('hex')}`;
  else if (value instanceof Date) s = value.toISOString();
  else if (Array.isArray(value)) s = pgArrayLiteral(value);
  else if (typeof value === 'object') s = JSON.stringify(value);
  else s = String(value);
  return COPY_SPECIAL.test(s) ? s.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]!) : s;
}

/**
 * An open `COPY table (columns) FROM STDIN` (text format) on the connection of `trx`: rows are appended
 * as lines and sent in 64 KiB chunks while the caller goes on; `flush()` waits when PostgreSQL lags
 * behind (backpressure), `end()` completes the COPY, `abort()` cancels it. Plain inserts: a row whose
 * key exists fails the COPY (unique violation). Identity column values are kept, as with
 * INSERT ... OVERRIDING SYSTEM VALUE.
 */
export class CopyIn {
  readonly #stream: Writable;
  readonly #columns: readonly string[];
  #buf = '';
  #error: { error: unknown } | null = null;
  /** Rows added. */
  rows = 0;

  private constructor(stream: Writable, columns: readonly string[]) {
    this.#stream = stream;
    this.#columns = columns;
    // Recorded here, thrown by flush()/end(): an error must never go unhandled between two calls.
    stream.on('error', (error) => (this.#error ??= { error }));
  }

  static async open(trx: Knex.Transaction, table: string, columns: readonly string[]): Promise<CopyIn> {
    // Inside a transaction knex hands out the transaction's own connection.
    const conn = (await trx.client.acquireConnection()) as pg.PoolClient;
    const stream = conn.query(pgCopy.from(`COPY ${q(table)} (${columns.map(q).join(', ')}) FROM STDIN`));
    return new CopyIn(stream, columns);
  }

  add(row: Row): void {
    const columns = this.#columns;
    let line = copyText(row[columns[0]!]);
    for (let i = 1; i < columns.length; i++) line += `\t${copyText(row[columns[i]!])}`;
    this.#buf += `${line}\n`;
    this.rows++;
    if (this.#buf.length >= 1 << 16) {
      this.#stream.write(this.#buf);
      this.#buf = '';
    }
  }

  /** Waits while PostgreSQL has not taken the data sent so far; throws the COPY's error. */
  async flush(): Promise<void> {
    if (this.#error) throw this.#error.error;
    if (this.#stream.writableNeedDrain) await once(this.#stream, 'drain');
  }

  /** Sends the rest and completes the COPY (its rows are then visible in the transaction). */
  async end(): Promise<void> {
    if (this.#error) throw this.#error.error;
    if (this.#buf) this.#stream.write(this.#buf);
    this.#buf = '';
    this.#stream.end();
    await finished(this.#stream);
  }

  /** Cancels the COPY (the transaction is then failed); never throws. */
  async abort(): Promise<void> {
    if (!this.#stream.writableFinished && !this.#stream.destroyed) this.#stream.destroy();
    await finished(this.#stream).catch(() => undefined);
  }
}

/** COPYs `rows` into `table` inside `trx` (see CopyIn). */
export async function copyRows(
  trx: Knex.Transaction,
  table: string,
  columns: readonly string[],
  rows: readonly Row[],
): Promise<void> {
  if (rows.length === 0) return;
  const copy = await CopyIn.open(trx, table, columns);
  try {
    for (const row of rows) {
      copy.add(row);
      if (copy.rows % 1000 === 0) await copy.flush();
    }
    await copy.end();
  } catch (error) {
    await copy.abort();
    throw error;
  }
}

/** Staging tables already filled in a transaction. */
const usedStaging = new WeakMap<Knex.Transaction, Set<string>>();

/**
 * Upserts many rows into a PostgreSQL table through COPY: rows are streamed into a temporary staging
 * table and merged with one INSERT ... SELECT ... ON CONFLICT DO UPDATE. Runs inside
 * the caller's transaction `trx`, so it sits within the same bucket locks as the row-by-row path.
 */
export async function copyUpsert(
  trx: Knex.Transaction,
  table: string,
  primaryKey: readonly string[],
  columns: readonly string[],
  rows: readonly Row[],
): Promise<void> {
  if (rows.length === 0) return;
  const cols = columns.map(q).join(', ');
  // One staging table per session, table and column list, emptied at each commit: a long backfill does
  // not create and drop a catalog entry per batch.
  const staging = `dualwrite_stage_${createHash('sha1')
    .update(`${table}\u0000${columns.join('\u0000')}`)
    .digest('hex')
    .slice(0, 16)}`;
  await trx.raw(
    `CREATE TEMP TABLE IF NOT EXISTS ${q(staging)} ON COMMIT DELETE ROWS AS SELECT ${cols} FROM ${q(table)} WITH NO DATA`,
  );
  // Rows of an earlier COPY in this same transaction are still there until commit.
  const used = usedStaging.get(trx) ?? new Set<string>();
  if (used.has(staging)) await trx.raw(`TRUNCATE ${q(staging)}`);
  used.add(staging);
  usedStaging.set(trx, used);
  await copyRows(trx, staging, columns, rows);
  const nonKey = columns.filter((c) => !primaryKey.includes(c));
  const onConflict =
    nonKey.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${nonKey.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}`;
  await trx.raw(
    `INSERT INTO ${q(table)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${q(staging)}
     ON CONFLICT (${primaryKey.map(q).join(', ')}) ${onConflict}`,
  );
}

type Compare = (a: unknown, b: unknown) => number;

const compareText: Compare = (a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0);

function compareIntegers(a: unknown, b: unknown): number {
  const x = BigInt(String(a));
  const y = BigInt(String(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * How canonical key values of a PostgreSQL key column compare in PostgreSQL's own order, for the types
 * whose canonical form JS can order exactly; null for the others (text follows a collation).
 */
function orderOf(pgType: string): Compare | null {
  // uuid compares its 16 bytes: the order of the lower-case hex text.
  if (pgType === 'uuid') return compareText;
  if (/^(smallint|integer|bigint|numeric\(\d+,0\))$/.test(pgType)) return compareIntegers;
  // Canonical dates and timestamps are fixed-width UTC text (`YYYY-MM-DD[ HH:MM:SS.ffffff]`).
  if (pgType === 'date' || pgType.startsWith('timestamp')) return compareText;
  return null;
}

/**
 * Of `keys` (canonical keys), those that exist in the table on PostgreSQL, as canonical key text (see
 * keyText); `toTarget` gives a key's values in PostgreSQL's form, undefined when it cannot have any
 * there. When the keys are a run of the walk (`contiguous`: a backfill batch, every key between its
 * first and last) and their leading columns order alike in JS and PostgreSQL (integers, uuids, dates,
 * timestamps), they are looked up as the range of those columns between the smallest and the largest
 * key (one index range scan; keys of that range outside `keys` do no harm; on a prefix of the key, at
 * most four times the keys' rows are read); other keys by a join with the keys (keys/lookup), which
 * does not read the rows between sparse keys.
 */
export async function existingKeys(
  trx: Knex.Transaction,
  tr: RowTranslator,
  keys: ReadonlyMap<string, KeyTuple>,
  toTarget: (key: KeyTuple) => unknown[] | undefined,
  contiguous = false,
): Promise<Set<string>> {
  const pk = tr.primaryKey;
  const found = new Set<string>();
  const add = (rows: readonly Row[]): void => {
    for (const r of rows) {
      found.add(
        keyText(
          tr.canonicalKey(
            pk.map((c) => r[c]),
            'postgres',
          ),
        ),
      );
    }
  };
  const target = { db: trx, side: 'postgres' as const, translator: tr };
  const orders = contiguous ? (await keyColumnsOf(trx, 'postgres', tr)).map((c) => orderOf(c.type)) : [];
  // The leading key columns that order alike in JS and PostgreSQL: the range is taken on them.
  let prefix = 0;
  while (prefix < orders.length && orders[prefix]) prefix++;
  if (contiguous && prefix > 0) {
    const compare = (a: KeyTuple, b: KeyTuple): number => {
      for (let i = 0; i < prefix; i++) {
        const c = orders[i]!(a[i], b[i]);
        if (c !== 0) return c;
      }
      return 0;
    };
    // Canonical uuids (lower case), integers and dates are already in PostgreSQL's form: no conversion per key.
    let lo: KeyTuple | undefined;
    let hi: KeyTuple | undefined;
    try {
      for (const k of keys.values()) {
        if (lo === undefined || compare(k, lo) < 0) lo = k;
        if (hi === undefined || compare(k, hi) > 0) hi = k;
      }
    } catch {
      lo = hi = undefined; // not an integer after all: look the keys up one by one
    }
    const from = lo && toTarget(lo)?.slice(0, prefix);
    const to = hi && toTarget(hi)?.slice(0, prefix);
    if (from && to) {
      const cols = pk.map(q).join(', ');
      const range = pk.slice(0, prefix).map(q).join(', ');
      const row = placeholders(prefix);
      const where =
        prefix === 1 ? `${range} BETWEEN ? AND ?` : `(${range}) >= ${row} AND (${range}) <= ${row}`;
      // On a prefix of the key, the range may hold many rows of other batches (a leading column with few
      // values): past a few times the batch's keys, the keys are looked up by join instead.
      const limit = prefix === pk.length ? null : 4 * keys.size;
      const result = (await keyStep(tr.table, 'look up target keys by range', [lo!, hi!], () =>
        trx.raw(
          `SELECT ${cols} FROM ${q(tr.table)} WHERE ${where}${limit === null ? '' : ` LIMIT ${limit + 1}`}`,
          [...from, ...to] as Knex.RawBinding[],
        ),
      )) as { rows: Row[] };
      if (limit === null || result.rows.length <= limit) {
        add(result.rows);
        return found;
      }
    }
    // A key PostgreSQL cannot hold at an end of the range, or too wide a range: look the keys up below.
  }
  const all = [...keys.values()].map(toTarget).filter((k): k is unknown[] => k !== undefined);
  add(await selectByKeys(target, all, pk, 'look up target keys'));
  return found;
}
