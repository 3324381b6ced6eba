import type { TestProject } from 'vitest/node';
import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../lib/dialect/postgres/connection.js';
import { mysqlUrlFromEnv, pgUrlFromEnv, redactUrl } from '../../lib/dialect/urls.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The MySQL-side server this project runs against, read from its version string. */
    flavour: 'mysql' | 'mariadb';
    /** Its version, e.g. `9.7.4` or `10.11.14-MariaDB`. */
    serverVersion: string;
  }
}

/** Fails fast with a clear message when the test servers are not running; tells tests the flavour. */
export default async function checkServers(project: TestProject): Promise<void> {
  const mysqlUrl = String(project.config.env['MYSQL_URL'] ?? mysqlUrlFromEnv());
  const mysql = createMysqlKnex({ url: mysqlUrl, pool: { max: 1 } });
  const pg = createPostgresKnex({ url: pgUrlFromEnv(), pool: { max: 1 } });
  try {
    const [[row]] = (await mysql.raw('SELECT VERSION() AS v')) as [{ v: string }[]];
    await pg.raw('SELECT 1');
    const version = String(row?.v);
    project.provide('flavour', /mariadb/i.test(version) ? 'mariadb' : 'mysql');
    project.provide('serverVersion', version);
  } catch (error) {
    throw new Error(
      `test databases unreachable (${redactUrl(mysqlUrl)}, ${redactUrl(pgUrlFromEnv())}): run \`npm run db:start\` first`,
      { cause: error },
    );
  } finally {
    await mysql.destroy();
    await pg.destroy();
  }
}
