import cliProgress from 'cli-progress';
import type { BackfillEvent } from '../../../lib/backfill/types.js';

/**
 * Shows a backfill's progress: a bar on a terminal, a line per quarter otherwise (CI logs).
 * `total` is the number of source rows when the backfill started; rows the app inserts meanwhile
 * may push the count past it.
 */
export class BackfillProgress {
  readonly #bar: cliProgress.SingleBar | undefined;
  readonly #total: number;
  readonly #say: (line: string) => void;
  /** Rows done per table (the backfill reports per-table running totals). */
  readonly #done = new Map<string, number>();
  #nextQuarter = 1;
  #rate = 0;

  constructor(total: number, say: (line: string) => void) {
    this.#total = Math.max(total, 1);
    this.#say = say;
    if (process.stdout.isTTY) {
      this.#bar = new cliProgress.SingleBar(
        { format: '  backfill [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | {table}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(this.#total, 0, { rate: 0, table: '' });
    }
  }

  onEvent(event: BackfillEvent): void {
    if (event.type === 'batch' || event.type === 'tableStart') {
      this.#done.set(event.table, event.rowsDone);
      if (event.type === 'batch') this.#rate = Math.round(event.rate);
      this.#update(event.table);
    } else if (event.type === 'tableFailed') {
      this.#say(`backfill of ${event.table} failed: ${event.error.message}`);
    }
  }

  stop(): void {
    this.#bar?.stop();
  }

  #update(table: string): void {
    const done = [...this.#done.values()].reduce((a, b) => a + b, 0);
    const value = Math.min(done, this.#total);
    this.#bar?.update(value, { rate: this.#rate, table });
    if (!this.#bar) {
      while (this.#nextQuarter <= 4 && value >= (this.#total * this.#nextQuarter) / 4) {
        this.#say(`backfill ${this.#nextQuarter * 25}%: ${done} rows (${this.#rate} rows/s on ${table})`);
        this.#nextQuarter++;
      }
    }
  }
}
