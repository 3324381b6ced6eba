// Shadow-read overhead: app read latency through the handle with shadow reads at 100% vs none, while a
// writer updates hot rows through dualwrite (so some reads race writes and their confirmation work is
// counted). Reads are paced like a service's traffic (--rate reads/s, open loop); a closed loop (next read
// as soon as the previous one returns: no idle time at all for the shadow work) is measured too.
// Then the latency check: the report's PostgreSQL/MySQL ratio for point reads against the same reads timed
// directly with plain knex on each database, in one run.
// Usage: npm run bench -- shadow [--mysql|--mariadb] [--reads 4000] [--rounds 8] [--rate 200] [--write-rate 50]
//        [--latency-rate 0.1] [--check-reads 2000] [--check-rate 100]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Table from 'cli-table3';
import type { Knex } from 'knex';
import { validateConfig } from '../lib/config/load.js';
import { createDualWrite } from '../lib/handle/create.js';
import { runObserved } from '../lib/handle/knex-internals.js';
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
const writeRate = arg('write-rate', 50);
/** Share of compared reads also timed on both sides (shadow.latencySampleRate; its default). */
const latencyRate = arg('latency-rate', 0.1);
/** Reads and their pace for the latency-ratio check. */
const checkReads = arg('check-reads', 2000);
const checkRate = arg('check-rate', 100);
/** Rows the writer updates (patients 1..HOT): HOT of every PATIENTS reads hit one of them. */
const HOT = 10;

