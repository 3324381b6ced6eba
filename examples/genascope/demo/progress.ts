import { createProgressReporter } from '../../../lib/backfill/progress.js';
import type { BackfillEvent } from '../../../lib/backfill/types.js';

export interface DemoProgress {
  onEvent(event: BackfillEvent): void;
  stop(): void;
}

/**
 * Backfill progress for the narration: dualwrite's own bars on a terminal; in a log (CI) one line
 * per quarter of the rows instead of a JSON line per batch. `total` is the source row count when
 * the backfill started (the app's inserts meanwhile may push the count past it).
 */
export function demoProgress(total: number, say: (line: string) => void): DemoProgress {
  if (process.stdout.isTTY) return createProgressReporter({ tty: true });
  const done = new Map<string, number>();
  let quarter = 1;
  return {
    onEvent(event) {
      if (event.type === 'tableFailed') say(`backfill of ${event.table} failed: ${event.error.message}`);
      if (event.type !== 'batch' && event.type !== 'tableDone') return;
      done.set(event.table, event.rowsDone);
      const rows = [...done.values()].reduce((a, b) => a + b, 0);
      while (quarter <= 4 && rows >= (Math.max(total, 1) * quarter) / 4) {
        say(`backfill ${quarter * 25}%: ${rows} of ~${total} rows (${event.table})`);
        quarter++;
      }
    },
    stop: () => undefined,
  };
}
