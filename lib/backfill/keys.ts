import type { Knex } from 'knex';
import type { Side } from '../stage/stage.js';

/** Primary-key values exactly as the driver of one side returned them (raw, not canonical). */
export type RawKey = unknown[];

/**
 * Reads primary keys of one table on one side in key order, a page at a time (keyset pagination:
 * `WHERE key > last ORDER BY key LIMIT n`), so memory stays at one page whatever the table size.
 * Only key columns are read, which an index-only scan of the primary key serves.
 */
export class KeyPager {
  readonly #knex: Knex;
  readonly #side: Side;
  readonly #table: string;
  readonly #columns: readonly string[];

  constructor(knex: Knex, side: Side, table: string, columns: readonly string[]) {
    if (columns.length === 0) throw new TypeError(`KeyPager: table ${table} has no primary-key columns`);
    this.#knex = knex;
    this.#side = side;
    this.#table = table;
    this.#columns = columns;
  }

  /**
   * The next `limit` keys strictly after `after` (from the start when null) and, when `upTo` is given,
   * not after `upTo` — in key order, compared by the database (its collation decides).
   */
  async page(after: RawKey | null, limit: number, upTo?: RawKey | null): Promise<RawKey[]> {
    const rows = await this.rows(after, limit, upTo, this.#columns);
    return rows.map((row) => this.#columns.map((c) => row[c]));
  }

  /**
   * Like page(), but whole rows (`columns`, which must include the key columns): a range scan in key
   * order, which the clustered primary key of InnoDB serves without a lookup per key.
   */
  async rows(
    after: RawKey | null,
    limit: number,
    upTo: RawKey | null | undefined,
    columns: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    const cols = this.#columns.map(() => '??').join(', ');
    const bindings: unknown[] = [...columns, this.#table];
    const conditions: string[] = [];
    const predicate = keysetPredicate(this.#side, this.#columns.length);
    if (after) {
      conditions.push(predicate.sql);
      bindings.push(...predicate.bindings(this.#columns, after));
    }
    if (upTo) {
      conditions.push(`NOT ${predicate.sql}`);
      bindings.push(...predicate.bindings(this.#columns, upTo));
    }
    bindings.push(...this.#columns);
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    const selected = columns.map(() => '??').join(', ');
    const sql = `SELECT ${selected} FROM ??${where} ORDER BY ${cols} LIMIT ${Math.max(1, Math.floor(limit))}`;
    return rowsOf(await this.#knex.raw(sql, bindings as Knex.RawBinding[]));
  }

  /** The key (raw values) of a row read by rows(). */
  keyOf(row: Record<string, unknown>): RawKey {
    return this.#columns.map((c) => row[c]);
  }

  /** Exact row count (the progress total; a snapshot, live writes move it). */
  async count(): Promise<number> {
    const rows = rowsOf(await this.#knex.raw('SELECT COUNT(*) AS n FROM ??', [this.#table]));
    return Number(rows[0]?.['n'] ?? 0);
  }
}

/**
 * `key > after` over the key columns. PostgreSQL compares row values and walks the index with it;
 * MySQL/MariaDB get the expanded form `a > ? OR (a = ? AND b > ?)`, which their range optimiser
 * handles for composite keys.
 */
function keysetPredicate(
  side: Side,
  n: number,
): { sql: string; bindings: (cols: readonly string[], after: RawKey) => unknown[] } {
  if (n === 1) return { sql: '(?? > ?)', bindings: (cols, after) => [cols[0], after[0]] };
  if (side === 'postgres') {
    const list = Array.from({ length: n }, () => '??').join(', ');
    const vals = Array.from({ length: n }, () => '?').join(', ');
    return { sql: `((${list}) > (${vals}))`, bindings: (cols, after) => [...cols, ...after] };
  }
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const eqs = Array.from({ length: i }, () => '?? = ?');
    terms.push(`(${[...eqs, '?? > ?'].join(' AND ')})`);
  }
  return {
    sql: `(${terms.join(' OR ')})`,
    bindings: (cols, after) => {
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) out.push(cols[j], after[j]);
        out.push(cols[i], after[i]);
      }
      return out;
    },
  };
}

/** knex.raw returns `[rows, fields]` on mysql2 and a pg Result on pg. */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return (result[0] ?? []) as Record<string, unknown>[];
  return ((result as { rows?: unknown[] }).rows ?? []) as Record<string, unknown>[];
}

/** The server's row-count estimates per table (statistics, not counts: cheap on any size). */
export async function estimateRows(knex: Knex, side: Side): Promise<Map<string, number>> {
  const sql =
    side === 'mysql'
      ? 'SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()'
      : "SELECT relname AS name, reltuples AS n FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = current_schema()::regnamespace";
  return new Map(
    rowsOf(await knex.raw(sql)).map((r) => [String(r['name']), Math.max(0, Number(r['n']) || 0)]),
  );
}
