import { localMysqlUrl } from '../../lib/dialect/urls.js';

export interface MysqlSideTarget {
  /** Vitest project name: the flavour, or `custom` for a server given by MYSQL_URL. */
  name: 'mysql' | 'mariadb' | 'custom';
  url: string;
}

/**
 * The MySQL-side servers the suite runs against: the local MySQL and MariaDB started by
 * `npm run db:start`, or only the server MYSQL_URL names.
 */
export function mysqlSideTargets(env: NodeJS.ProcessEnv = process.env): MysqlSideTarget[] {
  const custom = env['MYSQL_URL'];
  if (custom) return [{ name: 'custom', url: custom }];
  const only = env['DUALWRITE_TEST_FLAVOURS']?.split(',').map((s) => s.trim());
  const all: MysqlSideTarget[] = [
    { name: 'mysql', url: localMysqlUrl('mysql', env) },
    { name: 'mariadb', url: localMysqlUrl('mariadb', env) },
  ];
  return only ? all.filter((t) => only.includes(t.name)) : all;
}
