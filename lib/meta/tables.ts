/**
 * Names of dualwrite's own tables. `dualwrite init` creates them on both databases.
 *
 * - outbox: (id, table_name, pk JSON text of the KeyTuple, created_at, attempts, available_at) — filled in
 *   the authoritative database inside the app's transaction; drained by the sync worker.
 * - lock:  (bucket int primary key), LOCK_BUCKETS rows — per-key locks on the target are row locks on
 *   bucket hash(table, key) % LOCK_BUCKETS, taken in ascending order inside the target's transaction.
 * - state: (name primary key, value JSON text, updated_at) — checkpoints, last verification, flip log.
 * - quarantine: keys whose values the target cannot hold, with code, column and reason.
 * Operational state (state, quarantine) is kept in PostgreSQL, the database the migration ends on.
 */
export const META_TABLES = {
  outbox: 'dualwrite_outbox',
  lock: 'dualwrite_lock',
  state: 'dualwrite_state',
  quarantine: 'dualwrite_quarantine',
} as const;

export const LOCK_BUCKETS = 4096;

export function isMetaTable(name: string): boolean {
  return name.startsWith('dualwrite_');
}
