import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMysqlKnex } from '../../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../../lib/dialect/postgres/connection.js';
import { withDatabase } from '../../../lib/dialect/urls.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Whether both servers answer a trivial query. */
export async function serversReachable(mysqlUrl: string, pgUrl: string): Promise<boolean> {
  const mysql = createMysqlKnex({ url: mysqlUrl, pool: { max: 1 } });
  const pg = createPostgresKnex({ url: pgUrl, pool: { max: 1 } });
  try {
    await Promise.all([mysql.raw('SELECT 1'), pg.raw('SELECT 1')]);
    return true;
  } catch {
    return false;
  } finally {
    await Promise.all([mysql.destroy(), pg.destroy()]);
  }
}

function dbScript(command: 'start' | 'stop'): void {
  const result = spawnSync('bash', ['scripts/db.sh', command], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`scripts/db.sh ${command} failed (exit ${result.status})`);
}

export interface ServerSession {
  /** True when the demo started the servers (and so stops them at the end). */
  startedHere: boolean;
  stop(): void;
}

/**
 * Makes sure both servers run. Servers given by URL, or already answering, are used as they are and
 * left running; otherwise `scripts/db.sh start` starts the local ones.
 */
export async function ensureServers(
  mysqlUrl: string,
  pgUrl: string,
  urlsGiven: boolean,
): Promise<ServerSession> {
  const noop: ServerSession = { startedHere: false, stop: () => undefined };
  if (await serversReachable(mysqlUrl, pgUrl)) return noop;
  if (urlsGiven) throw new Error('the servers named by MYSQL_URL / PG_URL do not answer');
  dbScript('start');
  if (!(await serversReachable(mysqlUrl, pgUrl))) throw new Error('the local servers did not come up');
  return { startedHere: true, stop: () => dbScript('stop') };
}

/** Drops and creates a database of this name on both servers; returns the URLs pointing at it. */
export async function createDemoDatabases(
  mysqlUrl: string,
  pgUrl: string,
  name: string,
): Promise<{ mysqlUrl: string; pgUrl: string }> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid demo database name ${name}`);
  const mysql = createMysqlKnex({ url: mysqlUrl, pool: { max: 1 } });
  const pg = createPostgresKnex({ url: pgUrl, pool: { max: 1 } });
  try {
    await mysql.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await mysql.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    await pg.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await pg.raw(`CREATE DATABASE "${name}"`);
  } finally {
    await Promise.all([mysql.destroy(), pg.destroy()]);
  }
  return { mysqlUrl: withDatabase(mysqlUrl, name), pgUrl: withDatabase(pgUrl, name) };
}

/** Drops the demo databases on both servers. */
export async function dropDemoDatabases(mysqlUrl: string, pgUrl: string, name: string): Promise<void> {
  const mysql = createMysqlKnex({ url: mysqlUrl, pool: { max: 1 } });
  const pg = createPostgresKnex({ url: pgUrl, pool: { max: 1 } });
  try {
    await mysql.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await pg.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await Promise.all([mysql.destroy(), pg.destroy()]);
  }
}
