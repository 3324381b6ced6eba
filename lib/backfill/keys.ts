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
    if (after) {
      const predicate = keysetPredicate(this.#side, this.#columns.length, '>');
      conditions.push(predicate.sql);
      bindings.push(...predicate.bindings(this.#columns, after));
    }
    if (upTo) {
      const predicate = keysetPredicate(this.#side, this.#columns.length, '<=');
      conditions.push(predicate.sql);
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
 * `key > bound` (`op` '>') or `key <= bound` ('<=') over the key columns. PostgreSQL compares row
 * values and walks the index with them; MySQL/MariaDB get the expanded form `a > ? OR (a = ? AND b > ?)`
 * (`a < ? OR … OR (a = ? AND b <= ?)` for the upper bound), which their range optimiser handles for
 * composite keys, plus a plain bound on the first column (`a >= ?` / `a <= ?`) so a batch's range read
 * stops at its last key instead of reading on through the table.
 */
function keysetPredicate(
  side: Side,
  n: number,
  op: '>' | '<=',
): { sql: string; bindings: (cols: readonly string[], bound: RawKey) => unknown[] } {
  if (n === 1) return { sql: `(?? ${op} ?)`, bindings: (cols, bound) => [cols[0], bound[0]] };
  if (side === 'postgres') {
    const list = Array.from({ length: n }, () => '??').join(', ');
    const vals = Array.from({ length: n }, () => '?').join(', ');
    return { sql: `((${list}) ${op} (${vals}))`, bindings: (cols, bound) => [...cols, ...bound] };
  }
  const strict = op === '>' ? '>' : '<';
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const eqs = Array.from({ length: i }, () => '?? = ?');
    const last = i === n - 1 && op === '<=' ? '<=' : strict;
    terms.push(`(${[...eqs, `?? ${last} ?`].join(' AND ')})`);
  }
  return {
    sql: `(?? ${op === '>' ? '>=' : '<='} ? AND (${terms.join(' OR ')}))`,
    bindings: (cols, bound) => {
      const out: unknown[] = [cols[0], bound[0]];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) out.push(cols[j], bound[j]);
        out.push(cols[i], bound[i]);
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
