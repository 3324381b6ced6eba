/** The MySQL-side servers `npm run db:start` runs locally. */
export type MysqlFlavour = 'mysql' | 'mariadb';

const LOCAL_PORTS: Record<MysqlFlavour, { env: string; port: number }> = {
  mysql: { env: 'DUALWRITE_MYSQL_PORT', port: 3308 },
  mariadb: { env: 'DUALWRITE_MARIADB_PORT', port: 3307 },
};

/** URL of a local MySQL-side server started by `npm run db:start` (ports overridable by env). */
export function localMysqlUrl(flavour: MysqlFlavour, env: NodeJS.ProcessEnv = process.env): string {
  const { env: name, port } = LOCAL_PORTS[flavour];
  return `mysql://root:dualwrite@127.0.0.1:${env[name] ?? port}/dualwrite`;
}

/** Default local servers started by `npm run db:start`: MySQL, and PostgreSQL 15. */
export const DEFAULT_MYSQL_URL = localMysqlUrl('mysql', {});
export const DEFAULT_PG_URL = 'postgres://postgres:dualwrite@127.0.0.1:5433/dualwrite';

/**
 * The MySQL-side URL: MYSQL_URL, else the local server of DUALWRITE_FLAVOUR (`mysql`, the default,
 * or `mariadb`).
 */
export function mysqlUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  if (env['MYSQL_URL']) return env['MYSQL_URL'];
  return localMysqlUrl(env['DUALWRITE_FLAVOUR'] === 'mariadb' ? 'mariadb' : 'mysql', env);
}

export function pgUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env['PG_URL'] ?? `postgres://postgres:dualwrite@127.0.0.1:${env['DUALWRITE_PG_PORT'] ?? 5433}/dualwrite`
  );
}

/** The same URL pointing at another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A URL safe to print: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
