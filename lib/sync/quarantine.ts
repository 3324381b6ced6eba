import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import type { KeyTuple } from '../translate/types.js';
import { keyText, parseKeyText } from './buckets.js';
import { chunks } from '../dialect/sql.js';

/** A key whose current image cannot be written to the target, and why. */
export interface QuarantineEntry {
  table: string;
  key: KeyTuple;
  /** `mysql->postgres` or `postgres->mysql`. */
  direction: string;
  /** ValueProblem code, or `sync_failed` for keys that failed all their attempts. */
  code: string;
  column?: string;
  reason: string;
}

export interface QuarantineRecord extends QuarantineEntry {
  id: number;
  createdAt: string;
  resolvedAt: string | null;
}

/**
 * The quarantine table in PostgreSQL (operational state lives there). One open entry per table+key:
 * recording a key again refreshes its reason; a later successful sync of the key resolves it.
 */
export class QuarantineStore {
  readonly #pg: Knex;

  constructor(pg: Knex) {
    this.#pg = pg;
  }

  /** `db`: run inside this PostgreSQL transaction instead of the store's pool. */
  async record(entries: readonly QuarantineEntry[], db: Knex = this.#pg): Promise<void> {
    for (const part of chunks(entries, 500)) {
      await db.raw(
        `INSERT INTO ${META_TABLES.quarantine} (table_name, pk, direction, code, column_name, reason)
         VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (table_name, pk) WHERE resolved_at IS NULL DO UPDATE
         SET direction = EXCLUDED.direction, code = EXCLUDED.code, column_name = EXCLUDED.column_name,
             reason = EXCLUDED.reason`,
        part.flatMap((e) => [e.table, keyText(e.key), e.direction, e.code, e.column ?? null, e.reason]),
      );
    }
  }

  /** Whether `table` has any open entry: when it has none, a sync has nothing to resolve. */
  async hasOpen(table: string, db: Knex = this.#pg): Promise<boolean> {
    const row = (await db(META_TABLES.quarantine)
      .where({ table_name: table })
      .whereNull('resolved_at')
      .first(db.raw('1 AS one'))) as unknown;
    return row !== undefined;
  }

  /** Marks open entries of these keys resolved (their current image synced). Returns how many. */
  async resolve(table: string, keys: readonly KeyTuple[], db: Knex = this.#pg): Promise<number> {
    let n = 0;
    for (const part of chunks(keys, 1000)) {
      n += await db(META_TABLES.quarantine)
        .where({ table_name: table })
        .whereNull('resolved_at')
        .whereIn('pk', part.map(keyText))
        .update({ resolved_at: db.raw('clock_timestamp()') });
    }
    return n;
  }

  /** Open entries, oldest first (optionally of one table). */
  async listOpen(table?: string): Promise<QuarantineRecord[]> {
    const q = this.#pg(META_TABLES.quarantine).whereNull('resolved_at').orderBy('id');
    if (table !== undefined) q.where({ table_name: table });
    const rows = (await q.select('*')) as {
      id: string | number;
      table_name: string;
      pk: string;
      direction: string;
      code: string;
      column_name: string | null;
      reason: string;
      created_at: string;
      resolved_at: string | null;
    }[];
    return rows.map((r) => ({
      id: Number(r.id),
      table: r.table_name,
      key: parseKeyText(r.pk),
      direction: r.direction,
      code: r.code,
      ...(r.column_name === null ? {} : { column: r.column_name }),
      reason: r.reason,
      createdAt: r.created_at,
      resolvedAt: r.resolved_at,
    }));
  }

  /** Entries created at or after `since` (open or not): the flip's "recent quarantine" check. */
  async countSince(since: Date): Promise<number> {
    const row = (await this.#pg(META_TABLES.quarantine)
      .where('created_at', '>=', since.toISOString())
      .count({ n: '*' })
      .first()) as { n: string | number } | undefined;
    return Number(row?.n ?? 0);
  }
}
