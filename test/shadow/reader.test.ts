import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DualWriteConfigInput } from '../../lib/config/schema.js';
import { serveMetrics } from '../../lib/report/metrics.js';
import { readMismatches } from '../../lib/report/records.js';
import { readState } from '../../lib/report/state.js';
import { LAST_MISMATCH_STATE, ShadowReader } from '../../lib/shadow/reader.js';
import type { ReadObservation } from '../../lib/shadow/types.js';
import type { Side } from '../../lib/stage/stage.js';
import { enqueueKeys } from '../../lib/sync/outbox.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import { useFreshDatabases } from '../support/databases.js';
import { setAuthority } from '../support/dualwrite.js';
import { observedRead, PATIENTS, setUpClinic, shadowTestConfig, type Clinic } from './fixture.js';

const dbs = useFreshDatabases('dwshadow');
let clinic: Clinic;
let dir: string;

function configFor(extra: Partial<DualWriteConfigInput> = {}) {
  return shadowTestConfig(dbs, dir, {
    ...extra,
    tables: { patients: { sensitiveColumns: ['full_name'] }, ...extra.tables },
  });
}

function reader(extra: Partial<DualWriteConfigInput> = {}, logger?: pino.Logger): ShadowReader {
  return new ShadowReader({
    config: configFor(extra),
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators: clinic.translators,
    ...(logger ? { logger } : {}),
  });
}

