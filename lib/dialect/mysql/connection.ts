import knexFactory, { type Knex } from 'knex';
import { boundStatements, DEFAULT_TIMEOUTS, type ConnectionTimeouts } from '../deadline.js';

/**
 * Session settings every MySQL/MariaDB connection of dualwrite runs with: UTC, and a strict mode
 * that refuses zero dates instead of storing values PostgreSQL cannot hold.
 */
export const MYSQL_SESSION_SQL =
  "SET time_zone='+00:00', sql_mode='ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";

interface TypeCastField {
  type: string;
  length: number;
  string(): string | null;
  buffer(): Buffer | null;
}

/**
 * TINYINT(1) and BIT(1) read as booleans (NULL stays NULL, any non-zero is true), so values compare
 * with PostgreSQL's boolean. Everything else keeps mysql2's text-protocol behaviour.
 */
export function mysqlTypeCast(field: TypeCastField, next: () => unknown): unknown {
  if (field.type === 'TINY' && field.length === 1) {
    const s = field.string();
    return s === null ? null : s !== '0';
  }
  // Raw geometry bytes (SRID + WKB) stay exact; the translators parse them where needed.
  if (field.type === 'GEOMETRY') return field.buffer();
  if (field.type === 'BIT' && field.length === 1) {
    const b = field.buffer();
    return b === null ? null : b[0] !== 0;
  }
  return next();
}

export interface MysqlConnectionOptions {
  /** `mysql://user:password@host:port/database` */
  url: string;
  /** Pool size. @default { min: 0, max: 10 } */
  pool?: { min?: number; max?: number };
  /**
   * Allow several statements in one query. Only dualwrite's own write pool sets it (a write and its
   * outbox row in one round trip); app SQL never runs on such a connection. @default false
   */
  multipleStatements?: boolean;
  /** Connect, acquire and statement timeouts, TCP keepalive. @default DEFAULT_TIMEOUTS */
  timeouts?: ConnectionTimeouts;
}

interface MysqlConnection {
  query: (...args: unknown[]) => unknown;
  destroy: () => void;
  _isMariaDB?: boolean;
}

/** Server-side statement bound: MariaDB cancels any statement, MySQL only reads (max_execution_time). */
function statementTimeoutSql(conn: MysqlConnection, ms: number): string {
  return conn._isMariaDB
    ? `SET SESSION max_statement_time = ${(ms / 1000).toFixed(3)}`
    : `SET SESSION max_execution_time = ${Math.round(ms)}`;
}

/** Builds the knex connection config with the driver settings that make values comparable. */
export function mysqlKnexConfig(options: MysqlConnectionOptions): Knex.Config {
  const url = new URL(options.url);
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  return {
    client: 'mysql2',
    connection: {
      host: url.hostname,
      port: url.port ? Number(url.port) : 3306,
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.replace(/^\//, '') || undefined,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
      jsonStrings: true,
      charset: 'utf8mb4',
      typeCast: mysqlTypeCast,
      multipleStatements: options.multipleStatements ?? false,
      connectTimeout: t.connectMs,
      enableKeepAlive: true,
      keepAliveInitialDelay: t.keepAliveMs,
    } as Knex.MySql2ConnectionConfig,
    acquireConnectionTimeout: t.acquireMs,
    pool: {
      min: options.pool?.min ?? 0,
      max: options.pool?.max ?? 10,
      createTimeoutMillis: t.connectMs,
      afterCreate: (conn: MysqlConnection, done: (err: Error | null, c: unknown) => void) => {
        const session = `${MYSQL_SESSION_SQL}, ${statementTimeoutSql(conn, t.statementMs).replace(/^SET /, '')}`;
        boundStatements(conn, t.statementMs, () => conn.destroy());
        conn.query(session, (err: Error | null) => done(err, conn));
      },
    },
  };
}

export function createMysqlKnex(options: MysqlConnectionOptions): Knex {
  return knexFactory(mysqlKnexConfig(options));
}
