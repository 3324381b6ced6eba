import { parseArgs } from 'node:util';
import { localMysqlUrl, mysqlUrlFromEnv, pgUrlFromEnv } from '../../../lib/dialect/urls.js';
import type { SeedOptions } from '../seed.js';

export interface DemoOptions {
  /** Small data set and short phases: finishes in under two minutes. */
  quick: boolean;
  /** Leave the servers (and the demo databases) running at the end. */
  keepServers: boolean;
  /** Name of the demo database on both servers (dropped and created fresh). */
  database: string;
  /** Folder of the reports and of `demo-summary.json`. */
  reportsDir: string;
  /** Server URLs (any database name; the demo uses its own). */
  mysqlUrl: string;
  pgUrl: string;
  /** True when MYSQL_URL or PG_URL was given: those servers are used and never started or stopped. */
  urlsGiven: boolean;
  seed: SeedOptions;
  /** How long the traffic runs in each observed stage, ms. */
  phaseMs: number;
}

export const USAGE = `usage: npm run demo -- [--quick] [--mysql|--mariadb] [--keep-servers] [--database <name>] [--reports <dir>]

  --quick          small data set and short phases (under two minutes)
  --mysql          migrate from the local MySQL server (the default)
  --mariadb        migrate from the local MariaDB server instead
  --keep-servers   leave the database servers and the demo databases running afterwards
  --database       demo database name on both servers (default genascope_demo)
  --reports        folder for reports and demo-summary.json (default reports)

MYSQL_URL and PG_URL select the servers (default: the local ones of npm run db:start;
DUALWRITE_FLAVOUR=mariadb does what --mariadb does).`;

export function parseDemoOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): DemoOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      mysql: { type: 'boolean', default: false },
      mariadb: { type: 'boolean', default: false },
      'keep-servers': { type: 'boolean', default: false },
      database: { type: 'string', default: 'genascope_demo' },
      reports: { type: 'string', default: 'reports' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const quick = values.quick === true;
  if (values.mysql && values.mariadb) throw new Error('--mysql and --mariadb exclude each other');
  const flavour = values.mariadb ? 'mariadb' : values.mysql ? 'mysql' : undefined;
  return {
    quick,
    keepServers: values['keep-servers'] === true,
    database: values.database ?? 'genascope_demo',
    reportsDir: values.reports ?? 'reports',
    mysqlUrl: flavour && !env['MYSQL_URL'] ? localMysqlUrl(flavour, env) : mysqlUrlFromEnv(env),
    pgUrl: pgUrlFromEnv(env),
    urlsGiven: Boolean(env['MYSQL_URL'] || env['PG_URL']),
    seed: quick
      ? { seed: 42, accounts: 3, cliniciansPerAccount: 3, patientsPerClinician: 8 }
      : { seed: 42, accounts: 10, cliniciansPerAccount: 5, patientsPerClinician: 40 },
    phaseMs: quick ? 4_000 : 15_000,
  };
}
