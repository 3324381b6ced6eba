import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { parseKeyText } from '../keys/codec.js';
import { selectByKeys } from '../keys/lookup.js';
import { keyText } from '../sync/buckets.js';

export { keyText };
import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';

const BATCH = 500;

/**
 * Keys (as keyText) still waiting in the outboxes of `outboxes` (normally both databases: right after a
 * flip the newest write of a key can be pending on either side): their latest write has not reached
 * the other side yet, so a difference is expected until they sync.
 */
export async function pendingKeys(
  outboxes: readonly Knex[],
  table: string,
  keys: readonly KeyTuple[],
): Promise<Set<string>> {
  const pending = new Set<string>();
  for (const db of outboxes) {
    for (let i = 0; i < keys.length; i += BATCH) {
      const texts = keys.slice(i, i + BATCH).map(keyText);
      const rows = (await db(META_TABLES.outbox)
        .distinct('pk')
        .where('table_name', table)
        .whereIn('pk', texts)) as { pk: string }[];
      for (const r of rows) pending.add(keyText(parseKeyText(r.pk)));
    }
  }
  return pending;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
}

/** Polls until none of `keys` is pending or the time is up; returns the keys still pending. */
export async function waitForSync(
  outboxes: readonly Knex[],
  table: string,
  keys: readonly KeyTuple[],
  options: WaitOptions,
): Promise<Set<string>> {
  const deadline = Date.now() + options.timeoutMs;
  let pending = await pendingKeys(outboxes, table, keys);
  while (pending.size > 0 && Date.now() < deadline) {
    await sleep(options.intervalMs);
    pending = await pendingKeys(
      outboxes,
      table,
      keys.filter((k) => pending.has(keyText(k))),
    );
  }
  return pending;
}

/** Reads the rows of `keys` on `side` (only `columns`, which must include the primary key). */
export async function readByKeys(
  db: Knex,
  translator: RowTranslator,
  side: Side,
  keys: readonly KeyTuple[],
  columns: readonly string[],
): Promise<Row[]> {
  const values = keys.map((k) => translator.keyForSide(k, side));
  return selectByKeys({ db, side, translator }, values, columns, 're-read rows by key');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The newest outbox id of `db` (0 when empty): entries up to it were written before now. */
export async function outboxWatermark(db: Knex): Promise<number> {
  const row = (await db(META_TABLES.outbox).max({ id: 'id' }).first()) as { id: unknown } | undefined;
  return Number(row?.id ?? 0);
}

/**
 * Whether an entry of `tables` is waiting in any of `outboxes` (with `upTo`, only entries with an id up
 * to that outbox's watermark count: the ones written before it was taken).
 */
export async function tablesPending(
  outboxes: readonly Knex[],
  tables: readonly string[] | null,
  upTo?: readonly number[],
): Promise<boolean> {
  const found = await Promise.all(
    outboxes.map(async (db, i) => {
      const query = db(META_TABLES.outbox).select('id');
      if (tables) query.whereIn('table_name', [...tables]);
      const limit = upTo?.[i];
      if (limit !== undefined) query.where('id', '<=', limit);
      return (await query.first()) !== undefined;
    }),
  );
  return found.some(Boolean);
}