/** Runs a sync worker draining `authoritative`'s outbox until the reader's comparisons are done. */
async function drainWhileComparing(shadow: ShadowReader, authoritative: Side): Promise<void> {
  const worker = new SyncWorker({
    mysql: dbs.mysql,
    pg: dbs.pg,
    syncer: clinic.syncer,
    authoritative: () => authoritative,
    sync: { pollIntervalMs: 50 },
  });
  try {
    await shadow.onIdle();
  } finally {
    await worker.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-shadow-'));
  clinic = await setUpClinic(dbs);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ShadowReader', () => {
  it('reports a row changed directly in PostgreSQL with the column and both values', async () => {
    try {
      await dbs.pg('patients').where({ id: 42 }).update({ status: 'archived', balance: '999.99' });
      const lines: string[] = [];
      const logger = pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            lines.push(chunk.toString());
            cb();
          },
        }),
      );
      const shadow = reader({}, logger);
      const seen: unknown[] = [];
      shadow.on('mismatch', (m) => seen.push(m));
      const obs = await observedRead(dbs, 'patients', (k) => k('patients').where({ id: 42 }), {
        context: { requestId: 'r-42', route: '/patients/:id' },
      });
      expect(obs.rows).toHaveLength(1);
      const before = Date.now();
      shadow.observe(obs);
      // observe() hands the work to the queue: nothing is compared before it returns.
      expect(shadow.stats().checks).toBe(0);
      expect(seen).toEqual([]);
      await shadow.onIdle();

      expect(seen).toHaveLength(1);
      const record = seen[0] as {
        table: string;
        key: number[];
        kind: string;
        columns: { column: string; authoritative: unknown; other: unknown }[];
        context: Record<string, unknown>;
        fingerprint: string;
      };
      expect(record.table).toBe('patients');
      expect(record.key).toEqual([42]);
      expect(record.kind).toBe('different');
      expect(record.context).toEqual({ requestId: 'r-42', route: '/patients/:id' });
      expect(record.fingerprint).toMatch(/^[0-9a-f]{12}$/);
      const byColumn = Object.fromEntries(record.columns.map((c) => [c.column, c]));
      expect(Object.keys(byColumn).sort()).toEqual(['balance', 'status']);
      expect(byColumn['status']).toMatchObject({ authoritative: 'active', other: 'archived' });
      expect(byColumn['balance']?.other).toBe('999.99');
      expect(String(byColumn['balance']?.authoritative)).toMatch(/^\d+\.\d+$/);
      expect(shadow.stats()).toMatchObject({ checks: 1, mismatches: 1, errors: 0 });

      const state = await readState<{ at: string }>(dbs.pg, LAST_MISMATCH_STATE);
      expect(Date.parse(state?.at ?? '')).toBeGreaterThanOrEqual(before - 1000);
      // The log line carries the record, with the sensitive name hashed, never in clear.
      expect(lines.join('')).toContain('shadow read mismatch');
      expect(lines.join('')).not.toContain('Patient 42');
      await shadow.close();
    } finally {
      await clinic.syncer.sync('patients', [[42]], 'mysql');
    }
  });

  it('appends redacted JSON lines to the mismatch log', async () => {
    await dbs.pg('patients').where({ id: 7 }).update({ full_name: 'Someone Else' });
    const cfg = configFor();
    const shadow = new ShadowReader({
      config: cfg,
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators: clinic.translators,
    });
    shadow.observe(await observedRead(dbs, 'patients', (k) => k('patients').where({ id: 7 })));
    await shadow.close();
    const text = await readFile(cfg.shadow.mismatchLog, 'utf8');
    expect(text).not.toContain('Someone Else');
    expect(text).not.toContain('Patient 7');
    const [record] = await readMismatches(cfg.shadow.mismatchLog);
    expect(record?.columns).toHaveLength(1);
    expect(record?.columns[0]?.column).toBe('full_name');
    expect(record?.columns[0]?.authoritative).toMatch(/^sha256:/);
    expect(record?.rows.other?.['full_name']).toMatch(/^sha256:/);
    await clinic.syncer.sync('patients', [[7]], 'mysql');
  });

  it('re-checks a key pending in the outbox after it syncs instead of reporting it', async () => {
    // An app write on MySQL with its key captured in the same transaction, not yet synced.
    await dbs.mysql.transaction(async (trx) => {
      await trx('patients').where({ id: 9 }).update({ status: 'archived', balance: 1.25 });
      await enqueueKeys(trx, 'patients', [[9]]);
    });
    const shadow = reader();
    const obs = await observedRead(dbs, 'patients', (k) => k('patients').where('id', '<=', 10));
    const waiting = new Promise((r) => shadow.once('recheck', r));
    shadow.observe(obs);
    // The worker starts draining only after the comparison saw the difference and began waiting.
    await waiting;
    await drainWhileComparing(shadow, 'mysql');
    expect(shadow.stats()).toMatchObject({ checks: 1, matches: 1, mismatches: 0, rechecks: 1 });
    const metrics = await shadow.registry.getSingleMetricAsString('dualwrite_shadow_rechecks_total');
    expect(metrics).toContain('outcome="resolved"');
    await shadow.close();
  });

  it('reports a pending key that still differs after it synced', async () => {
    await dbs.mysql.transaction(async (trx) => {
      await trx('patients').where({ id: 11 }).update({ balance: 2.5 });
      await enqueueKeys(trx, 'patients', [[11]]);
    });
    const shadow = reader();
    const waiting = new Promise((r) => shadow.once('recheck', r));
    shadow.observe(await observedRead(dbs, 'patients', (k) => k('patients').where({ id: 11 })));
    await waiting;
    // The key leaves the outbox but PostgreSQL still holds another value (a sync that lost the write).
    await dbs.mysql('dualwrite_outbox').where({ table_name: 'patients' }).delete();
    await shadow.onIdle();
    const stats = shadow.stats();
    expect(stats).toMatchObject({ mismatches: 1, rechecks: 1 });
    await shadow.close();
    await clinic.syncer.sync('patients', [[11]], 'mysql');
  });

  it('re-checks a read served just before a flip through the new authoritative outbox instead of reporting it', async () => {
    // Served by MySQL while it led; compared after a flip, when PostgreSQL already took a newer write of
    // the row that is still waiting in PostgreSQL's outbox on its way back to MySQL.
    const obs = await observedRead(dbs, 'patients', (k) => k('patients').where({ id: 12 }));
    await setAuthority(dbs, 'postgres');
    await dbs.pg.transaction(async (trx) => {
      await trx('patients').where({ id: 12 }).update({ balance: 7.75 });
      await enqueueKeys(trx, 'patients', [[12]]);
    });
    const shadow = reader();
    const waiting = new Promise((r) => shadow.once('recheck', r));
    shadow.observe(obs);
    await waiting;
    await drainWhileComparing(shadow, 'postgres');
    expect(shadow.stats()).toMatchObject({ checks: 1, mismatches: 0, rechecks: 1 });
    expect(await dbs.mysql('patients').where({ id: 12 }).first()).toMatchObject({ balance: '7.75' });
    await shadow.close();
    await setAuthority(dbs, 'mysql');
  });

  it('gives zero mismatches over a realistic read mix when both sides hold the same data (A/A)', async () => {
    const shadow = reader();
    const reads: ((n: number) => Promise<ReadObservation>)[] = [
      (n) =>
        observedRead(dbs, 'patients', (k) =>
          k('patients')
            .where({ id: (n % PATIENTS) + 1 })
            .first(),
        ),
      (n) =>
        observedRead(dbs, 'patients', (k) =>
          k('patients')
            .where('clinic_id', (n % 4) + 1)
            .orderBy('id')
            .limit(20),
        ),
      (n) => observedRead(dbs, 'patients', (k) => k('patients').whereIn('id', [n + 1, n + 2, n + 3, n + 50])),
      () =>
        observedRead(dbs, 'patients', (k) =>
          k('patients').where({ status: 'archived' }).select('id', 'full_name', 'born'),
        ),
      () =>
        observedRead(dbs, 'patients', (k) =>
          k('patients').select('status').count({ n: '*' }).groupBy('status'),
        ),
      () =>
        observedRead(dbs, 'patients', (k) => k('patients').avg({ avg: 'balance' }).sum({ total: 'balance' })),
      (n) =>
        observedRead(dbs, 'patients', (k) =>
          k('patients')
            .where('seen_at', '>=', `2024-03-0${(n % 9) + 1} 00:00:00`)
            .select('id', 'seen_at', 'prefs'),
        ),
      () =>
        observedRead(dbs, 'patients', (k) =>
          k('patients').where({ is_vip: true }).select('id', 'is_vip', 'balance'),
        ),
      () =>
        observedRead(dbs, 'patients', (k) =>
          k('patients')
            .join('clinics', 'clinics.id', 'patients.clinic_id')
            .select('patients.id', 'patients.full_name', 'clinics.city')
            .where('patients.id', '<', 30),
        ),
      () => observedRead(dbs, 'clinics', (k) => k('clinics').select('*')),
      () =>
        observedRead(dbs, null, (k) =>
          k.raw('SELECT clinic_id, COUNT(*) AS n, MAX(balance) AS top FROM patients GROUP BY clinic_id'),
        ),
      () => observedRead(dbs, 'patients', (k) => k('patients').distinct('clinic_id')),
    ];
    const problems: unknown[] = [];
    shadow.on('mismatch', (m) =>
      problems.push({ shape: m.shape, columns: m.columns, kind: m.kind, rows: m.rows }),
    );
    shadow.on('checkError', (e) => problems.push(e.error.message));
    const total = 240;
    for (let n = 0; n < total; n++)
      shadow.observe(await (reads[n % reads.length] as (n: number) => Promise<ReadObservation>)(n));
    await shadow.onIdle();
    const stats = shadow.stats();
    expect(problems.slice(0, 3)).toEqual([]);
    expect(stats).toMatchObject({ checks: total, matches: total, mismatches: 0, errors: 0, skipped: 0 });
    expect(stats.latency.length).toBe(reads.length);
    for (const shape of stats.latency) {
      expect(shape.mysql?.count).toBeGreaterThan(0);
      expect(shape.postgres?.count).toBeGreaterThan(0);
    }
    await shadow.close();
    const saved = JSON.parse(await readFile(configFor().shadow.latencyFile, 'utf8')) as { shapes: unknown[] };
    expect(saved.shapes).toHaveLength(reads.length);
  });

  it('saves the per-shape latency periodically while running', async () => {
    const latencyFile = join(dir, 'periodic-latency.json');
    const shadow = new ShadowReader({
      config: configFor({ shadow: { latencyFile } }),
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators: clinic.translators,
      latencyFlushMs: 50,
    });
    try {
      shadow.observe(await observedRead(dbs, 'clinics', (k) => k('clinics').where({ id: 3 })));
      await shadow.onIdle();
      let saved: { shapes: { mysql: { count: number }; postgres: { count: number } }[] } | undefined;
      for (let i = 0; i < 100 && !saved; i++) {
        await new Promise((r) => setTimeout(r, 50));
        saved = await readFile(latencyFile, 'utf8').then(
          (t) => JSON.parse(t) as typeof saved,
          () => undefined,
        );
      }
      expect(saved?.shapes).toHaveLength(1);
      expect(saved?.shapes[0]).toMatchObject({ mysql: { count: 1 }, postgres: { count: 1 } });
    } finally {
      await shadow.close();
    }
  });

  it('samples by the global rate, overridden per table', async () => {
    const shadow = reader({ shadow: { sampleRate: 0 }, tables: { clinics: { shadowSampleRate: 1 } } });
    for (let i = 0; i < 10; i++) {
      shadow.observe(await observedRead(dbs, 'patients', (k) => k('patients').where({ id: i + 1 })));
      shadow.observe(await observedRead(dbs, 'clinics', (k) => k('clinics').where({ id: (i % 4) + 1 })));
    }
    await shadow.onIdle();
    expect(shadow.stats().checks).toBe(10);
    await shadow.close();
  });

  it('skips and counts reads beyond the queue bound, and never throws into the app', async () => {
    const shadow = reader({ shadow: { queueSize: 3, concurrency: 1 } });
    const slow = await observedRead(dbs, 'clinics', (k) => k('clinics').where({ id: 1 }));
    const blocked: ReadObservation = {
      ...slow,
      run: async (side) => {
        await new Promise((r) => setTimeout(r, 200));
        return slow.run(side);
      },
    };
    const failing: ReadObservation = { ...slow, run: () => Promise.reject(new Error('pg is down')) };
    const errors: string[] = [];
    shadow.on('checkError', (e) => errors.push(e.error.message));
    for (let i = 0; i < 10; i++) shadow.observe(blocked);
    shadow.observe(failing);
    expect(shadow.stats().checks).toBe(0);
    await shadow.onIdle();
    expect(shadow.stats()).toMatchObject({ checks: 3, skipped: 8 });
    const skipped = await shadow.registry.getSingleMetricAsString('dualwrite_shadow_skipped_total');
    expect(skipped).toContain('reason="overload"} 8');

    shadow.observe(failing);
    await shadow.onIdle();
    expect(errors).toEqual(['pg is down']);
    expect(shadow.stats().errors).toBe(1);
    await shadow.close();
  });

  it('serves its metrics on a loopback HTTP endpoint', async () => {
    const shadow = reader();
    shadow.observe(await observedRead(dbs, 'clinics', (k) => k('clinics').where({ id: 2 })));
    await shadow.onIdle();
    const server = await serveMetrics(shadow.registry, 0);
    try {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('dualwrite_shadow_checks_total{table="clinics",result="match"} 1');
      expect(text).toContain('dualwrite_shadow_read_seconds_count{side="postgres"} 1');
    } finally {
      await new Promise((r) => server.close(r));
      await shadow.close();
    }
  });
});
