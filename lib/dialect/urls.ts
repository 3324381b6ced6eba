/** Default local servers started by `npm run db:start`. */
export const DEFAULT_MYSQL_URL = 'mysql://root:dualwrite@127.0.0.1:3307/dualwrite';
export const DEFAULT_PG_URL = 'postgres://postgres:dualwrite@127.0.0.1:5433/dualwrite';

export function mysqlUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env['MYSQL_URL'] ?? DEFAULT_MYSQL_URL;
}

export function pgUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env['PG_URL'] ?? DEFAULT_PG_URL;
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
