import type { Knex } from 'knex';
import { rowsOf } from './keys.js';

/**
 * Moves every sequence that feeds a column of `table` (serial defaults and identity columns) past the
 * largest value in it, so an insert relying on the default after a backfill of explicit ids does not
 * hit a duplicate key. Never moves a sequence backwards (concurrent inserts may already be past max).
 * Returns the sequences it set.
 */
export async function resetPgSequences(
  pg: Knex,
  table: string,
): Promise<{ sequence: string; value: string }[]> {
  const cols = rowsOf(
    await pg.raw(
      `SELECT a.attname AS column_name, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname = ? AND c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped`,
      [table],
    ),
  ).filter((r) => typeof r['seq'] === 'string');
  const out: { sequence: string; value: string }[] = [];
  for (const col of cols) {
    const seq = col['seq'] as string;
    const rows = rowsOf(
      await pg.raw(
        `SELECT setval(?::regclass, GREATEST(m.v, s.last_value), m.v >= s.last_value OR s.is_called) AS value
           FROM (SELECT COALESCE(MAX(??), 0)::bigint AS v FROM ??) m, ${seq} s`,
        [seq, col['column_name'] as string, table],
      ),
    );
    out.push({ sequence: seq, value: String(rows[0]?.['value']) });
  }
  return out;
}
