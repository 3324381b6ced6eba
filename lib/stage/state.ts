import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';

import { LAST_MISMATCH_STATE } from '../shadow/reader.js';
import { LAST_VERIFY_STATE } from '../verify/verify.js';

/** Names in dualwrite_state that the flip reads (written by shadow, verify and backfill) or writes. */
export const StateName = {
  /** Epoch ms (or ISO time, or `{ at }`) of the newest shadow-read mismatch. */
  lastMismatch: LAST_MISMATCH_STATE,
  /** `{ at, clean }` of the last verification. */
  lastVerify: LAST_VERIFY_STATE,
  /** `backfill.<table>`: `{ done: boolean }`. */
  backfillPrefix: 'backfill.',
  /** `{ to, until }`: a forced flip to `to` authorised until `until` (epoch ms), set by `dualwrite stage --force`. */
  flipForce: 'flip.force',
} as const;

/** Reads state entries (parsed JSON) from dualwrite_state; names missing are absent from the map. */
export async function readStateEntries(
  db: Knex,
  names: readonly string[],
  prefix?: string,
): Promise<Map<string, unknown>> {
  const query = db(META_TABLES.state).select('name', 'value');
  query.where((w) => {
    w.whereIn('name', [...names]);
    if (prefix) w.orWhere('name', 'like', `${prefix}%`);
  });
  const rows = (await query) as { name: string; value: string }[];
  const out = new Map<string, unknown>();
  for (const row of rows) {
    try {
      out.set(row.name, JSON.parse(row.value));
    } catch {
      out.set(row.name, row.value);
    }
  }
  return out;
}

/** A time stored as epoch ms, an ISO string, or an object with `at`; undefined when unreadable. */
export function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? (/^\d+$/.test(value) ? Number(value) : undefined) : t;
  }
  if (value && typeof value === 'object' && 'at' in value) return timeOf((value as { at: unknown }).at);
  return undefined;
}
