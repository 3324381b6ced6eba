import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../lib/dialect/postgres/connection.js';
import { mysqlUrlFromEnv, pgUrlFromEnv, redactUrl } from '../../lib/dialect/urls.js';

/** Fails fast with a clear message when the test servers are not running. */
export default async function checkServers(): Promise<void> {
  const mysql = createMysqlKnex({ url: mysqlUrlFromEnv(), pool: { max: 1 } });
  const pg = createPostgresKnex({ url: pgUrlFromEnv(), pool: { max: 1 } });
  try {
    await mysql.raw('SELECT 1');
    await pg.raw('SELECT 1');
  } catch (error) {
    throw new Error(
      `test databases unreachable (${redactUrl(mysqlUrlFromEnv())}, ${redactUrl(pgUrlFromEnv())}): run \`npm run db:start\` first`,
      { cause: error },
    );
  } finally {
    await mysql.destroy();
    await pg.destroy();
  }
}
