import { beforeAll, describe, expect, it } from 'vitest';
import { META_TABLES } from '../../lib/meta/tables.js';
import { DualWriteEvents } from '../../lib/observe/events.js';
import { createMetrics } from '../../lib/observe/metrics.js';
import { enqueueKeys } from '../../lib/sync/outbox.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import type { Side } from '../../lib/stage/stage.js';
import { useFreshDatabases } from '../support/databases.js';
import { setAuthority } from '../support/dualwrite.js';
import { createSyncTables, rowsOf } from './support/fixtures.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { prng, randomItemWrite } from './support/traffic.js';

let translators: TranslatorSet;
const dbs = useFreshDatabases('dwworker');
let syncer: KeySyncer;

beforeAll(async () => {
  translators = await createSyncTables(dbs);
  syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
});

function worker(
  authoritative: () => Side = () => 'mysql',
  extra: Partial<ConstructorParameters<typeof SyncWorker>[0]> = {},
) {
  return new SyncWorker({
    mysql: dbs.mysql,
    pg: dbs.pg,
    syncer,
    authoritative,
    sync: { pollIntervalMs: 50, batchSize: 50, retryBaseMs: 20, retryMaxMs: 100 },
    ...extra,
  });
}

describe('SyncWorker', () => {
  it('drains captured writes to the other side with low lag, then reports an empty backlog', async () => {
    const metrics = createMetrics();
    const w = worker(() => 'mysql', { metrics });
    try {
      const rand = prng(1);
      for (let i = 0; i < 200; i++) {
        await randomItemWrite(dbs.mysql, rand, 60);
        w.notify();
      }
      await w.drain({ timeoutMs: 20_000 });
      expect(await w.backlog()).toBe(0);
      expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
      const lag = w.lagStats();
      expect(lag.count).toBe(200);
      expect(lag.p50).toBeGreaterThanOrEqual(0);
      expect(lag.p50).toBeLessThan(2000);
      expect(await metrics.registry.getSingleMetricAsString('dualwrite_sync_lag_seconds')).toContain(
        'dualwrite_sync_lag_seconds_count{to="postgres"} 200',
      );
    } finally {
      await w.close();
    }
  });

  it('follows the authoritative side: PG → MySQL after a flip', async () => {
    const w = worker(() => 'postgres');
    await setAuthority(dbs, 'postgres');
    try {
      await dbs.pg.transaction(async (trx) => {
        await trx.raw(`INSERT INTO pairs (a, b, v) VALUES (7, 'pg', 70)`);
        await enqueueKeys(trx, 'pairs', [[7, 'pg']]);
      });
      w.notify();
      await w.drain({ timeoutMs: 10_000 });
      expect(await dbs.mysql('pairs').where({ a: 7 }).first()).toEqual({ a: 7, b: 'pg', v: 70 });
    } finally {
      await setAuthority(dbs, 'mysql');
      await w.close();
    }
  });

  it('syncs a BIGINT key beyond 2^53 captured as a JSON number (as trigger capture writes it)', async () => {
    const w = worker();
    try {
      await dbs.mysql.transaction(async (trx) => {
        await trx.raw('INSERT INTO big (id, v) VALUES (9007199254740993, 1)');
        await trx(META_TABLES.outbox).insert({ table_name: 'big', pk: '[9007199254740993]' });
      });
      w.notify();
      await w.drain({ timeoutMs: 10_000 });
      expect(await dbs.pg('big').select('*')).toEqual([{ id: '9007199254740993', v: 1 }]);
    } finally {
      await w.close();
    }
  });

  it('retries a failing key with backoff and quarantines it after maxAttempts; other keys keep flowing', async () => {
    // PostgreSQL refuses what MySQL accepts: a data error that no translator catches.
    await dbs.pg.raw(`ALTER TABLE pairs ADD CONSTRAINT pairs_v_small CHECK (v < 1000)`);
    const events = new DualWriteEvents();
    const metrics = createMetrics();
    const quarantined: unknown[] = [];
    events.on('keyQuarantined', (e) => quarantined.push([e.table, e.key, e.code]));
    const w = worker(() => 'mysql', {
      events,
      metrics,
      sync: { pollIntervalMs: 20, retryBaseMs: 10, retryMaxMs: 40, maxAttempts: 3 },
    });
    try {
      await dbs.mysql.transaction(async (trx) => {
        await trx('pairs').insert([
          { a: 1, b: 'ok', v: 1 },
          { a: 2, b: 'bad', v: 5000 },
          { a: 3, b: 'ok', v: 3 },
        ]);
        await enqueueKeys(trx, 'pairs', [
          [1, 'ok'],
          [2, 'bad'],
          [3, 'ok'],
        ]);
      });
      w.notify();
      await w.drain({ timeoutMs: 10_000 });
      expect((await dbs.pg('pairs').whereIn('a', [1, 2, 3]).orderBy('a')).map((r) => r.a)).toEqual([1, 3]);
      expect(quarantined).toEqual([['pairs', [2, 'bad'], 'sync_failed']]);
      const [entry] = await syncer.quarantine.listOpen('pairs');
      expect(entry?.reason).toMatch(/sync failed 3 times: .*pairs_v_small/);
      expect(await metrics.registry.getSingleMetricAsString('dualwrite_sync_retries_total')).toContain(
        'dualwrite_sync_retries_total{table="pairs"} 2',
      );
    } finally {
      await w.close();
    }
  });

  it('lets two workers drain one outbox concurrently without losing a key', async () => {
    const rand = prng(2);
    const a = worker();
    const b = worker();
    try {
      const writers = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 100; i++) {
          await randomItemWrite(dbs.mysql, rand, 40);
          (i % 2 ? a : b).notify();
        }
      });
      await Promise.all(writers);
      await Promise.all([a.drain({ timeoutMs: 20_000 }), b.drain({ timeoutMs: 20_000 })]);
      expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
      expect(a.lagStats().count + b.lagStats().count).toBe(400);
      expect(a.lagStats().count).toBeGreaterThan(0);
      expect(b.lagStats().count).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(await dbs.mysql(META_TABLES.outbox).count({ n: '*' })).toEqual([{ n: '0' }]);
  });

  it('raises backlogHigh at the watermark, and drain() gives up after its timeout while a key backs off', async () => {
    const events = new DualWriteEvents();
    const high: number[] = [];
    events.on('backlogHigh', (e) => high.push(e.backlog));
    const w = worker(() => 'mysql', {
      events,
      start: false,
      sync: { backlogHighWatermark: 5, retryBaseMs: 60_000, retryMaxMs: 60_000, maxAttempts: 8 },
    });
    try {
      await dbs.mysql.transaction(async (trx) => {
        await trx('pairs').insert({ a: 50, b: 'stuck', v: 99_999 }); // violates the PG check constraint
        await enqueueKeys(trx, 'pairs', [[50, 'stuck']]);
        await enqueueKeys(trx, 'pairs', [
          [50, 'stuck'],
          [50, 'stuck'],
          [50, 'stuck'],
          [50, 'stuck'],
        ]);
      });
      expect(await w.backlog()).toBe(5);
      expect(high).toEqual([5]);
      await expect(w.drain({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'DW_SYNC_FAILED' });
      const rows = await dbs.mysql(META_TABLES.outbox).where({ table_name: 'pairs' });
      expect(rows.map((r: { attempts: number }) => r.attempts)).toEqual([1, 1, 1, 1, 1]);
      expect(rows[0].last_error).toMatch(/pairs_v_small/);
    } finally {
      await dbs.mysql(META_TABLES.outbox).del();
      await w.close();
    }
  });

  it('close() drains what is left, stops and is idempotent', async () => {
    const w = worker(() => 'mysql', { start: false });
    await dbs.mysql.transaction(async (trx) => {
      await trx('items').where({ id: 1 }).del();
      await trx('items').insert({ id: 1, name: 'closing', qty: 1 });
      await enqueueKeys(trx, 'items', [[1]]);
    });
    await w.close();
    await w.close();
    expect(await dbs.pg('items').where({ id: 1 }).first()).toMatchObject({ name: 'closing' });
    await expect(w.drain()).rejects.toMatchObject({ code: 'DW_CLOSED' });
  });
});
