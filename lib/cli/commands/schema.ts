import { writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { createMysqlKnex } from '../../dialect/mysql/connection.js';
import { createPostgresKnex } from '../../dialect/postgres/connection.js';
import { redactUrl } from '../../dialect/urls.js';
import { applySchema, convertDatabase } from '../../schema/apply.js';
import type { ConversionReport } from '../../schema/convert.js';
import {
  action,
  configFromOptions,
  ExitCode,
  type GlobalOptions,
  output,
  UsageError,
  withGlobalOptions,
} from '../common.js';

interface SchemaCliOptions extends GlobalOptions {
  from?: string;
  to?: string;
  apply?: boolean;
  out?: string;
}

/** The report as SQL comment lines, so the printed DDL stays a runnable script. */
function reportLines(report: ConversionReport): string[] {
  // Tables that cannot be synced come first: nothing of them would move.
  const lines: string[] = [];
  if (report.keyless.length > 0) {
    lines.push(
      `${report.keyless.length} table(s) without a usable key (refused by sync, backfill and verify):`,
    );
    for (const k of report.keyless) lines.push(`  ${k.reason}`);
  }
  const keys = new Table({
    head: ['table', 'rows are synced by'],
    style: { head: [], border: [], compact: true },
  });
  for (const t of report.tables) keys.push([t.name, t.syncKey ?? 'nothing: refused (see above)']);
  lines.push(keys.toString());
  const table = new Table({
    head: ['table', 'column', 'mysql', 'postgresql', 'warnings'],
    style: { head: [], border: [], compact: true },
  });
  for (const t of report.tables) {
    for (const c of t.columns) table.push([t.name, c.column, c.from, c.to, c.warnings.join('; ')]);
    for (const w of t.warnings) table.push([t.name, '', '', '', w]);
  }
  lines.push(table.toString());
  for (const o of report.notConverted) lines.push(`not converted: ${o.kind} ${o.name} (${o.reason})`);
  for (const t of report.updateTriggers)
    lines.push(`ON UPDATE trigger ${t.trigger} on ${t.table}(${t.columns.join(', ')})`);
  return lines.join('\n').split('\n');
}

export function registerSchema(program: Command): void {
  withGlobalOptions(
    program
      .command('schema')
      .description('Convert a MySQL schema to PostgreSQL DDL and print it with a conversion report')
      .option('--from <mysql-url>', 'MySQL database to read (default: mysql.url of the config / MYSQL_URL)')
      .option(
        '--to <pg-url>',
        'PostgreSQL database to apply to (default: postgres.url of the config / PG_URL)',
      )
      .option('--apply', 'create the converted schema on PostgreSQL, in one transaction')
      .option('--out <file>', 'write the DDL to this file instead of stdout'),
  ).action(
    action(async (options: SchemaCliOptions) => {
      const config =
        options.config || !options.from || (options.apply && !options.to) ? configFromOptions(options) : null;
      const from = options.from ?? config?.mysql.url;
      const to = options.to ?? config?.postgres.url;
      if (!from) throw new UsageError('--from <mysql-url> is required');
      if (options.apply && !to) throw new UsageError('--apply needs --to <pg-url>');
      const mysql = createMysqlKnex({ url: from, pool: { max: 2 } });
      try {
        const result = await convertDatabase(mysql, { tables: config?.tables ?? {} });
        if (options.out) writeFileSync(options.out, result.ddl);
        if (options.apply && to) {
          const pg = createPostgresKnex({ url: to, pool: { max: 1 } });
          try {
            await applySchema(pg, result);
          } finally {
            await pg.destroy();
          }
        }
        output(
          options,
          {
            from: redactUrl(from),
            applied: options.apply ? redactUrl(to ?? '') : null,
            out: options.out ?? null,
            report: result.report,
            ...(options.out ? {} : { statements: result.statements }),
          },
          () => {
            if (!options.out) process.stdout.write(result.ddl);
            const lines = reportLines(result.report);
            if (options.apply) lines.push(`applied to ${redactUrl(to ?? '')}`);
            process.stdout.write(`${lines.map((l) => (options.out ? l : `-- ${l}`)).join('\n')}\n`);
          },
        );
        return ExitCode.Ok;
      } finally {
        await mysql.destroy();
      }
    }),
  );
}
