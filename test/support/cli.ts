/**
 * Environment for a CLI or child process given its own config file: the test project's
 * MYSQL_URL/PG_URL (which override a config file's URLs) and DUALWRITE_STAGE are left out.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { MYSQL_URL: _m, PG_URL: _p, DUALWRITE_STAGE: _s, ...rest } = process.env;
  return { ...rest, ...extra };
}
