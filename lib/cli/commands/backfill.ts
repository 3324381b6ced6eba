import Table from 'cli-table3';
import type { Command } from 'commander';
import { BACKFILL_DEFAULTS } from '../../backfill/backfill.js';
import { backfillFromConfig } from '../../backfill/from-config.js';
import { createProgressReporter } from '../../backfill/progress.js';
import { createDefaultLogger } from '../../observe/logger.js';
import type { Side } from '../../stage/stage.js';
import {
  action,
  configFromOptions,
  ExitCode,
  type GlobalOptions,
  output,
  intOption,
  UsageError,
  withGlobalOptions,
} from '../common.js';

interface BackfillCliOptions extends GlobalOptions {
  tables?: string;
  batch?: string;
  concurrency?: string;
  pipeline?: string;
  lanes?: string;
  maxRowsPerSecond?: string;
  from?: string;
  restart?: boolean;
  progress?: boolean;
}

export function registerBackfill(program: Command): void {
  withGlobalOptions(
    program
      .command('backfill')
      .description(
        'Copy existing rows to the other database while the app keeps writing (resumable; run again to continue)',
      )
      .option('--tables <names>', 'comma-separated tables (default: all but excluded and dualwrite_*)')
      .option('--batch <n>', `keys per batch (default ${BACKFILL_DEFAULTS.batchSize})`)
      .option('--concurrency <n>', `tables copied at once (default ${BACKFILL_DEFAULTS.concurrency})`)
      .option(
        '--pipeline <n>',
        `batches of one table in flight, locking and committing in walk order (default ${BACKFILL_DEFAULTS.pipeline})`,
      )
      .option(
        '--lanes <n>',
        `concurrent syncs per batch over disjoint lock buckets; 1 reads the source by key range (default ${BACKFILL_DEFAULTS.lanes})`,
      )
      .option('--max-rows-per-second <n>', 'throttle over all tables (default 0 = none)')
      .option(
        '--from <side>',
        'side to copy from: mysql or postgres (default: the authoritative side of the stage)',
      )
      .option('--restart', 'ignore checkpoints and copy every table again')
      .option('--no-progress', 'no progress bars / JSON progress lines'),
  ).action(
    action(async (options: BackfillCliOptions) => {
      if (options.from !== undefined && options.from !== 'mysql' && options.from !== 'postgres') {
        throw new UsageError(`--from must be mysql or postgres, got ${options.from}`);
      }
      const config = configFromOptions(options);
      const reporter = options.progress === false ? null : createProgressReporter();
      const tty = Boolean(process.stdout.isTTY);
      const controller = new AbortController();
      const onSignal = (): void => controller.abort(new Error('interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const result = await backfillFromConfig(config, {
          tables: options.tables
            ?.split(',')
            .map((t) => t.trim())
            .filter(Boolean),
          batchSize: intOption('batch', options.batch, 1),
          concurrency: intOption('concurrency', options.concurrency, 1),
          pipeline: intOption('pipeline', options.pipeline, 1),
          lanes: intOption('lanes', options.lanes, 1),
          maxRowsPerSecond: intOption('max-rows-per-second', options.maxRowsPerSecond, 0),
          from: options.from as Side | undefined,
          restart: options.restart ?? false,
          // Bars own the terminal: only warnings and errors go to stderr then.
          logger: createDefaultLogger(process.env['DUALWRITE_LOG_LEVEL'] ?? (tty ? 'warn' : 'info')),
          onEvent: reporter ? (e) => reporter.onEvent(e) : undefined,
          signal: controller.signal,
        });
        reporter?.stop();
        output(options, result, (r) => {
          const table = new Table({
            head: ['table', 'status', 'rows', 'deleted', 'quarantined', 'seconds', 'note'],
          });
          for (const t of r.tables) {
            table.push([
              t.table,
              t.status,
              t.rows,
              t.deleted,
              t.quarantined,
              (t.durationMs / 1000).toFixed(1),
              t.reason ?? (t.resumed ? 'resumed' : ''),
            ]);
          }
          process.stdout.write(
            `${table.toString()}\n${r.rows} rows in ${(r.durationMs / 1000).toFixed(1)} s (${Math.round(r.rowsPerSecond)} rows/s)\n`,
          );
        });
        return result.ok ? ExitCode.Ok : ExitCode.Problem;
      } catch (error) {
        reporter?.stop();
        if (controller.signal.aborted) {
          process.stderr.write(
            'dualwrite: backfill interrupted; run it again to resume from the checkpoints\n',
          );
          return ExitCode.Problem;
        }
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }),
  );
}
