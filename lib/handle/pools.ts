import knexFactory, { type Knex } from 'knex';
import { mysqlKnexConfig } from '../dialect/mysql/connection.js';
import { postgresKnexConfig } from '../dialect/postgres/connection.js';
import type { ConnectionTimeouts } from '../dialect/deadline.js';
import type { Logger } from '../observe/logger.js';
import type { Side } from '../stage/stage.js';

/** knex's own warnings (dropped connections during an outage...) go to the injected logger, not the console. */
export function knexLog(logger: Logger): Knex.Config['log'] {
  const log = logger.child({ component: 'knex' });
  return {
    warn: (message: unknown) => log.warn({ detail: String(message) }, 'knex warning'),
    error: (message: unknown) => log.error({ detail: String(message) }, 'knex error'),
    deprecate: (method: string, alternative: string) => log.warn({ method, alternative }, 'knex deprecation'),
    debug: (message: unknown) => log.debug({ detail: String(message) }, 'knex debug'),
  };
}

/** A pool on each database with dualwrite's driver settings (reference §3). */
export function createPools(
  urls: Readonly<Record<Side, string>>,
  max: Readonly<Record<Side, number>>,
  logger: Logger,
  timeouts: Readonly<Partial<Record<Side, ConnectionTimeouts>>> = {},
): Record<Side, Knex> {
  const log = knexLog(logger);
  return {
    mysql: knexFactory({
      ...mysqlKnexConfig({ url: urls.mysql, pool: { max: max.mysql }, timeouts: timeouts.mysql }),
      log,
    }),
    postgres: knexFactory({
      ...postgresKnexConfig({ url: urls.postgres, pool: { max: max.postgres }, timeouts: timeouts.postgres }),
      log,
    }),
  };
}

/**
 * MySQL pool for the handle's implicit-transaction writes: multiple statements allowed, so a write
 * and its outbox row go in one round trip. Only SQL compiled by the handle runs here.
 */
export function createMysqlWritePool(
  url: string,
  max: number,
  logger: Logger,
  timeouts?: ConnectionTimeouts,
): Knex {
  return knexFactory({
    ...mysqlKnexConfig({ url, pool: { max }, multipleStatements: true, timeouts }),
    log: knexLog(logger),
  });
}
