import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import pgCopy from 'pg-copy-streams';
import type pg from 'pg';
import type { Row } from '../translate/types.js';
import { pgArrayLiteral, quoteIdent } from './sql.js';

const q = (name: string): string => quoteIdent('postgres', name);

/** One value in COPY text format: `\N` for NULL, backslash escapes for the separators. */
export function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  let s: string;
  if (typeof value === 'boolean') s = value ? 't' : 'f';
  else if (Buffer.isBuffer(value)) s = `\\x${value.toString('hex')}`;
  else if (value instanceof Date) s = value.toISOString();
  else if (Array.isArray(value)) s = pgArrayLiteral(value);
  else if (typeof value === 'object') s = JSON.stringify(value);
  else s = String(value);
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
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
  // Inside a transaction knex hands out the transaction's own connection.
  const conn = (await trx.client.acquireConnection()) as pg.PoolClient;
  const stream = conn.query(pgCopy.from(`COPY ${q(staging)} (${cols}) FROM STDIN`));
  async function* lines(): AsyncGenerator<string> {
    let buf = '';
    for (const row of rows) {
      buf += `${columns.map((c) => copyText(row[c])).join('\t')}\n`;
      if (buf.length > 1 << 16) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  await pipeline(Readable.from(lines()), stream);
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
