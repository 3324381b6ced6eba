import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DualWriteConfigInput } from '../../lib/config/schema.js';
import { readMismatches, type MismatchRecord } from '../../lib/report/records.js';
import { ShadowReader } from '../../lib/shadow/reader.js';
import { enqueueKeys } from '../../lib/sync/outbox.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import { useFreshDatabases } from '../support/databases.js';
import { observedRead, shadowTestConfig } from './fixture.js';
import { setUpWorkload, type Workload } from './workload.js';

const dbs = useFreshDatabases('dwscompare');
let workload: Workload;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-scompare-'));
  workload = await setUpWorkload(dbs);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function reader(extra: Partial<DualWriteConfigInput> = {}) {
  const config = shadowTestConfig(dbs, dir, {
    ...extra,
    shadow: { recheckTimeoutMs: 4000, recheckIntervalMs: 20, ...extra.shadow },
  });
  const shadow = new ShadowReader({
    config,
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators: workload.translators,
  });
  const mismatches: MismatchRecord[] = [];
  const errors: string[] = [];
  shadow.on('mismatch', (m) => mismatches.push(m));
  shadow.on('checkError', (e) => errors.push(e.error.message));
  return { shadow, config, mismatches, errors };
}

describe('shadow comparison of every column, wherever it comes from', () => {
  it('compares JSON of joined tables, CTEs and raw reads as JSON (each server spells documents its own way)', async () => {
    const { shadow, mismatches, errors } = reader();
    const reads = [
      observedRead(dbs, 'patients', (k) =>
        k('patients as p')
          .join('clinics as c', 'c.id', 'p.clinic_id')
          .select('p.id', 'p.prefs', 'c.settings', 'c.city')
          .where('p.id', '<', 30),
      ),
      observedRead(dbs, null, (k) =>
        k.raw('WITH c AS (SELECT id, settings FROM clinics) SELECT settings FROM c ORDER BY id'),
      ),
      observedRead(dbs, null, (k) =>
        k.raw('SELECT v.notes, p.prefs FROM visits v JOIN patients p ON p.id = v.patient_id WHERE v.id < 50'),
      ),
      observedRead(dbs, null, (k) => k.raw('SELECT d.settings FROM (SELECT settings FROM clinics) d')),
    ];
    for (const r of reads) shadow.observe(await r);
    await shadow.onIdle();
    expect(errors).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(shadow.stats()).toMatchObject({ checks: 4, matches: 4, mismatches: 0 });
    await shadow.close();
  });

  it('compares a text column holding JSON-like text as text, and finds a changed joined JSON document', async () => {
    const { shadow, mismatches } = reader();
    try {
      await dbs.mysql('staff').where({ id: 1 }).update({ role: '{"a": 1}' });
      await dbs.pg('staff').where({ id: 1 }).update({ role: '{"a":1}' });
      await dbs.pg('clinics').where({ id: 1 }).update({ settings: '{"lang": "xx"}' });
      shadow.observe(await observedRead(dbs, 'staff', (k) => k('staff').where({ id: 1 })));
      shadow.observe(
        await observedRead(dbs, 'patients', (k) =>
          k('patients as p')
            .join('clinics as c', 'c.id', 'p.clinic_id')
            .select('p.id', 'c.settings')
            .where('p.id', 1),
        ),
      );
      await shadow.onIdle();
      expect(
        mismatches.map((m) => [m.table, m.key, m.columns.map((c) => [c.column, c.source ?? null])]),
      ).toEqual([
        ['staff', [1], [['role', null]]],
        ['patients', [1], [['settings', 'clinics.settings']]],
      ]);
      expect(mismatches[1]?.evidence).toMatchObject({ method: 'rerun', reruns: 2, pendingAtFirst: false });
    } finally {
      await shadow.close();
      await workload.syncer.sync('staff', [[1]], 'mysql');
      await workload.syncer.sync('clinics', [[1]], 'mysql');
    }
  });

  it('pairs raw reads’ unaliased expressions by position (count(*) on MySQL is count on PostgreSQL)', async () => {
    const { shadow, mismatches, errors } = reader();
    shadow.observe(
      await observedRead(dbs, null, (k) =>
        k.raw('SELECT clinic_id, COUNT(*), MAX(fee) FROM visits GROUP BY clinic_id'),
      ),
    );
    await shadow.onIdle();
    expect(errors).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(shadow.stats().matches).toBe(1);
    await shadow.close();
  });

  it('skips non-deterministic reads with the reason, and dismisses an unordered LIMIT without a key', async () => {
    const { shadow, mismatches } = reader();
    const skipped: unknown[] = [];
    shadow.on('skipped', (s) => skipped.push(s));
    shadow.observe(await observedRead(dbs, null, (k) => k.raw('SELECT CURRENT_TIMESTAMP AS t')));
    shadow.observe(await observedRead(dbs, 'patients', (k) => k('patients').select('id', k.fn.now())));
    await shadow.onIdle();
    expect(skipped).toEqual([
      { reason: 'non-deterministic', table: null, detail: 'current_timestamp' },
      { reason: 'non-deterministic', table: 'patients', detail: 'current_timestamp' },
    ]);
    expect(shadow.stats()).toMatchObject({ checks: 0, skippedBy: { 'non-deterministic': 2 } });
    // Each server picks its own rows for a LIMIT without ORDER BY: not a difference of the data.
    const read = await observedRead(dbs, 'staff', (k) => k('staff').select('name').limit(3));
    shadow.observe({ ...read, rows: [{ name: 'someone else' }, ...read.rows.slice(1)] });
    await shadow.onIdle();
    expect(mismatches).toEqual([]);
    expect(shadow.stats().dismissed['unordered-limit']).toBe(1);
    await shadow.close();
  });

  it('dismisses an unkeyed difference as lag once the outbox drained, and confirms one nothing explains', async () => {
    const { shadow, config, mismatches } = reader();
    const aggregate = (k: Parameters<Parameters<typeof observedRead>[2]>[0]) =>
      k('visits').select('clinic_id').sum({ total: 'fee' }).groupBy('clinic_id').orderBy('clinic_id');
    try {
      // A write through dualwrite: the key waits in the outbox while PostgreSQL still has the old value.
      const served = await (async () => {
        await dbs.mysql.transaction(async (t) => {
          await t('visits').where({ id: 5 }).update({ fee: '333.33' });
          await enqueueKeys(t, 'visits', [[5]]);
        });
        return observedRead(dbs, 'visits', aggregate);
      })();
      // The sync starts only once the reader waits for it.
      const waiting = new Promise((r) => shadow.once('recheck', r));
      shadow.observe(served);
      await waiting;
      const worker = new SyncWorker({
        mysql: dbs.mysql,
        pg: dbs.pg,
        syncer: workload.syncer,
        authoritative: () => 'mysql',
        sync: { pollIntervalMs: 20 },
      });
      await shadow.onIdle();
      await worker.close();
      expect(mismatches).toEqual([]);
      expect(shadow.stats().dismissed.lag).toBe(1);

      // Behind dualwrite's back: nothing pending explains it.
      await dbs.pg('visits').where({ id: 6 }).update({ fee: '444.44' });
      shadow.observe(await observedRead(dbs, 'visits', aggregate));
      await shadow.onIdle();
      expect(mismatches).toHaveLength(1);
      expect(mismatches[0]).toMatchObject({
        status: 'confirmed',
        key: null,
        kind: 'different',
        columns: [{ column: 'total' }],
        evidence: { method: 'rerun', reruns: 2, pendingAtFirst: false },
      });
      const logged = await readMismatches(config.shadow.mismatchLog);
      expect(logged.map((m) => [m.status, m.reason ?? null])).toEqual([
        ['dismissed', 'lag'],
        ['confirmed', null],
      ]);
      expect(logged[1]?.query?.mysql).toMatchObject({ bindings: [] });
    } finally {
      await shadow.close();
      await workload.syncer.sync('visits', [[5], [6]], 'mysql');
    }
  });

  it('hides sensitive columns of joined tables and keeps no bindings of a query naming one', async () => {
    const { shadow, mismatches } = reader({ tables: { clinics: { sensitiveColumns: ['name'] } } });
    try {
      await dbs.pg('clinics').where({ id: 2 }).update({ name: 'Secret Clinic' });
      shadow.observe(
        await observedRead(dbs, 'patients', (k) =>
          k('patients as p')
            .join('clinics as c', 'c.id', 'p.clinic_id')
            .select('p.id', 'c.name as clinic')
            .where('p.id', 2),
        ),
      );
      await shadow.onIdle();
      expect(mismatches).toHaveLength(1);
      const text = JSON.stringify(mismatches[0]);
      expect(text).not.toContain('Secret Clinic');
      expect(text).not.toContain('"Clinic 2"');
      expect(mismatches[0]?.columns[0]).toMatchObject({ column: 'clinic', source: 'clinics.name' });
      expect(mismatches[0]?.columns[0]?.authoritative).toMatch(/^sha256:[0-9a-f]{16}$/);
      expect(mismatches[0]?.query?.mysql?.bindings).toBeNull();
    } finally {
      await shadow.close();
      await workload.syncer.sync('clinics', [[2]], 'mysql');
    }
  });

  it('times both sides back to back, alternating which runs first, so each read gives one pair', async () => {
    const { shadow } = reader();
    for (let i = 0; i < 20; i++)
      shadow.observe(
        await observedRead(dbs, 'patients', (k) =>
          k('patients')
            .where({ id: (i % 100) + 1 })
            .first(),
        ),
      );
    await shadow.onIdle();
    const [shape] = shadow.stats().latency;
    expect(shape).toMatchObject({ pairs: 20, mysql: { count: 20 }, postgres: { count: 20 } });
    expect(shape?.ratioSpread?.p25).toBeGreaterThan(0);
    expect(shape?.mysql?.p25).toBeLessThanOrEqual(shape?.mysql?.p75 ?? 0);
    await shadow.close();
  });
});
