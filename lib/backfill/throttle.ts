import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket in rows per second shared by every table of a backfill. `take(n)` spends n tokens,
 * going into debt when needed, and waits until the debt is paid back: after any call returns, the rows
 * taken since the start are at most `rate × elapsed + n` (a batch never exceeds the average rate by more
 * than one batch). The bucket starts empty so a fresh run cannot burst above the rate.
 */
export class TokenBucket {
  readonly #rate: number;
  /** Tokens available (negative: owed); refilled continuously from #last. */
  #tokens = 0;
  #last: number;
  readonly #burst: number;

  /** @param rate rows per second; 0 or Infinity disables the limit. @param burst most tokens saved up (default one second). */
  constructor(rate: number, burst?: number) {
    if (!(rate >= 0)) throw new TypeError(`TokenBucket: rate must be >= 0, received ${rate}`);
    this.#rate = rate;
    this.#burst = burst ?? rate;
    this.#last = performance.now();
  }

  get limited(): boolean {
    return this.#rate > 0 && Number.isFinite(this.#rate);
  }

  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (!this.limited) return;
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    this.#tokens -= n;
    if (this.#tokens < 0) await sleep((-this.#tokens / this.#rate) * 1000, undefined, { signal });
  }
}

export interface BackoffOptions {
  /** Batch size to start with and grow back to. */
  batchSize: number;
  /** A batch slower than this (ms) counts as the source being slow. */
  slowBatchMs: number;
  /** Smallest batch size the backoff shrinks to. @default 10 */
  minBatchSize?: number;
}

/**
 * Adapts the batch size to the source's latency: a slow batch halves the size and asks for a pause as
 * long as the batch took (the source gets as much idle time as it was busy); fast batches grow the size
 * back by a quarter at a time up to the configured size.
 */
export class Backoff {
  readonly #max: number;
  readonly #min: number;
  readonly #slowMs: number;
  #size: number;

  constructor(options: BackoffOptions) {
    this.#max = options.batchSize;
    this.#min = Math.min(options.minBatchSize ?? 10, options.batchSize);
    this.#slowMs = options.slowBatchMs;
    this.#size = options.batchSize;
  }

  get batchSize(): number {
    return this.#size;
  }

  /** Records a batch's latency; returns the pause to take before the next batch (0 when none). */
  record(latencyMs: number): number {
    if (latencyMs > this.#slowMs) {
      this.#size = Math.max(this.#min, Math.floor(this.#size / 2));
      return Math.min(latencyMs, this.#slowMs * 4);
    }
    if (latencyMs < this.#slowMs / 2 && this.#size < this.#max) {
      this.#size = Math.min(this.#max, Math.ceil(this.#size * 1.25));
    }
    return 0;
  }
}
