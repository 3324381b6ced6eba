import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, beforeAll } from 'vitest';
import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../lib/dialect/postgres/connection.js';
import { mysqlUrlFromEnv, pgUrlFromEnv, withDatabase } from '../../lib/dialect/urls.js';

export interface TestDatabases {
  /** Database name, the same on both servers. */
  name: string;
  mysqlUrl: string;
  pgUrl: string;
  mysql: Knex;
  pg: Knex;
}

/** Creates a database with this name on both servers (dropping any leftover first). */
export async function createDatabases(name: string): Promise<TestDatabases> {
  const mysqlAdmin = createMysqlKnex({ url: mysqlUrlFromEnv(), pool: { max: 1 } });
  const pgAdmin = createPostgresKnex({ url: pgUrlFromEnv(), pool: { max: 1 } });
  try {
    await mysqlAdmin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await mysqlAdmin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    await pgAdmin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await pgAdmin.raw(`CREATE DATABASE "${name}"`);
  } finally {
    await mysqlAdmin.destroy();
    await pgAdmin.destroy();
  }
  const mysqlUrl = withDatabase(mysqlUrlFromEnv(), name);
  const pgUrl = withDatabase(pgUrlFromEnv(), name);
  return {
    name,
    mysqlUrl,
    pgUrl,
    mysql: createMysqlKnex({ url: mysqlUrl }),
    pg: createPostgresKnex({ url: pgUrl }),
  };
}

/** Drops both databases and closes the pools. */
export async function dropDatabases(dbs: TestDatabases): Promise<void> {
  await dbs.mysql.destroy();
  await dbs.pg.destroy();
  const mysqlAdmin = createMysqlKnex({ url: mysqlUrlFromEnv(), pool: { max: 1 } });
  const pgAdmin = createPostgresKnex({ url: pgUrlFromEnv(), pool: { max: 1 } });
  try {
    await mysqlAdmin.raw(`DROP DATABASE IF EXISTS \`${dbs.name}\``);
    await pgAdmin.raw(`DROP DATABASE IF EXISTS "${dbs.name}" WITH (FORCE)`);
  } finally {
    await mysqlAdmin.destroy();
    await pgAdmin.destroy();
  }
}

export function uniqueDatabaseName(prefix = 'dwtest'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * Gives the calling test file its own fresh database on both servers, created before its tests
 * and dropped after them, so files can run in parallel without touching each other.
 * Read the returned object's fields inside tests or hooks (they are set in beforeAll).
 */
export function useFreshDatabases(prefix = 'dwtest'): TestDatabases {
  const holder = {} as TestDatabases;
  beforeAll(async () => {
    Object.assign(holder, await createDatabases(uniqueDatabaseName(prefix)));
  });
  afterAll(async () => {
    if (holder.name) await dropDatabases(holder);
  });
  return holder;
}
