import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

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
}

export function postgresKnexConfig(options: PostgresConnectionOptions): Knex.Config {
  // Dates written as parameters are serialised as UTC, never with the process's offset.
  (pg.defaults as { parseInputDatesAsUTC?: boolean }).parseInputDatesAsUTC = true;
  return {
    client: 'pg',
    connection: {
      connectionString: options.url,
      options: '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres',
      types: pgTypes,
    } as Knex.PgConnectionConfig,
    pool: { min: options.pool?.min ?? 0, max: options.pool?.max ?? 10 },
  };
}

export function createPostgresKnex(options: PostgresConnectionOptions): Knex {
  return knexFactory(postgresKnexConfig(options));
}
