import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Knex } from 'knex';
import pgCopy from 'pg-copy-streams';
import type pg from 'pg';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { keyText } from './buckets.js';
import { bindValue, pgArrayLiteral, placeholders, quoteIdent } from './sql.js';

const q = (name: string): string => quoteIdent('postgres', name);

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

/** Keys per statement of existingKeys. */
const EXISTING_CHUNK = 10_000;

/** PostgreSQL types of single-column keys whose order node can reproduce (see keyOrder). */
const ORDERED_KEY_TYPES: Record<string, (a: unknown, b: unknown) => number> = {
  // uuid compares its 16 bytes: the order of the lower-case hex text.
  uuid: (a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0),
  smallint: compareIntegers,
  integer: compareIntegers,
  bigint: compareIntegers,
};

function compareIntegers(a: unknown, b: unknown): number {
  const x = BigInt(String(a));
  const y = BigInt(String(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/** PostgreSQL type of each table's single key column, looked up once per translator. */
const keyTypes = new WeakMap<RowTranslator, Promise<string | null>>();

function keyOrder(trx: Knex.Transaction, tr: RowTranslator): Promise<string | null> {
  let type = keyTypes.get(tr);
  if (!type) {
    type =
      tr.primaryKey.length !== 1
        ? Promise.resolve(null)
        : trx
            .raw(
              `SELECT format_type(atttypid, NULL) AS t FROM pg_attribute
               WHERE attrelid = to_regclass(?) AND attname = ? AND NOT attisdropped`,
              [q(tr.table), tr.primaryKey[0]!],
            )
            .then((r: { rows: { t: string }[] }) => r.rows[0]?.t ?? null);
    keyTypes.set(tr, type);
    // A failed lookup is not cached.
    type.catch(() => keyTypes.delete(tr));
  }
  return type;
}

/**
 * Of `keys` (canonical keys), those that exist in the table on PostgreSQL, as canonical key text (see
 * keyText); `toTarget` gives a key's values in PostgreSQL's form, undefined when it cannot have any
 * there. A uuid or integer key is looked up as the range between the smallest and the largest key (one
 * index range scan; keys of that range outside `keys` do no harm); other keys by `= ANY(array)`
 * probes, composite keys by row values.
 */
export async function existingKeys(
  trx: Knex.Transaction,
  tr: RowTranslator,
  keys: ReadonlyMap<string, KeyTuple>,
  toTarget: (key: KeyTuple) => unknown[] | undefined,
): Promise<Set<string>> {
  const pk = tr.primaryKey;
  const found = new Set<string>();
  const cols = pk.map(q).join(', ');
  const add = (rows: Row[]): void => {
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
  const compare = ORDERED_KEY_TYPES[(await keyOrder(trx, tr)) ?? ''];
  if (compare) {
    // Canonical uuids (lower case) and integers are already in PostgreSQL's form: no conversion per key.
    let lo: KeyTuple | undefined;
    let hi: KeyTuple | undefined;
    try {
      for (const k of keys.values()) {
        if (lo === undefined || compare(k[0], lo[0]) < 0) lo = k;
        if (hi === undefined || compare(k[0], hi[0]) > 0) hi = k;
      }
    } catch {
      lo = hi = undefined; // not an integer after all: probe key by key
    }
    const from = lo && toTarget(lo);
    const to = hi && toTarget(hi);
    if (from && to) {
      const result = (await trx.raw(`SELECT ${cols} FROM ${q(tr.table)} WHERE ${cols} BETWEEN ? AND ?`, [
        from[0],
        to[0],
      ] as Knex.RawBinding[])) as { rows: Row[] };
      add(result.rows);
      return found;
    }
    // A key PostgreSQL cannot hold at an end of the range: probe the others one by one below.
  }
  const all = [...keys.values()].map(toTarget).filter((k): k is unknown[] => k !== undefined);
  for (let i = 0; i < all.length; i += EXISTING_CHUNK) {
    const part = all.slice(i, i + EXISTING_CHUNK);
    const result = (
      pk.length === 1
        ? await trx.raw(`SELECT ${cols} FROM ${q(tr.table)} WHERE ${cols} = ANY(?)`, [
            pgArrayLiteral(part.map((k) => keyLiteral(k[0]))),
          ])
        : await trx.raw(
            `SELECT ${cols} FROM ${q(tr.table)} WHERE (${cols}) IN (${part.map(() => placeholders(pk.length)).join(', ')})`,
            part.flatMap((k) => k.map((v) => bindValue(v, 'postgres'))) as Knex.RawBinding[],
          )
    ) as { rows: Row[] };
    add(result.rows);
  }
  return found;
}

/** A key value as text PostgreSQL reads back as the same value (bytea as hex). */
function keyLiteral(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  return value;
}
