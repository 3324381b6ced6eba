import type { Server } from 'node:http';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import { Registry } from 'prom-client';
import { createDefaultLogger } from '../../observe/logger.js';
import { serveMetrics } from '../../report/metrics.js';
import { KeySyncer } from '../../sync/syncer.js';
import { openVerifySession } from '../../verify/session.js';
import { verify, type VerifyResult } from '../../verify/verify.js';
import {
  action,
  configFromOptions,
  ExitCode,
  intOption,
  output,
  UsageError,
  withGlobalOptions,
  type GlobalOptions,
} from '../common.js';

interface VerifyCliOptions extends GlobalOptions {
  tables?: string;
  chunk?: string;
  concurrency?: string;
  maxRowsPerSecond?: string;
  repair?: boolean;
  restart?: boolean;
  metricsPort?: string;
}

function summaryTable(result: VerifyResult): string {
  const t = new Table({
    head: [
      'table',
      'rows compared',
      'missing',
      'extra',
      'different',
      'malformed',
      'pending',
      'fk orphans',
      'repair',
      'hashed in Node',
    ],
  });
  for (const r of result.tables) {
    t.push([
      r.table,
      r.rowsCompared,
      r.missing,
      r.extra,
      r.different,
      r.malformed,
      r.pending,
      r.orphans.reduce((n, o) => n + o.count, 0),
      r.repair
        ? `${r.repair.synced} synced, ${r.repair.remaining} left${r.repair.skipped ? `, ${r.repair.skipped.count} skipped (cannot be written)` : ''}`
        : '-',
      r.columns
        .filter((c) => c.path === 'node')
        .map((c) => c.column)
        .join(', ') || '-',
    ]);
  }
  const pending = result.pending.map(
    (p) =>
      `pending: ${p.rows} outbox row(s) of ${p.table} on ${p.side}, oldest ${Math.round(p.oldestAgeMs / 1000)} s old, not synced`,
  );
  return [t.toString(), ...pending].join('\n');
}

/** What `--json` prints: per table rows compared, missing, extra, different (+ orphans and repair). */
function jsonView(result: VerifyResult) {
  return {
    at: result.at,
    clean: result.clean,
    stage: result.stage,
    authoritativeSide: result.authoritativeSide,
    reportFile: result.reportFile,
    pending: result.pending,
    tables: result.tables.map((r) => ({
      table: r.table,
      rowsCompared: r.rowsCompared,
      missing: r.missing,
      extra: r.extra,
      different: r.different,
      malformed: r.malformed,
      pending: r.pending,
      orphans: r.orphans,
      repair: r.repair,
      truncated: r.truncated,
      resumed: r.resumed,
      chunks: r.chunks,
      differentChunks: r.differentChunks,
      chunkRows: r.chunkRows,
      columns: r.columns,
    })),
  };
}

async function runVerify(options: VerifyCliOptions, repair: boolean): Promise<ExitCode> {
  const config = configFromOptions(options);
  const chunk = intOption('chunk', options.chunk, 1);
  const concurrency = intOption('concurrency', options.concurrency, 1);
  const maxRowsPerSecond = intOption('max-rows-per-second', options.maxRowsPerSecond, 0);
  const tables = options.tables
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const metricsPort = options.metricsPort === undefined ? undefined : Number(options.metricsPort);
  if (
    metricsPort !== undefined &&
    (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
  ) {
    throw new UsageError(`--metrics-port expects a port number, got ${options.metricsPort}`);
  }
  const logger = createDefaultLogger(process.env['DUALWRITE_LOG_LEVEL'] ?? 'warn');
  const registry = new Registry();
  const session = await openVerifySession(config);
  let server: Server | undefined;
  const bar =
    process.stderr.isTTY && !options.json
      ? new SingleBar({ format: '{table} [{bar}] {value}/{total} rows', stream: process.stderr })
      : undefined;
  let current = '';
  try {
    // Progress can be scraped while a long verification runs.
    if (metricsPort !== undefined) server = await serveMetrics(registry, metricsPort);
    for (const t of tables ?? []) session.translators.table(t);
    const result = await verify({
      config,
      mysql: session.mysql,
      postgres: session.postgres,
      translators: session.translators,
      schemas: session.schemas,
      logger,
      registry,
      resume: options.restart !== true,
      ...(tables ? { tables } : {}),
      ...(chunk ? { chunkSize: chunk } : {}),
      ...(concurrency ? { concurrency } : {}),
      ...(maxRowsPerSecond ? { maxRowsPerSecond } : {}),
      ...(repair
        ? {
            repair: new KeySyncer({
              mysql: session.mysql,
              pg: session.postgres,
              translators: session.translators,
              logger,
            }),
          }
        : {}),
      onProgress: ({ table, rows, estimate }) => {
        if (!bar) return;
        if (table !== current) {
          if (current) bar.stop();
          current = table;
          bar.start(Math.max(estimate, rows), rows, { table });
        } else bar.update(rows);
      },
    });
    bar?.stop();
    output(options, jsonView(result), (r) => {
      process.stdout.write(`${summaryTable(result)}\n`);
      process.stdout.write(
        `${r.clean ? 'clean' : 'DIFFERENCES FOUND'} (${(result.durationMs / 1000).toFixed(1)} s)` +
          `${r.reportFile ? ` - report: ${r.reportFile}` : ''}\n`,
      );
    });
    return result.clean ? ExitCode.Ok : ExitCode.Problem;
  } finally {
    bar?.stop();
    server?.close();
    await session.close();
  }
}

function withVerifyOptions(command: Command): Command {
  return withGlobalOptions(
    command
      .option('--tables <list>', 'comma-separated tables (default: every table on both sides)')
      .option(
        '--chunk <n>',
        'rows per primary-key chunk (default: verify.chunkSize, else sized to verify.chunkBytes of row text)',
      )
      .option('--concurrency <n>', 'chunks of a table digested at once (default: verify.concurrency)')
      .option('--max-rows-per-second <n>', 'throttle over all tables (default 0 = none)')
      .option('--restart', 'ignore checkpoints of an interrupted run and start each table over')
      .option(
        '--metrics-port <port>',
        'serve progress metrics on http://127.0.0.1:<port>/metrics while running',
      ),
  );
}

/** `dualwrite verify` and `dualwrite repair`. */
export function registerVerify(program: Command): void {
  withVerifyOptions(
    program
      .command('verify')
      .description('compare whole tables in primary-key chunks; exit 1 when any row differs')
      .option('--repair', 'sync differing keys from the authoritative side and re-check them'),
  ).action(action((options: VerifyCliOptions) => runVerify(options, options.repair === true)));
  withVerifyOptions(
    program
      .command('repair')
      .description('verify, sync the differing keys from the authoritative side, re-check'),
  ).action(action((options: VerifyCliOptions) => runVerify(options, true)));
}
