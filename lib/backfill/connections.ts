import knexFactory, { type Knex } from 'knex';
import type { Side } from '../stage/stage.js';

/** Session statement that turns off foreign-key enforcement (and ordinary triggers, on PostgreSQL). */
const DEFER_FK_SQL: Record<Side, string> = {
  // Like PostgreSQL's own logical replication apply: FK triggers and ordinary triggers do not fire.
  postgres: 'SET session_replication_role = replica',
  mysql: 'SET FOREIGN_KEY_CHECKS = 0',
};

type AfterCreate = (conn: unknown, done: (err: Error | null, conn: unknown) => void) => void;

interface RawConnection {
  query: (sql: string, cb: (err: Error | null) => void) => unknown;
}

/**
 * A second pool to `knex`'s database whose sessions do not check foreign keys. The backfill writes
 * through it: the source enforces its foreign keys, so the copy is consistent once complete, while rows
 * of self-referencing tables and FK cycles can land in key order. Live syncs keep the checked pool.
 * The caller destroys the returned knex.
 */
export function uncheckedForeignKeys(knex: Knex, side: Side, poolMax: number): Knex {
  const config = knex.client.config as Knex.Config;
  const previous = (config.pool as { afterCreate?: AfterCreate } | undefined)?.afterCreate;
  const afterCreate: AfterCreate = (conn, done) => {
    const apply = (): void => {
      const c = conn as RawConnection;
      // mysql2 and pg both take (sql, callback).
      c.query(DEFER_FK_SQL[side], (err) => done(err, conn));
    };
    if (previous) previous(conn, (err) => (err ? done(err, conn) : apply()));
    else apply();
  };
  return knexFactory({ ...config, pool: { ...(config.pool ?? {}), min: 0, max: poolMax, afterCreate } });
}
