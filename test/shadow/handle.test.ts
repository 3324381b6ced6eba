import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { createDualWrite } from '../../lib/handle/create.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import type { MismatchRecord } from '../../lib/report/records.js';
import { ShadowReader } from '../../lib/shadow/reader.js';
import type { Stage } from '../../lib/stage/stage.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import { useFreshDatabases } from '../support/databases.js';
import { setUpClinic, type Clinic } from './fixture.js';

const dbs = useFreshDatabases('dwshandle');
let clinic: Clinic;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-shandle-'));
  clinic = await setUpClinic(dbs);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function settings(stage: Stage) {
  return {
    stage,
    mysql: { url: dbs.mysqlUrl, poolMax: 4 },
    postgres: { url: dbs.pgUrl, poolMax: 4 },
    auditLog: join(dir, 'audit.jsonl'),
    shadow: {
      sampleRate: 1,
      mismatchLog: join(dir, `${stage}.jsonl`),
      latencyFile: join(dir, `${stage}-latency.json`),
      recheckTimeoutMs: 8000,
      recheckIntervalMs: 25,
      latencySampleRate: 1,
    },
  };
}

/** A handle with a ShadowReader as its read observer, on its own pools (and, with `introspect`, its own translators). */
async function open(stage: Stage, syncWorker: boolean, introspect = false) {
  const config = validateConfig(settings(stage));
  const shadow = new ShadowReader(introspect ? { config } : { config, translators: clinic.translators });
  const mismatches: MismatchRecord[] = [];
  shadow.on('mismatch', (m) => mismatches.push(m));
  const db = await createDualWrite({
    config: settings(stage),
    env: {},
    logger: createSilentLogger(),
    syncWorker,
    readObserver: shadow,
    translators: clinic.translators,
  });
  // Observations are handed over on setImmediate after the caller got its rows.
  const idle = async () => {
    await new Promise((r) => setImmediate(r));
    await shadow.onIdle();
  };
  return { db, shadow, mismatches, idle };
}

describe('shadow reads through the dualwrite handle', () => {
  it('reports a row changed directly in PostgreSQL on the next read, with the request context', async () => {
    const { db, shadow, mismatches, idle } = await open('shadow', false, true);
    try {
      await dbs.pg('patients').where({ id: 42 }).update({ full_name: 'Changed In PG' });
      const row = (await db
        .withContext({ requestId: 'req-1', route: '/patients/:id' })('patients')
        .where({ id: 42 })
        .first()) as { full_name: string };
      expect(row.full_name).toBe('Patient 42');
      await idle();
      expect(mismatches).toHaveLength(1);
      expect(mismatches[0]).toMatchObject({
        table: 'patients',
        key: [42],
        kind: 'different',
        columns: [{ column: 'full_name', authoritative: 'Patient 42', other: 'Changed In PG' }],
        context: expect.objectContaining({ requestId: 'req-1' }),
      });
    } finally {
      await db.destroy();
      await shadow.close();
      await clinic.syncer.sync('patients', [[42]], 'mysql');
    }
  });

  it('does not report a key written through the handle and still pending in the outbox', async () => {
    const { db, shadow, mismatches, idle } = await open('shadow', false);
    const worker = { current: undefined as SyncWorker | undefined };
    try {
      await db('patients').where({ id: 12 }).update({ status: 'archived', balance: 77.5 });
      const waiting = new Promise((r) => shadow.once('recheck', r));
      await db('patients').where({ id: 12 }).first();
      await waiting;
      const pending = (await dbs.mysql('dualwrite_outbox').count({ n: '*' }).first()) as {
        n: number | string;
      };
      expect(Number(pending.n)).toBe(1);
      worker.current = new SyncWorker({
        mysql: dbs.mysql,
        pg: dbs.pg,
        syncer: clinic.syncer,
        authoritative: () => 'mysql',
        sync: { pollIntervalMs: 25 },
      });
      await idle();
      expect(mismatches).toEqual([]);
      expect(shadow.stats()).toMatchObject({ checks: 1, matches: 1, rechecks: 1 });
    } finally {
      await worker.current?.close();
      await db.destroy();
      await shadow.close();
    }
  });

  it('reports nothing under a write-then-read loop in pg-primary while the worker syncs back to MySQL', async () => {
    const { db, shadow, mismatches, idle } = await open('pg-primary', true);
    try {
      for (let i = 0; i < 40; i++) {
        const id = (i % 10) + 100;
        await db('patients')
          .where({ id })
          .update({ balance: 10 + i, seen_at: `2024-05-01 12:00:${String(i).padStart(2, '0')}.5` });
        await db('patients').where({ id }).first();
        await db('patients').whereBetween('id', [100, 109]).orderBy('id');
      }
      await idle();
      expect(mismatches).toEqual([]);
      const stats = shadow.stats();
      expect(stats.checks).toBe(80);
      expect(stats.errors).toBe(0);
      expect(stats.latency.map((l) => l.postgres?.count ?? 0).reduce((a, b) => a + b, 0)).toBe(80);
    } finally {
      await db.destroy();
      await shadow.close();
    }
  });
});
