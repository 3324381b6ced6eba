import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { createDualWrite } from '../../lib/handle/create.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { isConfirmed, readMismatches, type MismatchRecord } from '../../lib/report/records.js';
import { writeReport } from '../../lib/report/report.js';
import { readState } from '../../lib/report/state.js';
import { LAST_MISMATCH_STATE, ShadowReader, type ShadowStats } from '../../lib/shadow/reader.js';
import { replayMismatches } from '../../lib/shadow/replay.js';
import { flipChecks } from '../../lib/stage/checks.js';
import { otherSide, type Stage } from '../../lib/stage/stage.js';
import { useFreshDatabases } from '../support/databases.js';
import {
  plantDifferences,
  random,
  READS,
  setUpWorkload,
  VISIT_IDS_FROM,
  writer,
  type Plant,
  type Workload,
} from './workload.js';

const run = promisify(execFile);
const dbs = useFreshDatabases('dwsload');
let workload: Workload;
let dir: string;

/** How long each phase drives traffic, ms; at least every read twice, at most MAX_READS reads. */
const PHASE_MS = 3000;
const MIN_READS = 2 * READS.length;
const MAX_READS = 700;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-sload-'));
  workload = await setUpWorkload(dbs);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function settings(stage: Stage, phase: string) {
  return {
    stage,
    mysql: { url: dbs.mysqlUrl, poolMax: 6 },
    postgres: { url: dbs.pgUrl, poolMax: 6 },
    auditLog: join(dir, 'audit.jsonl'),
    sync: { pollIntervalMs: 20 },
    flip: { quietWindowMs: 3_600_000, requireVerificationWithinMs: 0 },
    shadow: {
      sampleRate: 1,
      queueSize: 10_000,
      concurrency: 2,
      mismatchLog: join(dir, `${phase}.jsonl`),
      latencyFile: join(dir, `${phase}-latency.json`),
      recheckTimeoutMs: 3000,
      recheckIntervalMs: 20,
      latencySampleRate: 0.2,
    },
  };
}

interface PhaseResult {
  stats: ShadowStats;
  records: MismatchRecord[];
  confirmed: MismatchRecord[];
  reads: number;
  writes: number;
  problems: string[];
}

/**
 * Drives the workload through the handle for PHASE_MS: one writer on hot keys and two readers, every read
 * compared (100 % sampling); then waits for the sync worker and every comparison.
 */
async function phase(stage: Stage, name: string, seed: number): Promise<PhaseResult> {
  const config = validateConfig(settings(stage, name));
  const shadow = new ShadowReader({ config, translators: workload.translators });
  const problems: string[] = [];
  shadow.on('checkError', (e) => problems.push(`${e.fingerprint}: ${e.error.message}`));
  const db: DualWriteDb = await createDualWrite({
    config: settings(stage, name),
    env: {},
    logger: createSilentLogger(),
    syncWorker: true,
    readObserver: shadow,
    translators: workload.translators,
  });
  let reads = 0;
  let writes = 0;
  try {
    const rnd = random(seed);
    const write = writer(db, rnd, VISIT_IDS_FROM + seed * 10_000);
    const until = Date.now() + PHASE_MS;
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const writing = (async () => {
      while (Date.now() < until || reads < MIN_READS) {
        await write();
        writes += 1;
        await pause(4);
      }
    })();
    const runs = READS.map(() => 0);
    const reader = async (offset: number) => {
      let i = offset;
      while ((Date.now() < until || reads < MIN_READS) && reads < MAX_READS) {
        const k = i++ % READS.length;
        const read = READS[k];
        if (!read) continue;
        runs[k] = (runs[k] ?? 0) + 1;
        await read.run(db, (runs[k] ?? 1) - 1);
        reads += 1;
        await pause(3);
      }
    };
    await Promise.all([writing, reader(0), reader(7)]);
    await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
    await new Promise((r) => setImmediate(r));
    await shadow.onIdle();
    await shadow.flush();
    const records = await readMismatches(config.shadow.mismatchLog);
    return {
      stats: shadow.stats(),
      records,
      confirmed: records.filter(isConfirmed),
      reads,
      writes,
      problems,
    };
  } finally {
    await db.destroy();
    await shadow.close();
  }
}

function describeRecords(records: readonly MismatchRecord[]): string[] {
  return records.map(
    (m) =>
      `${m.kind} ${m.keyTable ?? m.table ?? '(raw)'} ${JSON.stringify(m.key)} [${m.columns.map((c) => c.source ?? c.column).join(',')}] ${m.shape?.slice(0, 80)}`,
  );
}

/** Each plant found by exactly one confirmed record of its kind, and no record that is not a plant's. */
function expectEveryPlantOnce(plants: readonly Plant[], confirmed: readonly MismatchRecord[]): void {
  const found = plants.map((p) => ({
    plant: p.name,
    records: confirmed.filter((m) => p.matches(m)).map((m) => m.kind),
  }));
  expect(found).toEqual(plants.map((p) => ({ plant: p.name, records: [p.kind] })));
  const stray = confirmed.filter((m) => !plants.some((p) => p.matches(m)));
  expect(describeRecords(stray)).toEqual([]);
}

