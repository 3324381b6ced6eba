import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { Backoff, TokenBucket } from '../../lib/backfill/throttle.js';
import type { BackfillEvent } from '../../lib/backfill/types.js';
import { testTranslators } from '../sync/support/translator.js';
import { useFreshDatabases } from '../support/databases.js';
import { dumpRows, insertMany, schemaOf } from './support.js';

const dbs = useFreshDatabases('dwbfrate');
const translators = testTranslators({ rated: { primaryKey: ['id'], columns: ['id', 'v'] } });
const sourceSchema = schemaOf([{ name: 'rated', primaryKey: ['id'] }]);

async function createRated(rows: number): Promise<void> {
  for (const db of [dbs.mysql, dbs.pg]) {
    await db.schema.dropTableIfExists('rated');
    await db.schema.createTable('rated', (t) => {
      t.integer('id').primary();
      t.string('v', 20).notNullable();
    });
  }
  await insertMany(
    dbs.mysql,
    'rated',
    Array.from({ length: rows }, (_, i) => ({ id: i + 1, v: `v${i}` })),
    1000,
  );
}

describe('throttling', () => {
  it('holds the rows-per-second limit', async () => {
    const rows = 3000;
    const rate = 1000;
    const batch = 200;
    await createRated(rows);
    const times: number[] = [];
    const t0 = performance.now();
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema,
      batchSize: batch,
      maxRowsPerSecond: rate,
      restart: true,
      onEvent: (e) => {
        if (e.type === 'batch' && e.phase === 'copy') times.push(performance.now() - t0);
      },
    });
    expect(result.rows).toBe(rows);
    // Over any prefix, rows done never exceed rate × elapsed + one batch; overall within 15% of the rate.
    times.forEach((ms, i) => expect((i + 1) * batch).toBeLessThanOrEqual((rate * ms) / 1000 + batch));
    // Steady rate between the first and the last batch (start-up work excluded).
    const measured = (rows - batch) / ((times[times.length - 1]! - times[0]!) / 1000);
    console.info(`rate limit ${rate} rows/s: measured ${measured.toFixed(0)} rows/s`);
    expect(measured).toBeLessThanOrEqual(rate * 1.08);
    expect(measured).toBeGreaterThan(rate * 0.9);
    expect(await dumpRows(dbs.pg, 'rated', ['id', 'v'], ['id'])).toEqual(
      await dumpRows(dbs.mysql, 'rated', ['id', 'v'], ['id']),
    );
  });

  it('shrinks batches and pauses when the source is slow, and still copies everything', async () => {
    await createRated(1500);
    const events: BackfillEvent[] = [];
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema,
      batchSize: 400,
      // One batch in flight, so each batch is paged after the previous one's backoff.
      pipeline: 1,
      // Every batch counts as slow: the backoff shrinks to its floor.
      slowBatchMs: 1,
      restart: true,
      onEvent: (e) => events.push(e),
    });
    expect(result.ok).toBe(true);
    const backoffs = events.filter((e) => e.type === 'backoff');
    expect(backoffs.length).toBeGreaterThan(3);
    expect(backoffs.map((e) => e.batchSize).slice(0, 4)).toEqual([200, 100, 50, 25]);
    const batchSizes = events.flatMap((e) => (e.type === 'batch' ? [e.rows] : []));
    expect(batchSizes[0]).toBe(400);
    expect(Math.min(...batchSizes)).toBeLessThanOrEqual(25);
    expect(await dumpRows(dbs.pg, 'rated', ['id', 'v'], ['id'])).toEqual(
      await dumpRows(dbs.mysql, 'rated', ['id', 'v'], ['id']),
    );
  });

  it('token bucket: waits for the debt of a batch; no limit at rate 0', async () => {
    const bucket = new TokenBucket(1000);
    const t0 = performance.now();
    await bucket.take(200);
    await bucket.take(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    const free = new TokenBucket(0);
    const t1 = performance.now();
    await free.take(1_000_000);
    expect(performance.now() - t1).toBeLessThan(20);
  });

  it('backoff grows the batch back once the source is fast again', () => {
    const backoff = new Backoff({ batchSize: 1000, slowBatchMs: 100 });
    expect(backoff.record(500)).toBe(400);
    expect(backoff.batchSize).toBe(500);
    expect(backoff.record(10)).toBe(0);
    expect(backoff.batchSize).toBe(625);
    for (let i = 0; i < 10; i++) backoff.record(10);
    expect(backoff.batchSize).toBe(1000);
  });
});
