import cliProgress from 'cli-progress';
import type { BackfillEvent } from './types.js';

export interface ProgressReporterOptions {
  /** Bars on a terminal; JSON lines otherwise. @default stream.isTTY */
  tty?: boolean;
  /** @default process.stdout */
  stream?: NodeJS.WriteStream;
  /** JSON mode: at most one `batch` line per table per interval, ms (start, done and errors always print). @default 1000 */
  intervalMs?: number;
}

export interface ProgressReporter {
  onEvent(event: BackfillEvent): void;
  /** Stops the bars (restores the cursor). */
  stop(): void;
}

/**
 * Shows backfill progress: one cli-progress bar per table on a terminal (rows done / total, rate, ETA),
 * JSON lines (one object per event) when the output is a pipe or a file.
 */
export function createProgressReporter(options: ProgressReporterOptions = {}): ProgressReporter {
  const stream = options.stream ?? process.stdout;
  const tty = options.tty ?? Boolean(stream.isTTY);
  return tty ? barReporter(stream) : jsonReporter(stream, options.intervalMs ?? 1000);
}

function barReporter(stream: NodeJS.WriteStream): ProgressReporter {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      etaBuffer: 50,
      format:
        '{table} |{bar}| {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}{note}',
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const pad = (t: string): string => t.padEnd(24).slice(0, 24);
  return {
    onEvent(event) {
      switch (event.type) {
        case 'tableStart':
          bars.set(
            event.table,
            multibar.create(Math.max(1, event.total), event.rowsDone, {
              table: pad(event.table),
              rate: 0,
              note: event.resumed ? ' (resumed)' : '',
            }),
          );
          break;
        case 'batch': {
          const bar = bars.get(event.table);
          if (!bar) break;
          if (event.rowsDone > bar.getTotal()) bar.setTotal(event.rowsDone);
          const note =
            event.phase === 'target-only' ? ` | checking target-only rows, ${event.deleted} deleted` : '';
          bar.update(event.rowsDone, { rate: Math.round(event.rate), note });
          break;
        }
        case 'tableDone': {
          const bar = bars.get(event.table);
          bar?.setTotal(Math.max(1, event.rowsDone));
          bar?.update(event.rowsDone, {
            note: ` | done, ${event.deleted} deleted, ${event.quarantined} quarantined`,
          });
          break;
        }
        case 'tableFailed':
          bars.get(event.table)?.update({ note: ` | FAILED: ${event.error.message}` });
          break;
        case 'tableSkipped':
          multibar.log(`${event.table}: ${event.reason}\n`);
          break;
        case 'backoff':
          bars.get(event.table)?.update({ note: ` | source slow, pausing ${Math.round(event.pauseMs)} ms` });
          break;
      }
    },
    stop: () => multibar.stop(),
  };
}

function jsonReporter(stream: NodeJS.WriteStream, intervalMs: number): ProgressReporter {
  const last = new Map<string, number>();
  return {
    onEvent(event) {
      if (event.type === 'batch') {
        const now = Date.now();
        if (now - (last.get(event.table) ?? 0) < intervalMs) return;
        last.set(event.table, now);
      }
      const line =
        event.type === 'tableFailed'
          ? { ...event, error: event.error.message }
          : event.type === 'batch'
            ? { ...event, latencyMs: Math.round(event.latencyMs), rate: Math.round(event.rate) }
            : event;
      stream.write(`${JSON.stringify({ event: 'backfill', at: new Date().toISOString(), ...line })}\n`);
    },
    stop: () => undefined,
  };
}
