import type { Knex } from 'knex';
import type { AggregateHint, ShapeHints } from '../shape/pg-rows.js';
import { internals } from './knex-internals.js';
import { aggregateRenames } from './results.js';

/** `orders.amount` → table orders, column amount; `amount` → the query's main table. */
function sourceColumn(ref: string, mainTable: string | undefined): { table?: string; column: string } {
  const parts = ref.trim().split('.');
  return parts.length === 2
    ? { table: parts[0], column: parts[1] as string }
    : { table: mainTable, column: ref.trim() };
}

/**
 * What the PostgreSQL client needs from the app's builder to answer as MySQL: the names MySQL gives
 * unaliased aggregates, the types of aggregate columns (SUM of an INT is a DECIMAL on MySQL), and for an
 * insert its table (whose AUTO_INCREMENT column gives the insert id).
 */
export function shapeHints(builder: Knex.QueryBuilder, mainTable: string | undefined): ShapeHints {
  const b = internals(builder);
  if (b._method === 'insert') return { insertTable: mainTable };
  const renames = aggregateRenames(b._statements);
  const aggregates = new Map<string, AggregateHint>();
  for (const s of b._statements) {
    if (s.grouping !== 'columns' || s.type !== 'aggregate' || !s.method) continue;
    const fn = s.method;
    const entries: [string, string][] = [];
    if (typeof s.value === 'string') {
      const m = /^(.*?)\s+as\s+(\S+)$/i.exec(s.value);
      if (m) entries.push([m[2] as string, m[1] as string]);
      else if (typeof s.alias === 'string') entries.push([s.alias, s.value]);
      else entries.push([renames.get(fn) ?? fn, s.value]);
    } else if (s.value && typeof s.value === 'object') {
      for (const [alias, col] of Object.entries(s.value as Record<string, unknown>)) {
        if (typeof col === 'string') entries.push([alias, col]);
      }
    }
    for (const [name, col] of entries) {
      aggregates.set(name, col === '*' ? { fn } : { fn, ...sourceColumn(col, mainTable) });
    }
  }
  return { renames, aggregates };
}
