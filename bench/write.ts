// Write-path benchmark: app-visible write latency mysql-only vs dual-write, sync lag at a steady rate,
// the highest sustained rate with bounded lag, flip pause under load, and lost writes.
// Usage: npm run bench -- write [--n 3000] [--rate 300] [--seconds 5] [--flips 10]
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { createDualWrite } from '../lib/handle/create.js';
import type { DualWriteDb } from '../lib/handle/types.js';
import { initMetaTables } from '../lib/meta/init.js';
import { createSilentLogger } from '../lib/observe/logger.js';
import { writeState } from '../lib/report/state.js';
import type { Stage } from '../lib/stage/stage.js';
import { StateName } from '../lib/stage/state.js';
import type { SyncWorker } from '../lib/sync/worker.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const n = arg('n', 3000);
const rate = arg('rate', 300);
const seconds = arg('seconds', 5);
const flipCount = arg('flips', 10);

function pct(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number);
}
const round = (v: number): number => Math.round(v * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dbs = await createDatabases(uniqueDatabaseName('dwbench_write'));
const results: Record<string, number> = {};
const open = (stage: Stage, syncWorker = true): Promise<DualWriteDb> =>
  createDualWrite({
    config: {
      stage,
      mysql: { url: dbs.mysqlUrl },
      postgres: { url: dbs.pgUrl },
      flip: { quietWindowMs: 0, requireVerificationWithinMs: 0 },
      auditLog: 'bench-results/write-audit.jsonl',
    },
    logger: createSilentLogger(),
    syncWorker,
    env: {},
  });

/** Writes at `perSecond` (open loop) for `ms`; returns the achieved rate. */
async function steady(db: DualWriteDb, perSecond: number, ms: number, idBase: number): Promise<number> {
  const total = Math.round((perSecond * ms) / 1000);
  const started = performance.now();
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await sleep(wait);
    const id = idBase + (i % 5000);
    const p = db('items')
      .insert({ id, name: `s${i}`, qty: i })
      .onConflict('id')
      .merge()
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return total / ((performance.now() - started) / 1000);
}

try {
  await dbs.mysql.raw(
    'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL)',
  );
  await dbs.pg.raw(
    'CREATE TABLE items (id integer PRIMARY KEY, name varchar(100) NOT NULL, qty integer NOT NULL)',
  );
  await initMetaTables(dbs.mysql, dbs.pg);
  await writeState(dbs.pg, `${StateName.backfillPrefix}items`, { done: true });

  // 1. App-visible latency, one write at a time; the variants of a pair alternate in blocks so that
  //    noise from other processes on the machine hits both alike.
  //    a) mysql-only vs dual-write with the sync worker in the app process (the default);
  //    b) mysql-only vs dual-write whose outbox another process drains (syncWorker: false in the app),
  //       which separates the capture cost from the worker's CPU use inside the app's event loop;
  //    c) pg-only vs pg-primary.
  const latencyPair = async (
    label: string,
    dual: DualWriteDb,
    idBase: number,
    plainStage: Stage = 'mysql-only',
  ): Promise<void> => {
    const plain = await open(plainStage, false);
    const lat: Record<'plain' | 'dual', number[]> = { plain: [], dual: [] };
    let id = idBase;
    for (let block = 0; block < n / 50; block++) {
      for (const [variant, db] of [
        ['plain', plain],
        ['dual', dual],
      ] as const) {
        for (let i = 0; i < 50; i++) {
          const t0 = performance.now();
          if (i % 2 === 0) await db('items').insert({ id: id++, name: `l${i}`, qty: i });
          else
            await db('items')
              .where({ id: id - 1 })
              .update({ qty: i });
          lat[variant].push(performance.now() - t0);
        }
      }
    }
    await plain.destroy();
    const [plainName, dualName] = (
      plainStage === 'mysql-only' ? ['mysql_only', 'dual_write'] : ['pg_only', 'pg_primary']
    ) as [string, string];
    results[`latency_${plainName}_p50_ms${label}`] = round(pct(lat.plain, 0.5));
    results[`latency_${plainName}_p99_ms${label}`] = round(pct(lat.plain, 0.99));
    results[`latency_${dualName}_p50_ms${label}`] = round(pct(lat.dual, 0.5));
    results[`latency_${dualName}_p99_ms${label}`] = round(pct(lat.dual, 0.99));
    results[`latency_p50_ratio${label}`] = round(pct(lat.dual, 0.5) / pct(lat.plain, 0.5));
  };
  {
    const dual = await open('dual-write');
    await latencyPair('', dual, 1);
    await (dual.dualwrite.worker as SyncWorker).drain({ timeoutMs: 60_000 });
    await dual.destroy();
  }
  {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./support/drain-worker.ts', import.meta.url)),
        dbs.mysqlUrl,
        dbs.pgUrl,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const dual = await open('dual-write', false);
    try {
      await latencyPair('_external_worker', dual, 100_000);
    } finally {
      child.kill('SIGTERM');
      await dual.destroy();
    }
    // Leave an empty outbox: later sections measure lag of their own writes only.
    const drainer = await open('dual-write');
    await (drainer.dualwrite.worker as SyncWorker).drain({ timeoutMs: 60_000 });
    await drainer.destroy();
  }

  // c) after the flip: pg-only vs pg-primary (PostgreSQL leads, MySQL kept in sync for rollback).
  {
    const dual = await open('pg-primary');
    await latencyPair('_pg_primary', dual, 200_000, 'pg-only');
    await (dual.dualwrite.worker as SyncWorker).drain({ timeoutMs: 60_000 });
    await dual.destroy();
  }

  // 2. Sync lag (app commit → commit on PostgreSQL) at a steady rate.
  {
    const db = await open('dual-write');
    const worker = db.dualwrite.worker as SyncWorker;
    const achieved = await steady(db, rate, seconds * 1000, 1_000_000);
    await worker.drain({ timeoutMs: 60_000 });
    const lag = worker.lagStats();
    await db.destroy();
    results['steady_rate_per_s'] = Math.round(achieved);
    results['lag_p50_ms'] = round(lag.p50);
    results['lag_p99_ms'] = round(lag.p99);
  }

  // 3. Highest sustained rate: raise the rate while the achieved rate keeps up (95%) and lag p99
  //    stays under 1 s with the backlog drained within 2 s after the burst.
  {
    let best = 0;
    for (const r of [100, 200, 300, 600, 1200, 2400, 4800, 9600]) {
      const db = await open('dual-write');
      const worker = db.dualwrite.worker as SyncWorker;
      const achieved = await steady(db, r, 3000, 2_000_000);
      let drained = true;
      await worker.drain({ timeoutMs: 2000 }).catch(() => (drained = false));
      const lag = worker.lagStats();
      await db.destroy();
      const ok = achieved >= 0.95 * r && lag.p99 <= 1000 && drained;
      console.log(
        `  rate ${r}/s: achieved ${Math.round(achieved)}/s, lag p99 ${round(lag.p99)} ms, drained ${drained}`,
      );
      if (!ok) break;
      best = r;
    }
    results['max_sustained_rate_per_s'] = best;
  }

  // 4. Flip pause under load, and lost writes: writers keep a ledger of acknowledged values while the
  //    authoritative role flips back and forth; afterwards both databases must hold every one of them.
  {
    await dbs.mysql('items').where('id', '>=', 3_000_000).del();
    await dbs.pg('items').where('id', '>=', 3_000_000).del();
    const db = await open('shadow');
    const ledger = new Map<number, number>();
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      let i = 0;
      while (!stop) {
        const id = 3_000_000 + w * 100_000 + (i % 500);
        await db('items')
          .insert({ id, name: `f${w}`, qty: i })
          .onConflict('id')
          .merge();
        ledger.set(id, i);
        i++;
        await sleep(10);
      }
    });
    const pauses: number[] = [];
    const stages: Stage[] = ['pg-primary', 'shadow'];
    for (let f = 0; f < flipCount; f++) {
      await sleep(300);
      const change = await db.dualwrite.setStage(stages[f % 2] as Stage, { source: 'bench' });
      if (change.pauseMs !== null) pauses.push(change.pauseMs);
    }
    stop = true;
    await Promise.all(writers);
    await (db.dualwrite.worker as SyncWorker).drain({ timeoutMs: 60_000 });
    await db.destroy();
    let lost = 0;
    for (const knex of [dbs.mysql, dbs.pg]) {
      const rows = (await knex('items').where('id', '>=', 3_000_000).select('id', 'qty')) as {
        id: number;
        qty: number;
      }[];
      const have = new Map(rows.map((r) => [r.id, r.qty]));
      for (const [id, qty] of ledger) if (have.get(id) !== qty) lost++;
    }
    results['flips'] = pauses.length;
    results['flip_pause_p50_ms'] = round(pct(pauses, 0.5));
    results['flip_pause_p99_ms'] = round(pct(pauses, 0.99));
    results['ledger_keys'] = ledger.size;
    results['lost_writes'] = lost;
  }
} finally {
  await dropDatabases(dbs);
}

const table = new Table({ head: ['metric', 'value', 'target'] });
const targets: Record<string, string> = {
  latency_p50_ratio: '≤ 1.15',
  lag_p99_ms: '≤ 100',
  flip_pause_p99_ms: '≤ 500',
  lost_writes: '0',
};
for (const [k, v] of Object.entries(results)) table.push([k, String(v), targets[k] ?? '']);
console.log(
  `write bench: ${n} sequential writes per stage, ${rate} writes/s for ${seconds}s, ${flipCount} flips`,
);
console.log(table.toString());
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/write.json',
  `${JSON.stringify({ bench: 'write', at: new Date().toISOString(), params: { n, rate, seconds, flips: flipCount }, results }, null, 2)}\n`,
);
