// Sync benchmark: lag at a steady write rate, outbox drain rate, and bulk sync rate (rows vs COPY).
// Usage: npm run bench -- sync [--rate 300] [--seconds 5] [--drain 20000] [--bulk 50000]
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import Table from 'cli-table3';
import { initMetaTables } from '../lib/meta/init.js';
import { enqueueKeys } from '../lib/sync/outbox.js';
import { KeySyncer } from '../lib/sync/syncer.js';
import { SyncWorker } from '../lib/sync/worker.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';
import { translatorsFor } from '../test/sync/support/fixtures.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const rate = arg('rate', 300);
const seconds = arg('seconds', 5);
const drainRows = arg('drain', 20_000);
const bulkRows = arg('bulk', 50_000);

const dbs = await createDatabases(uniqueDatabaseName('dwbench_sync'));
const results: Record<string, number> = {};
try {
  await dbs.mysql.raw(
    `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL, note TEXT NULL)`,
  );
  await dbs.pg.raw(
    `CREATE TABLE items (id integer PRIMARY KEY, name varchar(100) NOT NULL, qty integer NOT NULL, note text NULL)`,
  );
  await initMetaTables(dbs.mysql, dbs.pg);
  const translators = await translatorsFor(dbs.mysql, dbs.pg);
  const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });

  // 1. Lag at a steady rate: each write is a MySQL transaction with its outbox row, then notify().
  {
    const worker = new SyncWorker({ mysql: dbs.mysql, pg: dbs.pg, syncer, authoritative: () => 'mysql' });
    const total = rate * seconds;
    const started = performance.now();
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = 1 + (i % 5000);
      const p = dbs.mysql
        .transaction(async (trx) => {
          await trx.raw(
            'INSERT INTO items (id, name, qty) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), qty = VALUES(qty)',
            [id, `item ${i}`, i],
          );
          await enqueueKeys(trx, 'items', [[id]]);
        })
        .then(() => worker.notify())
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
    const achieved = total / ((performance.now() - started) / 1000);
    await worker.drain({ timeoutMs: 60_000 });
    const lag = worker.lagStats();
    await worker.close();
    results['write_rate_per_s'] = Math.round(achieved);
    results['lag_p50_ms'] = Number(lag.p50.toFixed(1));
    results['lag_p99_ms'] = Number(lag.p99.toFixed(1));
    results['lag_max_ms'] = Number(lag.max.toFixed(1));
  }

  // 2. Drain rate: a backlog of keys waiting in the outbox, drained by one worker (default config).
  {
    await dbs.mysql('items').del();
    const rows = Array.from({ length: drainRows }, (_, i) => ({ id: 100_000 + i, name: `d${i}`, qty: i }));
    for (let i = 0; i < rows.length; i += 2000) await dbs.mysql('items').insert(rows.slice(i, i + 2000));
    await enqueueKeys(
      dbs.mysql,
      'items',
      rows.map((r) => [r.id]),
    );
    const worker = new SyncWorker({
      mysql: dbs.mysql,
      pg: dbs.pg,
      syncer,
      authoritative: () => 'mysql',
      start: false,
    });
    const t0 = performance.now();
    await worker.drain({ timeoutMs: 300_000 });
    const ms = performance.now() - t0;
    await worker.close();
    results['drain_keys_per_s'] = Math.round(drainRows / (ms / 1000));
  }

  // 3. Bulk sync (backfill's path): batches of 5000 keys, multi-row INSERT vs COPY + staging table.
  {
    const rows = Array.from({ length: bulkRows }, (_, i) => ({
      id: 1_000_000 + i,
      name: `b${i}`,
      qty: i,
      note: 'x'.repeat(40),
    }));
    for (let i = 0; i < rows.length; i += 2000) await dbs.mysql('items').insert(rows.slice(i, i + 2000));
    const keys = rows.map((r) => [r.id] as const);
    for (const [label, threshold] of [
      ['rows', Number.MAX_SAFE_INTEGER],
      ['copy', 1],
    ] as const) {
      await dbs.pg('items').where('id', '>=', 1_000_000).del();
      const s = new KeySyncer({
        mysql: dbs.mysql,
        pg: dbs.pg,
        translators,
        copyThreshold: threshold,
        chunkSize: 5000,
      });
      const t0 = performance.now();
      for (let i = 0; i < keys.length; i += 5000) await s.sync('items', keys.slice(i, i + 5000), 'mysql');
      results[`bulk_${label}_rows_per_s`] = Math.round(bulkRows / ((performance.now() - t0) / 1000));
    }
  }
} finally {
  await dropDatabases(dbs);
}

const table = new Table({ head: ['metric', 'value'] });
for (const [k, v] of Object.entries(results)) table.push([k, String(v)]);
const machine = { cpus: cpus().length, loadavg1m: Number((loadavg()[0] ?? 0).toFixed(1)) };
console.log(
  `sync bench: ${rate} writes/s for ${seconds}s, drain ${drainRows} keys, bulk ${bulkRows} rows (${machine.cpus} cpus, load ${machine.loadavg1m})`,
);
console.log(table.toString());
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/sync.json',
  `${JSON.stringify({ bench: 'sync', at: new Date().toISOString(), params: { rate, seconds, drainRows, bulkRows }, machine, results }, null, 2)}\n`,
);
