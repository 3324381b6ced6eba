import knexFactory, { type Knex } from 'knex';
import type { ConnectionTimeouts } from '../dialect/deadline.js';
import { postgresKnexConfig } from '../dialect/postgres/connection.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { Side } from '../stage/stage.js';
import { appClientClass, type DriverHooks } from './app-clients.js';
import { knexLog } from './pools.js';

/** The app's own knex: its configuration object, or the instance it used until now. */
export type AppKnexInput = Knex.Config | Knex;

function isKnexInstance(value: AppKnexInput): value is Knex {
  return typeof value === 'function' && typeof (value as Knex).client === 'object';
}

/** mysql2 connection options from a `mysql://` URL. */
function connectionFromUrl(url: string): Record<string, unknown> {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, '') || undefined,
  };
}

/**
 * The knex configuration the app's MySQL statements run with: the app's own (driver settings such as
 * typeCast, dateStrings, supportBigNumbers, bigNumberStrings, decimalNumbers, timezone; pool; knex hooks
 * such as postProcessResponse and wrapIdentifier), with connection details it leaves out taken from
 * `mysql.url`. Without one, mysql2's defaults.
 */
export function appMysqlConfig(input: AppKnexInput | undefined, url: string, poolMax: number): Knex.Config {
  const given: Knex.Config = input === undefined ? {} : isKnexInstance(input) ? input.client.config : input;
  const client = given.client ?? 'mysql2';
  if (client !== 'mysql2') {
    throw new ConfigError(`the app's knex must use the mysql2 client (got ${String(client)})`);
  }
  const conn = given.connection;
  let connection: Record<string, unknown>;
  if (conn === undefined) connection = connectionFromUrl(url);
  else if (typeof conn === 'string') connection = { ...connectionFromUrl(url), uri: conn };
  else if (typeof conn === 'object') connection = { ...connectionFromUrl(url), ...(conn as object) };
  else throw new ConfigError("the app's knex connection must be an object or a URL (not a function)");
  return { ...given, client, connection, pool: given.pool ?? { min: 0, max: poolMax } };
}

/** Knex instances the app's statements run on: what the handle replays builders onto. */
export interface AppKnex {
  readonly mysql: Knex;
  /** The app's MySQL settings with multiple statements allowed: one-round-trip captured writes only. */
  readonly mysqlWrites: Knex;
  readonly postgres: Knex;
  /** The app's configuration as resolved (mysql2 settings, hooks). */
  readonly config: Knex.Config;
}

export interface AppKnexOptions {
  input: AppKnexInput | undefined;
  urls: Readonly<Record<Side, string>>;
  poolMax: Readonly<Record<Side, number>>;
  /** Timeouts of dualwrite's PostgreSQL connections (the MySQL side keeps the app's settings). */
  timeouts: Readonly<Partial<Record<Side, ConnectionTimeouts>>>;
  hooks: DriverHooks;
  logger: Logger;
}

/** knex options of the app's that apply to either database (hooks, timeouts, stack traces). */
function portable(config: Knex.Config): Partial<Knex.Config> {
  const { client: _c, connection: _conn, pool: _p, version: _v, migrations, seeds, ...rest } = config;
  return { ...rest, migrations, seeds };
}

export function createAppKnex(options: AppKnexOptions): AppKnex {
  const config = appMysqlConfig(options.input, options.urls.mysql, options.poolMax.mysql);
  const log = config.log ?? knexLog(options.logger);
  const mysqlClient = appClientClass('mysql', options.hooks) as unknown as Knex.Config['client'];
  const pgClient = appClientClass('postgres', options.hooks) as unknown as Knex.Config['client'];
  const pg = postgresKnexConfig({
    url: options.urls.postgres,
    pool: { max: options.poolMax.postgres },
    timeouts: options.timeouts.postgres,
  });
  return {
    config,
    mysql: knexFactory({ ...config, client: mysqlClient, log }),
    mysqlWrites: knexFactory({
      ...config,
      client: mysqlClient,
      connection: { ...(config.connection as object), multipleStatements: true },
      pool: { min: 0, max: options.poolMax.mysql },
      log,
    }),
    postgres: knexFactory({ ...portable(config), ...pg, client: pgClient, log }),
  };
}
