import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import type { RawKey } from './keys.js';
import { rowsOf } from './keys.js';

/** Which walk of a table a checkpoint is in. */
export const BackfillPhase = {
  /** Walking the source's keys and syncing them. */
  Copy: 'copy',
  /** Walking the target's keys to find rows the source no longer has. */
  TargetOnly: 'target-only',
} as const;
export type BackfillPhase = (typeof BackfillPhase)[keyof typeof BackfillPhase];

/** Progress of one table, stored as `backfill.<table>` in dualwrite_state after every batch. */
export interface BackfillCheckpoint {
  /** Last key synced in the current phase (raw values of the side being walked); null before the first batch. */
  lastKey: RawKey | null;
  /** Source keys synced so far. */
  rowsDone: number;
  /** Source row count when the table started (a snapshot: live writes move it). */
  total: number;
  /** True once both phases finished and sequences were reset. The flip safety check reads it. */
  done: boolean;
  startedAt: string;
  finishedAt: string | null;
  phase: BackfillPhase;
  /** Whether the target table was empty when the backfill started (then it can hold no target-only rows). */
  targetEmptyAtStart: boolean;
  /** Target-only keys deleted so far. */
  deleted: number;
  /** Keys put in quarantine by the syncer. */
  quarantined: number;
  /**
   * Batches already synced beyond `lastKey` (when several batches are in flight, they complete out of
   * order), in walk order: keys after `from` up to `to`. A resumed run skips them.
   */
  ahead?: KeyRange[];
}

/** Keys after `from` (exclusive; null = the start) up to `to` (inclusive), `rows` of them. */
export interface KeyRange {
  from: RawKey | null;
  to: RawKey;
  rows: number;
}

export function checkpointName(table: string): string {
  return `backfill.${table}`;
}

/** Key values survive JSON: Buffers (binary keys) as `{ $hex }`, everything else as is. */
function encodeKey(key: RawKey | null): unknown {
  if (!key) return null;
  return key.map((v) => (Buffer.isBuffer(v) ? { $hex: v.toString('hex') } : v));
}

/** Whether two raw keys (or two starts, null) are the same values. */
export function sameKey(a: RawKey | null, b: RawKey | null): boolean {
  return JSON.stringify(encodeKey(a)) === JSON.stringify(encodeKey(b));
}

function decodeKey(value: unknown): RawKey | null {
  if (!Array.isArray(value)) return null;
  return value.map((v) =>
    v && typeof v === 'object' && typeof (v as { $hex?: unknown }).$hex === 'string'
      ? Buffer.from((v as { $hex: string }).$hex, 'hex')
      : v,
  );
}

/**
 * Reads and writes backfill checkpoints in dualwrite_state (kept in PostgreSQL, the database the
 * migration ends on, whichever direction is being backfilled).
 */
export class CheckpointStore {
  readonly #pg: Knex;

  constructor(pg: Knex) {
    this.#pg = pg;
  }

  async read(table: string): Promise<BackfillCheckpoint | null> {
    const rows = rowsOf(
      await this.#pg.raw('SELECT value FROM ?? WHERE name = ?', [META_TABLES.state, checkpointName(table)]),
    );
    const raw = rows[0]?.['value'];
    if (raw === undefined || raw === null) return null;
    const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as BackfillCheckpoint & {
      lastKey: unknown;
    };
    return { ...parsed, lastKey: decodeKey(parsed.lastKey) };
  }

  async write(table: string, checkpoint: BackfillCheckpoint): Promise<void> {
    const value = JSON.stringify({
      ...checkpoint,
      lastKey: encodeKey(checkpoint.lastKey),
      ahead: (checkpoint.ahead ?? []).map((r) => ({
        from: encodeKey(r.from),
        to: encodeKey(r.to),
        rows: r.rows,
      })),
    });
    await this.#pg.raw(
      `INSERT INTO ?? (name, value, updated_at) VALUES (?, ?, now())
       ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [META_TABLES.state, checkpointName(table), value],
    );
  }

  async clear(table: string): Promise<void> {
    await this.#pg.raw('DELETE FROM ?? WHERE name = ?', [META_TABLES.state, checkpointName(table)]);
  }
}
