import type { Knex } from 'knex';
import type { DualWriteConfig } from '../config/schema.js';
import { createMysqlKnex } from '../dialect/mysql/connection.js';
import { createPostgresKnex } from '../dialect/postgres/connection.js';
import type { Side } from '../stage/stage.js';

/** Opens small pools on both databases for one command, runs `body`, closes them. */
export async function withConnections<T>(
  config: Readonly<DualWriteConfig>,
  body: (knex: Readonly<Record<Side, Knex>>) => Promise<T>,
): Promise<T> {
  const knex: Record<Side, Knex> = {
    mysql: createMysqlKnex({ url: config.mysql.url, pool: { max: 2 }, timeouts: config.mysql.timeouts }),
    postgres: createPostgresKnex({
      url: config.postgres.url,
      pool: { max: 2 },
      timeouts: config.postgres.timeouts,
    }),
  };
  try {
    return await body(knex);
  } finally {
    await Promise.all([knex.mysql.destroy(), knex.postgres.destroy()]);
  }
}