const dbs = await createDatabases(uniqueDatabaseName('dwbench_shadow'));
const dir = await mkdtemp(join(tmpdir(), 'dwbench-shadow-'));
const load = [loadavg()[0] ?? 0];
try {
  const { translators } = await setUpClinic(dbs);
  const settings = {
    stage: 'shadow',
    mysql: { url: dbs.mysqlUrl, poolMax: 4 },
    postgres: { url: dbs.pgUrl, poolMax: 4 },
    auditLog: join(dir, 'audit.jsonl'),
    shadow: {
      sampleRate: 1,
      latencySampleRate: latencyRate,
      queueSize: 10_000,
      mismatchLog: join(dir, 'mismatches.jsonl'),
      latencyFile: join(dir, 'latency.json'),
    },
  };
  const shadow = new ShadowReader({ config: validateConfig(settings), translators });
  const open = (withShadow: boolean, syncWorker: boolean): Promise<DualWriteDb> =>
    createDualWrite({
      config: settings,
      env: {},
      logger: createSilentLogger(),
      syncWorker,
      translators,
      ...(withShadow ? { readObserver: shadow } : {}),
    });
  const plain = await open(false, false);
  const shadowed = await open(true, false);
  // Writes go through their own handle (with the sync worker), the same for both variants.
  const writes = await open(false, true);

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

  let writing = true;
  let written = 0;
  const writer = (async () => {
    const start = performance.now();
    while (writing) {
      await writes('patients')
        .where({ id: (written % HOT) + 1 })
        .update({
          balance: (written % 1000) + 0.25,
          seen_at: `2024-05-01 12:00:${String(written % 60).padStart(2, '0')}.5`,
        });
      written += 1;
      const wait = start + (written * 1000) / writeRate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();

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
  writing = false;
  await writer;
  await writes.dualwrite.worker?.drain({ timeoutMs: 30_000 });
  load.push(loadavg()[0] ?? 0);
  const stats = shadow.stats();
  const loaded = stats.latency.find((l) => /patients/.test(l.shape));
  await plain.destroy();
  await shadowed.destroy();
  await writes.destroy();
  await shadow.close();

  // The ratio check: point reads at a service's pace (the app's own traffic loads only the authoritative
  // database, so a saturated loop would tilt any comparison), every compared read timed as a pair.
  const checker = new ShadowReader({
    config: validateConfig({ ...settings, shadow: { ...settings.shadow, latencySampleRate: 1 } }),
    translators,
  });
  const checked = await createDualWrite({
    config: settings,
    env: {},
    logger: createSilentLogger(),
    syncWorker: false,
    translators,
    readObserver: checker,
  });
  // The same point reads timed directly on each database with plain knex, alternating which goes first,
  // timed like the reader's pairs (the database call once a connection is held), interleaved with the
  // handle's reads so both measurements share the machine's moments.
  const timeDirect = async (k: Knex, i: number): Promise<number> =>
    (
      await runObserved(
        k('patients')
          .where({ id: (i % PATIENTS) + 1 })
          .first(),
      )
    ).ms;
  for (let i = 0; i < 300; i++) {
    await timeDirect(dbs.mysql, i);
    await timeDirect(dbs.pg, i);
  }
  const d = { mysql: [] as number[], postgres: [] as number[] };
  const checkStart = performance.now();
  for (let i = 0; i < checkReads; i++) {
    const wait = checkStart + (i * 1000) / checkRate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await timed(checked, i);
    if (i % 2 === 0) {
      d.mysql.push(await timeDirect(dbs.mysql, i));
      d.postgres.push(await timeDirect(dbs.pg, i));
    } else {
      d.postgres.push(await timeDirect(dbs.pg, i));
      d.mysql.push(await timeDirect(dbs.mysql, i));
    }
  }
  await new Promise((r) => setImmediate(r));
  await checker.onIdle();
  const shape = checker.stats().latency.find((l) => /patients/.test(l.shape));
  await checked.destroy();
  await checker.close();
  const direct = checkReads;
  const p50 = (xs: number[]) => summary(xs).p50;
  const directRatio = p50(d.postgres) / p50(d.mysql);
  const half = Math.floor(direct / 2);
  // Noise of the direct ratio: its first half against its second half.
  const directNoise =
    p50(d.postgres.slice(0, half)) /
    p50(d.mysql.slice(0, half)) /
    (p50(d.postgres.slice(half)) / p50(d.mysql.slice(half)));
  const reportRatio = shape?.p50Ratio ?? null;
  const tolerance = Math.max(0.15, 2 * Math.abs(directNoise - 1));
  const agreement = reportRatio === null ? null : reportRatio / directRatio;

  const results = {
    reads_per_variant: paced.none.n,
    rate_per_s: rate,
    writes_per_s: writeRate,
    latency_sample_rate: latencyRate,
    writes_done: written,
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
    shadow_dismissed_lag: stats.dismissed.lag,
    shadow_dismissed_unsettled: stats.dismissed.unsettled,
    shadow_skipped: stats.skipped,
    confirmation_reads: stats.confirmation.reads,
    confirmation_ms: stats.confirmation.ms,
    report_ratio_p50_saturated_loops: loaded?.p50Ratio ?? null,
    check_reads: checkReads,
    check_rate_per_s: checkRate,
    report_pairs: shape?.pairs ?? 0,
    report_mysql_p50_ms: shape?.mysql?.p50 ?? null,
    report_postgres_p50_ms: shape?.postgres?.p50 ?? null,
    report_ratio_p50: reportRatio,
    report_pair_ratio_p25_p75: shape?.ratioSpread
      ? `${shape.ratioSpread.p25}–${shape.ratioSpread.p75}`
      : null,
    direct_reads_per_side: direct,
    direct_mysql_p50_ms: round(p50(d.mysql)),
    direct_postgres_p50_ms: round(p50(d.postgres)),
    direct_ratio_p50: round(directRatio),
    direct_ratio_noise: round(directNoise),
    report_over_direct: agreement === null ? null : round(agreement),
    ratio_tolerance: round(tolerance),
    ratio_agrees: agreement !== null && Math.abs(agreement - 1) <= tolerance,
    load_average_1m: `${load.map((l) => l.toFixed(1)).join(' → ')}`,
    target_read_p50_ratio: 1.05,
  };

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
