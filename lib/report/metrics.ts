import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export interface ShadowMetrics {
  checks: Counter<'table' | 'result'>;
  mismatches: Counter<'table'>;
  rechecks: Counter<'table' | 'outcome'>;
  skipped: Counter<'reason'>;
  dismissed: Counter<'table' | 'reason'>;
  confirmReads: Counter<'table'>;
  readSeconds: Histogram<'side'>;
  queued: Gauge;
}

/** Shadow-read metrics in `registry` (created once per registry; shared by every reader using it). */
export function shadowMetrics(registry: Registry): ShadowMetrics {
  const registers = [registry];
  return {
    checks: getOrCreate(
      registry,
      'dualwrite_shadow_checks_total',
      () =>
        new Counter({
          name: 'dualwrite_shadow_checks_total',
          help: 'Shadow reads compared, by table and result (match, mismatch, error)',
          labelNames: ['table', 'result'],
          registers,
        }),
    ),
    mismatches: getOrCreate(
      registry,
      'dualwrite_shadow_mismatches_total',
      () =>
        new Counter({
          name: 'dualwrite_shadow_mismatches_total',
          help: 'Rows reported different by shadow reads',
          labelNames: ['table'],
          registers,
        }),
    ),
    rechecks: getOrCreate(
      registry,
      'dualwrite_shadow_rechecks_total',
      () =>
        new Counter({
          name: 'dualwrite_shadow_rechecks_total',
          help: 'Differing reads confirmed again, by outcome (resolved, mismatch, unsettled, unordered-limit)',
          labelNames: ['table', 'outcome'],
          registers,
        }),
    ),
    skipped: getOrCreate(
      registry,
      'dualwrite_shadow_skipped_total',
      () =>
        new Counter({
          name: 'dualwrite_shadow_skipped_total',
          help: 'Sampled reads not compared, by reason (overload, closed, non-deterministic)',
          labelNames: ['reason'],
          registers,
        }),
    ),
    dismissed: getOrCreate(
      registry,
      'dualwrite_shadow_dismissed_total',
      () =>
        new Counter({
          name: 'dualwrite_shadow_dismissed_total',
          help: 'Reads that differed at first and were not counted, by reason (lag, unsettled, unordered-limit)',
          labelNames: ['table', 'reason'],
          registers,
        }),
    ),
    confirmReads: getOrCreate(
      registry,
      'dualwrite_shadow_confirm_reads_total',
      () =>
        new Counter({
          name: 'dualwrite_shadow_confirm_reads_total',
          help: 'Queries run on both sides to confirm differences (re-runs and re-reads by key)',
          labelNames: ['table'],
          registers,
        }),
    ),
    readSeconds: getOrCreate(
      registry,
      'dualwrite_shadow_read_seconds',
      () =>
        new Histogram({
          name: 'dualwrite_shadow_read_seconds',
          help: 'Latency of timed reads on each side (pairs run back to back, alternating the first side)',
          labelNames: ['side'],
          buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers,
        }),
    ),
    queued: getOrCreate(
      registry,
      'dualwrite_shadow_queue_size',
      () =>
        new Gauge({
          name: 'dualwrite_shadow_queue_size',
          help: 'Shadow reads waiting or running',
          registers,
        }),
    ),
  };
}

export interface VerifyMetrics {
  rows: Counter<'table'>;
  chunks: Counter<'table' | 'result'>;
  differences: Counter<'table' | 'kind'>;
  progress: Gauge<'table'>;
}

export function verifyMetrics(registry: Registry): VerifyMetrics {
  const registers = [registry];
  return {
    rows: getOrCreate(
      registry,
      'dualwrite_verify_rows_total',
      () =>
        new Counter({
          name: 'dualwrite_verify_rows_total',
          help: 'Rows compared by verification',
          labelNames: ['table'],
          registers,
        }),
    ),
    chunks: getOrCreate(
      registry,
      'dualwrite_verify_chunks_total',
      () =>
        new Counter({
          name: 'dualwrite_verify_chunks_total',
          help: 'Primary-key chunks verified, by result (equal, different)',
          labelNames: ['table', 'result'],
          registers,
        }),
    ),
    differences: getOrCreate(
      registry,
      'dualwrite_verify_differences_total',
      () =>
        new Counter({
          name: 'dualwrite_verify_differences_total',
          help: 'Rows found missing, extra or different by verification',
          labelNames: ['table', 'kind'],
          registers,
        }),
    ),
    progress: getOrCreate(
      registry,
      'dualwrite_verify_progress_ratio',
      () =>
        new Gauge({
          name: 'dualwrite_verify_progress_ratio',
          help: 'Share of a table verified so far (0..1, from the row estimate)',
          labelNames: ['table'],
          registers,
        }),
    ),
  };
}

/**
 * Serves `registry` at http://127.0.0.1:<port>/metrics (loopback only: metrics name tables and shapes).
 * Port 0 picks a free port; read it from `server.address()`.
 */
export async function serveMetrics(registry: Registry, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}
