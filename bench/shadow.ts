// Shadow-read overhead: app read latency through the handle with shadow reads at 100% vs none.
// Reads are paced like a service's traffic (--rate reads/s, open loop); a closed loop (next read as soon as
// the previous one returns: no idle time at all for the shadow work) is measured too.
// Usage: npm run bench -- shadow [--reads 4000] [--rounds 8] [--rate 200]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Table from 'cli-table3';
import { validateConfig } from '../lib/config/load.js';
import { createDualWrite } from '../lib/handle/create.js';
import type { DualWriteDb } from '../lib/handle/types.js';
import { createSilentLogger } from '../lib/observe/logger.js';
import { quantile } from '../lib/shadow/latency.js';
import { ShadowReader } from '../lib/shadow/reader.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';
import { PATIENTS, setUpClinic } from '../test/shadow/fixture.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const reads = arg('reads', 4000);
const rounds = arg('rounds', 8);
const rate = arg('rate', 200);

const dbs = await createDatabases(uniqueDatabaseName('dwbench_shadow'));
const dir = await mkdtemp(join(tmpdir(), 'dwbench-shadow-'));
try {
  const { translators } = await setUpClinic(dbs);
  const settings = {
    stage: 'shadow',
    mysql: { url: dbs.mysqlUrl, poolMax: 4 },
    postgres: { url: dbs.pgUrl, poolMax: 4 },
    auditLog: join(dir, 'audit.jsonl'),
    shadow: {
      sampleRate: 1,
      queueSize: 10_000,
      mismatchLog: join(dir, 'mismatches.jsonl'),
      latencyFile: join(dir, 'latency.json'),
    },
  };
  const shadow = new ShadowReader({ config: validateConfig(settings), translators });
  const open = (withShadow: boolean): Promise<DualWriteDb> =>
    createDualWrite({
      config: settings,
      env: {},
      logger: createSilentLogger(),
      syncWorker: false,
      translators,
      ...(withShadow ? { readObserver: shadow } : {}),
    });
  const plain = await open(false);
  const shadowed = await open(true);

  // One app read: a patient by primary key, as the API's GET /patients/:id does.
  const timed = async (db: DualWriteDb, i: number): Promise<number> => {
    const started = performance.now();
    await db('patients')
      .where({ id: (i % PATIENTS) + 1 })
      .first();
    return performance.now() - started;
  };
  for (let i = 0; i < 300; i++) {
    await timed(plain, i);
    await timed(shadowed, i);
  }
  await shadow.onIdle();

  const summary = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), n: xs.length };
  };
  // Interleaved rounds so both variants see the same machine conditions.
  const measure = async (paced: boolean) => {
    const samples = { none: [] as number[], shadow: [] as number[] };
    const perRound = Math.ceil(reads / rounds);
    const run = async (db: DualWriteDb, into: number[]) => {
      const start = performance.now();
      for (let i = 0; i < perRound; i++) {
        if (paced) {
          const wait = start + (i * 1000) / rate - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        into.push(await timed(db, i));
      }
      await shadow.onIdle();
    };
    // ABBA order: neither variant always runs first (warm caches, the other's leftover work).
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        await run(plain, samples.none);
        await run(shadowed, samples.shadow);
      } else {
        await run(shadowed, samples.shadow);
        await run(plain, samples.none);
      }
    }
    // Noise floor: the no-shadow reads of the first half of the rounds against those of the second half.
    const half = Math.floor(samples.none.length / 2);
    const noise = summary(samples.none.slice(0, half)).p50 / summary(samples.none.slice(half)).p50;
    return { none: summary(samples.none), shadow: summary(samples.shadow), noise };
  };
  const paced = await measure(true);
  const closed = await measure(false);
  const stats = shadow.stats();
  const shape = stats.latency.find((l) => /patients/.test(l.shape));
  const results = {
    reads_per_variant: paced.none.n,
    rate_per_s: rate,
    read_p50_ms_none: round(paced.none.p50),
    read_p99_ms_none: round(paced.none.p99),
    read_p50_ms_shadow: round(paced.shadow.p50),
    read_p99_ms_shadow: round(paced.shadow.p99),
    read_p50_ratio: round(paced.shadow.p50 / paced.none.p50),
    read_p99_ratio: round(paced.shadow.p99 / paced.none.p99),
    noise_p50_ratio: round(paced.noise),
    closed_loop_read_p50_ms_none: round(closed.none.p50),
    closed_loop_read_p50_ms_shadow: round(closed.shadow.p50),
    closed_loop_read_p50_ratio: round(closed.shadow.p50 / closed.none.p50),
    closed_loop_noise_p50_ratio: round(closed.noise),
    shadow_checks: stats.checks,
    shadow_mismatches: stats.mismatches,
    shadow_skipped: stats.skipped,
    mysql_query_p50_ms: shape?.mysql?.p50 ?? null,
    postgres_query_p50_ms: shape?.postgres?.p50 ?? null,
    target_read_p50_ratio: 1.05,
  };
  await plain.destroy();
  await shadowed.destroy();
  await shadow.close();

  const table = new Table({ head: ['metric', 'value'] });
  for (const [k, v] of Object.entries(results)) table.push([k, String(v)]);
  console.log(table.toString());
  await mkdir('bench-results', { recursive: true });
  await writeFile(
    'bench-results/shadow.json',
    `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  await dropDatabases(dbs);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
