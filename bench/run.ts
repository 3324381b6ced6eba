// Dispatches `npm run bench -- <name> [--mysql|--mariadb] [options]` to bench/<name>.ts, after printing
// which servers it measures (flavour and version of the MySQL side, PostgreSQL) and the load average.
import { loadavg } from 'node:os';
import { createMysqlKnex } from '../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../lib/dialect/postgres/connection.js';
import { mysqlUrlFromEnv, pgUrlFromEnv, redactUrl } from '../lib/dialect/urls.js';

const benches: Record<string, () => Promise<unknown>> = {
  sync: () => import('./sync.js'),
  translate: () => import('./translate.js'),
  backfill: () => import('./backfill.js'),
  shadow: () => import('./shadow.js'),
  verify: () => import('./verify.js'),
  write: () => import('./write.js'),
  keysets: () => import('./keysets.js'),
};

// The local MySQL-side server to measure (MYSQL_URL, when set, names another one).
for (const flavour of ['mysql', 'mariadb']) {
  const at = process.argv.indexOf(`--${flavour}`);
  if (at > 0) {
    process.env['DUALWRITE_FLAVOUR'] = flavour;
    process.argv.splice(at, 1);
  }
}

const name = process.argv[2];
const load = name ? benches[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--mysql|--mariadb] [options]`);
  process.exit(2);
}

async function serverVersions(): Promise<{ mysql: string; postgres: string }> {
  const mysql = createMysqlKnex({ url: mysqlUrlFromEnv(), pool: { max: 1 } });
  const pg = createPostgresKnex({ url: pgUrlFromEnv(), pool: { max: 1 } });
  try {
    const [[m]] = (await mysql.raw('SELECT VERSION() AS v')) as [{ v: string }[]];
    const { rows } = (await pg.raw('SHOW server_version')) as { rows: { server_version: string }[] };
    return { mysql: String(m?.v), postgres: String(rows[0]?.server_version) };
  } finally {
    await mysql.destroy();
    await pg.destroy();
  }
}

const versions = await serverVersions();
const flavour = /mariadb/i.test(versions.mysql) ? 'MariaDB' : 'MySQL';
console.log(
  `bench ${name}: ${flavour} ${versions.mysql} (${redactUrl(mysqlUrlFromEnv())}), PostgreSQL ${versions.postgres}; ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
);
await load();
console.log(
  `bench ${name}: load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at end`,
);
