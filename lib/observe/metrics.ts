import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Breaker states as gauge values. */
export const BreakerStateValue = { closed: 0, halfOpen: 1, open: 2 } as const;

/** dualwrite's counters and gauges, registered on their own Registry (never prom-client's global one). */
export interface DualWriteMetrics {
  readonly registry: Registry;
  /** Outbox rows waiting, by authoritative side. */
  readonly backlog: Gauge<'side'>;
  /** Seconds from the outbox row's creation (the app's commit) to the sync's commit on the target. */
  readonly lag: Histogram<'to'>;
  /** Keys written on the target, by table and op (upsert | delete). */
  readonly synced: Counter<'table' | 'op'>;
  /** Failed sync attempts that were scheduled again. */
  readonly retries: Counter<'table'>;
  /**
   * Outbox claim transactions a deadlock rolled back, by side. Harmless: the rows stay and sync again
   * (sync is idempotent); counted to show the load they add.
   */
  readonly outboxDeadlocks: Counter<'side'>;
  /** Keys put in quarantine, by table and code. */
  readonly quarantined: Counter<'table' | 'code'>;
  /** Breaker in front of a side: 0 closed, 1 half-open, 2 open. */
  readonly breakerState: Gauge<'side'>;
}

/** Creates the metrics on `registry` (a new one by default). Call once per registry. */
export function createMetrics(registry: Registry = new Registry()): DualWriteMetrics {
  return {
    registry,
    backlog: new Gauge({
      name: 'dualwrite_outbox_backlog',
      help: 'Outbox rows waiting to be synced',
      labelNames: ['side'],
      registers: [registry],
    }),
    lag: new Histogram({
      name: 'dualwrite_sync_lag_seconds',
      help: 'Time from the captured write to its sync on the target',
      labelNames: ['to'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    synced: new Counter({
      name: 'dualwrite_synced_keys_total',
      help: 'Keys written on the target by sync',
      labelNames: ['table', 'op'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'dualwrite_sync_retries_total',
      help: 'Failed sync attempts scheduled again with backoff',
      labelNames: ['table'],
      registers: [registry],
    }),
    outboxDeadlocks: new Counter({
      name: 'dualwrite_outbox_deadlocks_total',
      help: 'Outbox claim transactions rolled back by a deadlock (their rows sync again)',
      labelNames: ['side'],
      registers: [registry],
    }),
    quarantined: new Counter({
      name: 'dualwrite_quarantined_keys_total',
      help: 'Keys put in quarantine',
      labelNames: ['table', 'code'],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'dualwrite_breaker_state',
      help: 'Circuit breaker in front of a database: 0 closed, 1 half-open, 2 open',
      labelNames: ['side'],
      registers: [registry],
    }),
  };
}
