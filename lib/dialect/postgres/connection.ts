import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { boundStatements, DEFAULT_TIMEOUTS, type ConnectionTimeouts } from '../deadline.js';

/** date, timestamp, timestamptz, time, interval, json, jsonb: kept as the server's text. */
const TEXT_KEPT_OIDS = new Set([1082, 1114, 1184, 1083, 1266, 1186, 114, 3802]);

/**
 * Type parsers for dualwrite's PostgreSQL connections: temporal and JSON values stay text so they
 * normalise exactly; int8/numeric/bit stay strings (pg's default); bytea becomes a Buffer.
 */
export const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (TEXT_KEPT_OIDS.has(oid)) return (value: string) => value;
    return (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format);
  },
};

export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Pool size. @default { min: 0, max: 10 } */
  pool?: { min?: number; max?: number };
  /** Connect, acquire and statement timeouts, TCP keepalive. @default DEFAULT_TIMEOUTS */
  timeouts?: ConnectionTimeouts;
}

interface PgClient {
  query: (...args: unknown[]) => unknown;
  connection?: { stream?: { destroy: () => void } };
}

export function postgresKnexConfig(options: PostgresConnectionOptions): Knex.Config {
  // Dates written as parameters are serialised as UTC, never with the process's offset.
  (pg.defaults as { parseInputDatesAsUTC?: boolean }).parseInputDatesAsUTC = true;
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  return {
    client: 'pg',
    connection: {
      connectionString: options.url,
      // A session left in an open transaction (its client gone or stuck) does not hold locks for long.
      options: `-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c statement_timeout=${Math.round(t.statementMs)} -c idle_in_transaction_session_timeout=${Math.round(Math.max(t.statementMs, 60_000))}`,
      types: pgTypes,
      connectionTimeoutMillis: t.connectMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: t.keepAliveMs,
    } as Knex.PgConnectionConfig,
    acquireConnectionTimeout: t.acquireMs,
    pool: {
      min: options.pool?.min ?? 0,
      max: options.pool?.max ?? 10,
      createTimeoutMillis: t.connectMs,
      afterCreate: (conn: PgClient, done: (err: Error | null, c: unknown) => void) => {
        boundStatements(conn, t.statementMs, () => conn.connection?.stream?.destroy());
        done(null, conn);
      },
    },
  };
}

export function createPostgresKnex(options: PostgresConnectionOptions): Knex {
  return knexFactory(postgresKnexConfig(options));
}
