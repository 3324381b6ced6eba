import type { Knex } from 'knex';
import type { TableSchema } from '../schema/model.js';

export interface OrphanCount {
  constraint: string;
  columns: string[];
  referencedTable: string;
  /** Rows whose non-null foreign key has no parent row. */
  count: number;
}

/**
 * Rows of `table` in PostgreSQL whose foreign key points at no parent. Constraints are enforced once
 * created, but a backfill that loads children first, or constraints added NOT VALID, can leave orphans.
 */
export async function orphanCounts(pg: Knex, table: TableSchema): Promise<OrphanCount[]> {
  const out: OrphanCount[] = [];
  for (const fk of table.foreignKeys) {
    const notNull = fk.columns.map(() => 'c.?? IS NOT NULL').join(' AND ');
    const join = fk.columns.map(() => 'p.?? = c.??').join(' AND ');
    const bindings = [
      table.name,
      ...fk.columns,
      fk.referencedTable,
      ...fk.columns.flatMap((c, i) => [fk.referencedColumns[i] ?? c, c]),
    ];
    const result = (await pg.raw(
      `SELECT count(*)::int AS n FROM ?? c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ?? p WHERE ${join})`,
      bindings,
    )) as { rows: { n: number }[] };
    out.push({
      constraint: fk.name,
      columns: fk.columns,
      referencedTable: fk.referencedTable,
      count: result.rows[0]?.n ?? 0,
    });
  }
  return out;
}
