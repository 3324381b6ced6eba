import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';

/** Writes one JSON value in dualwrite_state (kept in PostgreSQL). */
export async function writeState(pg: Knex, name: string, value: unknown): Promise<void> {
  await pg.raw(
    `INSERT INTO ${META_TABLES.state} (name, value, updated_at) VALUES (?, ?, now())
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    [name, JSON.stringify(value)],
  );
}

/** Reads one JSON value from dualwrite_state; undefined when absent. */
export async function readState<T>(pg: Knex, name: string): Promise<T | undefined> {
  const row = (await pg(META_TABLES.state).select('value').where('name', name).first()) as
    { value: unknown } | undefined;
  if (!row) return undefined;
  return (typeof row.value === 'string' ? JSON.parse(row.value) : row.value) as T;
}

/** Removes one value from dualwrite_state. */
export async function deleteState(pg: Knex, name: string): Promise<void> {
  await pg(META_TABLES.state).where('name', name).delete();
}
