import type { Command } from 'commander';
import { installCaptureTriggers } from '../../capture/triggers.js';
import { introspectMysql } from '../../dialect/mysql/introspect.js';
import { introspectPostgres } from '../../dialect/postgres/introspect.js';
import { initMetaTables } from '../../meta/init.js';
import {
  action,
  configFromOptions,
  ExitCode,
  output,
  UsageError,
  withGlobalOptions,
  type GlobalOptions,
} from '../common.js';
import { withConnections } from '../connections.js';

interface InitOptions extends GlobalOptions {
  capture?: string;
}

/** `dualwrite init [--capture triggers]`: meta tables on both databases, optionally capture triggers. */
export function registerInit(program: Command): void {
  withGlobalOptions(
    program
      .command('init')
      .description('create the outbox, lock, state and quarantine tables on both databases')
      .option('--capture <mode>', "'triggers': also install triggers that capture writes of other programs"),
  ).action(
    action(async (options: InitOptions) => {
      if (options.capture !== undefined && options.capture !== 'triggers' && options.capture !== 'adapter') {
        throw new UsageError(`--capture must be 'triggers' or 'adapter', got '${options.capture}'`);
      }
      const config = configFromOptions(options);
      const result = await withConnections(config, async (knex) => {
        await initMetaTables(knex.mysql, knex.postgres);
        if (options.capture !== 'triggers') return { metaTables: true, triggers: { mysql: 0, postgres: 0 } };
        // Triggers on both sides: whichever is authoritative records writes of other programs; the
        // syncer's own sessions are flagged and skipped.
        const [m, p] = await Promise.all([introspectMysql(knex.mysql), introspectPostgres(knex.postgres)]);
        const both = new Set(p.tables.map((t) => t.name));
        const synced = (name: string): boolean => both.has(name) && !config.tables[name]?.exclude;
        return {
          metaTables: true,
          triggers: {
            mysql: await installCaptureTriggers(
              knex.mysql,
              'mysql',
              m.tables.filter((t) => synced(t.name)),
              config.tables,
            ),
            postgres: await installCaptureTriggers(
              knex.postgres,
              'postgres',
              p.tables.filter((t) => synced(t.name)),
              config.tables,
            ),
          },
        };
      });
      output(options, result, (r) => {
        process.stdout.write('meta tables ready on MySQL and PostgreSQL\n');
        if (options.capture === 'triggers') {
          process.stdout.write(
            `capture triggers installed: ${r.triggers.mysql} MySQL table(s), ${r.triggers.postgres} PostgreSQL table(s)\n`,
          );
        }
      });
      return ExitCode.Ok;
    }),
  );
}