async function repair(plants: readonly Plant[], from: 'mysql' | 'postgres'): Promise<void> {
  for (const p of plants) await workload.syncer.sync(p.repair.table, p.repair.keys, from);
}

function summary(stage: Stage, name: string, r: PhaseResult): string {
  const s = r.stats;
  return `${stage} ${name}: ${r.reads} reads, ${r.writes} writes, ${s.checks} compared, ${s.mismatches} confirmed, ${s.repeated} seen again, dismissed ${JSON.stringify(s.dismissed)}, skipped ${JSON.stringify(s.skippedBy)}, confirmation ${s.confirmation.reads} reads / ${s.confirmation.ms} ms`;
}

describe('shadow reads over a realistic mixed workload', () => {
  for (const stage of ['shadow', 'pg-primary'] as const) {
    it(`${stage}: no false mismatches with the data equal, and every planted difference found once`, async () => {
      const authoritative = stage === 'shadow' ? 'mysql' : 'postgres';
      const other = otherSide(authoritative);
      const seed = stage === 'shadow' ? 11 : 23;
      const startedAt = Date.now();

      // Equal data, writes racing reads on hot keys: nothing may be reported.
      const clean = await phase(stage, `${stage}-clean`, seed);
      console.info(summary(stage, 'clean', clean));
      expect(clean.problems).toEqual([]);
      expect(describeRecords(clean.confirmed)).toEqual([]);
      expect(clean.stats).toMatchObject({ mismatches: 0, errors: 0 });
      // Every read was compared, or skipped because it reads the clock.
      expect(clean.stats.skippedBy.overload).toBe(0);
      expect(clean.stats.checks + clean.stats.skippedBy['non-deterministic']).toBe(clean.reads);
      expect(clean.stats.skippedBy['non-deterministic']).toBeGreaterThan(0);
      // The flip gate counts confirmed mismatches only: none was written.
      const state = await readState<{ at: string }>(dbs.pg, LAST_MISMATCH_STATE);
      expect(state === undefined || Date.parse(state.at) < startedAt).toBe(true);
      const cleanReport = await writeReport({
        config: validateConfig({ ...settings(stage, `${stage}-clean`), verify: { reportDir: dir } }),
      });
      expect(cleanReport.summary.totalMismatches).toBe(0);
      expect(cleanReport.summary.dismissed.byReason['non-deterministic']).toBeGreaterThan(0);

      // The same workload with differences planted behind dualwrite's back on the other side.
      const plants = await plantDifferences(dbs[other === 'mysql' ? 'mysql' : 'pg'], other);
      const planted = await phase(stage, `${stage}-planted`, seed + 1);
      console.info(summary(stage, 'planted', planted));
      expect(planted.problems).toEqual([]);
      expect(planted.stats.checks + planted.stats.skippedBy['non-deterministic']).toBe(planted.reads);
      expectEveryPlantOnce(plants, planted.confirmed);
      for (const m of planted.confirmed) {
        expect(m.evidence?.reruns).toBeGreaterThanOrEqual(2);
        expect(m.evidence?.summary).toMatch(/^confirmed: the same difference in \d+ of \d+ re-runs/);
      }
      const gate = await flipChecks({
        knex: { mysql: dbs.mysql, postgres: dbs.pg },
        config: validateConfig(settings(stage, `${stage}-planted`)),
        tables: [],
        from: stage,
        to: stage === 'shadow' ? 'pg-primary' : 'shadow',
      });
      expect(gate.reasons.join('\n')).toMatch(/a confirmed shadow-read mismatch/);

      // Replay: the recorded reads differ now, and no longer once the rows are repaired.
      const replayConfig = validateConfig(settings(stage, `${stage}-planted`));
      const session = { mysql: dbs.mysql, postgres: dbs.pg };
      const before = await replayMismatches({
        config: replayConfig,
        db: session,
        translators: workload.translators,
        records: planted.records,
      });
      expect(before.map((r) => r.outcome)).toEqual(planted.confirmed.map(() => 'differs'));
      await repair(plants, authoritative);
      const after = await replayMismatches({
        config: replayConfig,
        db: session,
        translators: workload.translators,
        records: planted.records,
      });
      expect(after.map((r) => r.outcome)).toEqual(planted.confirmed.map(() => 'fixed'));

      if (stage === 'shadow') {
        // The same through the CLI (exit 0: every recorded mismatch fixed).
        const configFile = join(dir, 'dualwrite.json');
        await writeFile(configFile, JSON.stringify(settings(stage, `${stage}-planted`)));
        const { MYSQL_URL: _m, PG_URL: _p, ...env } = process.env;
        const cli = await run('./bin/dualwrite.js', ['shadow', 'replay', '--json', '-c', configFile], {
          env: { ...env, DUALWRITE_LOG_LEVEL: 'silent' },
        });
        const parsed = JSON.parse(cli.stdout) as { replayed: number; differs: number };
        expect(parsed).toMatchObject({ replayed: plants.length, differs: 0 });
      }
    });
  }
});
