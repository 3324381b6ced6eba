import type { Side } from '../stage/stage.js';

/** Latency summary of one side for one query shape, ms. */
export interface LatencySummary {
  count: number;
  mean: number;
  /** Quartiles of the recent samples: p25–p75 is the spread. */
  p25: number;
  p50: number;
  p75: number;
  p99: number;
  max: number;
}

export interface ShapeLatency {
  fingerprint: string;
  shape: string;
  table: string | null;
  mysql: LatencySummary | null;
  postgres: LatencySummary | null;
  /** postgres p50 / mysql p50 (null until both sides have samples). */
  p50Ratio: number | null;
  /** Timed pairs (both sides run back to back, alternating which runs first). */
  pairs: number;
  /** Quartiles of the per-pair ratios postgres / mysql: how far the ratio can be trusted. */
  ratioSpread: { p25: number; p75: number } | null;
}

/** Samples kept per side and shape: recent ones, so quantiles follow the current behaviour. */
const WINDOW = 2048;

class Window {
  #samples: number[] = [];
  // Next slot to overwrite once the window is full.
  #next = 0;
  count = 0;
  sum = 0;
  max = 0;

  add(ms: number): void {
    this.count += 1;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    if (this.#samples.length < WINDOW) this.#samples.push(ms);
    else {
      this.#samples[this.#next] = ms;
      this.#next = (this.#next + 1) % WINDOW;
    }
  }

  sorted(): number[] {
    return [...this.#samples].sort((a, b) => a - b);
  }

  summary(): LatencySummary | null {
    if (this.count === 0) return null;
    const sorted = this.sorted();
    return {
      count: this.count,
      mean: round(this.sum / this.count),
      p25: round(quantile(sorted, 0.25)),
      p50: round(quantile(sorted, 0.5)),
      p75: round(quantile(sorted, 0.75)),
      p99: round(quantile(sorted, 0.99)),
      max: round(this.max),
    };
  }
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? 0;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

interface Entry {
  shape: string;
  table: string | null;
  sides: Record<Side, Window>;
  ratios: Window;
}

/**
 * Both sides' latency per query shape: answers "is PostgreSQL as fast as MySQL for our queries?". Samples
 * come in pairs, both sides timed the same way under the same conditions, so the ratio is the databases'.
 */
export class LatencyBook {
  #shapes = new Map<string, Entry>();

  #entry(fingerprint: string, shape: string, table: string | null): Entry {
    let entry = this.#shapes.get(fingerprint);
    if (!entry) {
      entry = { shape, table, sides: { mysql: new Window(), postgres: new Window() }, ratios: new Window() };
      this.#shapes.set(fingerprint, entry);
    }
    return entry;
  }

  /** One pair: the same read timed on both sides, back to back. */
  recordPair(fingerprint: string, shape: string, table: string | null, ms: Record<Side, number>): void {
    const entry = this.#entry(fingerprint, shape, table);
    entry.sides.mysql.add(ms.mysql);
    entry.sides.postgres.add(ms.postgres);
    if (ms.mysql > 0) entry.ratios.add(ms.postgres / ms.mysql);
  }

  snapshot(): ShapeLatency[] {
    return [...this.#shapes.entries()].map(([fingerprint, e]) => {
      const mysql = e.sides.mysql.summary();
      const postgres = e.sides.postgres.summary();
      const ratios = e.ratios.sorted();
      return {
        fingerprint,
        shape: e.shape,
        table: e.table,
        mysql,
        postgres,
        p50Ratio: mysql && postgres && mysql.p50 > 0 ? round(postgres.p50 / mysql.p50) : null,
        pairs: e.ratios.count,
        ratioSpread:
          ratios.length > 0
            ? { p25: round(quantile(ratios, 0.25)), p75: round(quantile(ratios, 0.75)) }
            : null,
      };
    });
  }
}
