import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { dialectFor } from '../dialect/dialects.js';
import type { Side } from '../dialect/side.js';
import { chunks } from '../dialect/sql.js';
import type { KeyTuple } from '../translate/types.js';
import { keyText, parseKeyText } from './buckets.js';

const OUTBOX = META_TABLES.outbox;

/** One claimed outbox row. */
export interface OutboxRow {
  id: string;
  table: string;
  key: KeyTuple;
  attempts: number;
  /** Age of the row when it was claimed, ms (measured by the database clock). */
  ageMs: number;
}

/**
 * Records keys in the outbox of `db` (pass the app's transaction so the keys commit with the write).
 * Keys must be canonical KeyTuples (RowTranslator.canonicalKey).
 */
export async function enqueueKeys(db: Knex, table: string, keys: readonly KeyTuple[]): Promise<void> {
  for (const part of chunks(keys, 1000)) {
    await db(OUTBOX).insert(part.map((k) => ({ table_name: table, pk: keyText(k) })));
  }
}

/** Claims up to `limit` due rows, oldest first, skipping rows other workers hold. Run inside `trx`. */
export async function claimOutbox(trx: Knex.Transaction, side: Side, limit: number): Promise<OutboxRow[]> {
  const dialect = dialectFor(side);
  const result = await trx.raw(
    `SELECT id, table_name, pk, attempts, ${dialect.ageMs('created_at')} AS age_ms FROM ${dialect.claimSource(OUTBOX)}
     WHERE available_at <= ${dialect.clock} ORDER BY id LIMIT ${Math.floor(limit)} FOR UPDATE SKIP LOCKED`,
  );
  const rows = dialect.rows(result) as unknown as {
    id: string | number;
    table_name: string;
    pk: string;
    attempts: number;
    age_ms: string | number;
  }[];
  return rows.map((r) => ({
    id: String(r.id),
    table: r.table_name,
    key: parseKeyText(r.pk),
    attempts: Number(r.attempts),
    ageMs: Math.max(0, Number(r.age_ms)),
  }));
}

export async function deleteOutboxRows(trx: Knex.Transaction, ids: readonly string[]): Promise<void> {
  for (const part of chunks(ids, 1000)) await trx(OUTBOX).whereIn('id', part).del();
}

/** Schedules rows again after `delayMs`, counting the attempt and keeping the error. */
export async function retryOutboxRows(
  trx: Knex.Transaction,
  side: Side,
  ids: readonly string[],
  delayMs: number,
  error: string,
): Promise<void> {
  const due = dialectFor(side).clockPlusMs(trx, delayMs);
  for (const part of chunks(ids, 1000)) {
    await trx(OUTBOX)
      .whereIn('id', part)
      .update({ attempts: trx.raw('attempts + 1'), available_at: due, last_error: error.slice(0, 4000) });
  }
}

/** Whether any row is due (not backing off): the idle poll's cheap look before a claim transaction. */
export async function outboxHasDue(db: Knex, side: Side): Promise<boolean> {
  const row = await db(OUTBOX)
    .select(db.raw('1 AS due'))
    .where('available_at', '<=', db.raw(dialectFor(side).clock))
    .first();
  return row !== undefined;
}

/** Rows waiting in the outbox of `db` (claimed or not, due or not). */
export async function outboxBacklog(db: Knex): Promise<number> {
  const row = (await db(OUTBOX).count({ n: '*' }).first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}
