import type { Knex } from 'knex';
import { LOCK_BUCKETS, META_TABLES } from '../meta/tables.js';
import { dialectFor } from '../dialect/dialects.js';
import type { Side } from '../dialect/side.js';
import { keyText } from '../keys/codec.js';
import type { KeyTuple } from '../translate/types.js';

// The key codec lives in keys/codec; re-exported for the modules that lock and store keys.
export { keyText, parseKeyText } from '../keys/codec.js';

/**
 * Lock bucket of (table, key): FNV-1a of `table \0 keyText` modulo LOCK_BUCKETS. Stable across
 * processes and versions — every process must agree, or two syncs of one key would not exclude each other.
 */
export function lockBucket(table: string, key: KeyTuple): number {
  return bucketOfText(fnv(0x811c9dc5, `${table}\u0000`), keyText(key));
}

function fnv(seed: number, text: string): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** lockBucket from the FNV state of `table \0` and the key's text (the same hash, computed once per table). */
function bucketOfText(tableState: number, text: string): number {
  return fnv(tableState, text) % LOCK_BUCKETS;
}

/** Distinct buckets of the keys, ascending: the order every sync locks them in, so syncs never deadlock. */
export function bucketsFor(table: string, keys: readonly KeyTuple[]): number[] {
  return bucketsOfKeyTexts(
    table,
    keys.map((k) => keyText(k)),
  );
}

/** bucketsFor from the keys' texts (see keyText). */
export function bucketsOfKeyTexts(table: string, texts: Iterable<string>): number[] {
  const state = fnv(0x811c9dc5, `${table}\u0000`);
  const seen = new Uint8Array(LOCK_BUCKETS);
  for (const text of texts) seen[bucketOfText(state, text)] = 1;
  const out: number[] = [];
  for (let b = 0; b < LOCK_BUCKETS; b++) if (seen[b]) out.push(b);
  return out;
}

/**
 * Row-locks the buckets inside the target transaction `trx`, in ascending order: exclusively, or in
 * share mode (`shared`), which waits for and blocks exclusive holders but not other shared ones.
 */
export async function lockBuckets(
  trx: Knex.Transaction,
  side: Side,
  buckets: readonly number[],
  shared = false,
): Promise<void> {
  if (buckets.length === 0) return;
  const mode = dialectFor(side).lockClause(shared ? 'shared' : 'exclusive');
  await trx.raw(
    `SELECT bucket FROM ${META_TABLES.lock} WHERE bucket IN (${buckets.join(',')}) ORDER BY bucket ${mode}`,
  );
}
