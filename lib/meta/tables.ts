/**
 * Names of dualwrite's own tables. `dualwrite init` creates them on both databases.
 *
 * - outbox: (id, table_name, pk JSON text of the KeyTuple, created_at, attempts, available_at) — filled in
 *   the authoritative database inside the app's transaction; drained by the sync worker.
 * - lock:  (bucket int primary key), LOCK_BUCKETS rows — per-key locks on the target are row locks on
 *   bucket hash(table, key) % LOCK_BUCKETS, taken in ascending order inside the target's transaction.
 * - state: (name primary key, value JSON text, updated_at) — checkpoints, last verification, flip log.
 * - quarantine: keys whose values the target cannot hold, with code, column and reason.
 * - authority: one row (id 1) per database saying whether it accepts captured writes now (`writable`),
 *   gives the role up (`leaving`, its outbox draining) or gave it up (`left`); a trigger on the outbox
 *   refuses captured writes unless the row says `writable`, so only one side can take them at a time.
 * Operational state (state, quarantine) is kept in PostgreSQL, the database the migration ends on.
 */
export const META_TABLES = {
  outbox: 'dualwrite_outbox',
  lock: 'dualwrite_lock',
  state: 'dualwrite_state',
  quarantine: 'dualwrite_quarantine',
  authority: 'dualwrite_authority',
} as const;

export const LOCK_BUCKETS = 4096;

/** The side whose state and quarantine tables are the ones read and written: the database the migration ends on. */
export const STATE_SIDE = 'postgres' as const;

export function isMetaTable(name: string): boolean {
  return name.startsWith('dualwrite_');
}

/** Message prefix (MySQL SIGNAL) and SQLSTATE (PostgreSQL) of a captured write refused by the authority trigger. */
export const NOT_AUTHORITATIVE = { message: 'dualwrite_not_authoritative', pgCode: 'DWNA1' } as const;
