import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { CheckpointStore } from '../../lib/backfill/checkpoint.js';
import { rowsOf } from '../../lib/backfill/keys.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { useFreshDatabases } from '../support/databases.js';
import { resumeSchema, resumeTranslators } from './child/tables.js';
import { dumpRows, insertMany } from './support.js';

const dbs = useFreshDatabases('dwbfresume');
const ROWS = 20_000;
const BATCH = 500;

async function createBig(): Promise<void> {
  for (const db of [dbs.mysql, dbs.pg]) {
    await db.schema.dropTableIfExists('big');
    await db.schema.createTable('big', (t) => {
      t.integer('id').primary();
      t.string('payload', 200).notNullable();
    });
  }
  // Gaps in the keys so batches do not line up with id ranges.
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    id: i * 3 + 1,
    payload: `row ${i} ${'x'.repeat(i % 150)}`,
  }));
  await insertMany(dbs.mysql, 'big', rows, 2000);
  await initMetaTables(dbs.mysql, dbs.pg);
  await dbs.pg.raw(`DELETE FROM dualwrite_state WHERE name = 'backfill.big'`);
}

async function count(): Promise<number> {
  return Number(rowsOf(await dbs.pg.raw('SELECT COUNT(*) AS n FROM big'))[0]?.['n']);
}

async function expectEqual(): Promise<void> {
  expect(await dumpRows(dbs.pg, 'big', ['id', 'payload'], ['id'])).toEqual(
    await dumpRows(dbs.mysql, 'big', ['id', 'payload'], ['id']),
  );
}

const options = () => ({
  mysql: dbs.mysql,
  postgres: dbs.pg,
  translators: resumeTranslators,
  sourceSchema: resumeSchema,
  batchSize: BATCH,
});

describe('resuming a killed backfill', () => {
  it.each([1, 3])(
    'resumes after SIGKILL mid-table with %i batch(es) in flight, repeating at most one batch',
    async (pipeline) => {
      await createBig();
      const store = new CheckpointStore(dbs.pg);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(new URL('./child/backfill-child.ts', import.meta.url)),
          dbs.mysqlUrl,
          dbs.pgUrl,
          String(BATCH),
          '0',
          String(pipeline),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Kill once a third of the table is copied: mid-table, with a batch most likely in flight.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const cp = await store.read('big');
        if (cp && cp.rowsDone >= ROWS / 3) break;
        if (Date.now() > deadline) throw new Error(`child made no progress: ${stderr}`);
        await sleep(20);
      }
      child.kill('SIGKILL');
      await exited;

      const cp = await store.read('big');
      expect(cp?.done).toBe(false);
      const committed = await count();
      const checkpointed = cp!.rowsDone;
      expect(checkpointed).toBeLessThan(ROWS);
      // Rows synced but not yet checkpointed are the work a resume repeats: batches commit in walk order,
      // each after the previous one's checkpoint, so at most one batch whatever the pipeline.
      const repeated = committed - checkpointed;
      console.info(
        `SIGKILL resume, pipeline ${pipeline}: ${repeated} rows synced but not checkpointed (batch ${BATCH})`,
      );
      expect(repeated).toBeGreaterThanOrEqual(0);
      expect(repeated).toBeLessThanOrEqual(BATCH);

      const result = await backfill({ ...options(), pipeline });
      expect(result.ok).toBe(true);
      expect(result.tables[0]).toMatchObject({ table: 'big', status: 'done', resumed: true });
      // The resumed run synced exactly what the checkpoint had not covered.
      expect(result.rows).toBe(ROWS - checkpointed);
      await expectEqual();
      expect((await store.read('big'))?.done).toBe(true);
    },
  );

  it('stops on abort, resumes from the checkpoint, and is idempotent when run again', async () => {
    await createBig();
    const controller = new AbortController();
    let batches = 0;
    await expect(
      backfill({
        ...options(),
        // One batch in flight: the abort after the fifth batch leaves exactly five done.
        pipeline: 1,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'batch' && ++batches === 5) controller.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    const cp = await new CheckpointStore(dbs.pg).read('big');
    expect(cp).toMatchObject({ rowsDone: 5 * BATCH, done: false });
    expect(await count()).toBe(5 * BATCH);

    const resumed = await backfill(options());
    expect(resumed.rows).toBe(ROWS - 5 * BATCH);
    await expectEqual();

    // Run again: a finished table is skipped; with restart it is copied again to the same result.
    const again = await backfill(options());
    expect(again.tables[0]).toMatchObject({ status: 'skipped', rows: 0 });
    await dbs.mysql('big').where('id', '<', 100).update({ payload: 'changed offline' });
    const restarted = await backfill({ ...options(), restart: true });
    expect(restarted.tables[0]).toMatchObject({ status: 'done', rows: ROWS });
    await expectEqual();
  });

  it('skips batches an earlier pipelined run finished beyond its watermark', async () => {
    await createBig();
    await initMetaTables(dbs.mysql, dbs.pg);
    // Keys are 1, 4, 7, ...: the 1000th is 2998, the 2000th 5998, the 3000th 8998.
    const key = (n: number): number => (n - 1) * 3 + 1;
    // The range (2000th, 3000th] was synced by the "earlier run": marked rows stand for it on PG.
    const marked = Array.from({ length: 1000 }, (_, i) => ({ id: key(2001 + i), payload: 'synced earlier' }));
    await insertMany(dbs.pg, 'big', marked, 1000);
    await new CheckpointStore(dbs.pg).write('big', {
      lastKey: [key(1000)],
      ahead: [{ from: [key(2000)], to: [key(3000)], rows: 1000 }],
      rowsDone: 2000,
      total: ROWS,
      done: false,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      phase: 'copy',
      targetEmptyAtStart: true,
      deleted: 0,
      quarantined: 0,
    });
    const result = await backfill({ ...options(), pipeline: 3 });
    expect(result.rows).toBe(ROWS - 2000);
    const [{ n }] = rowsOf(
      await dbs.pg.raw(`SELECT COUNT(*)::int AS n FROM big WHERE payload = 'synced earlier'`),
    ) as [{ n: number }];
    expect(n).toBe(1000);
    // Everything else was copied, keys 1..1000 excepted (the watermark says they were done).
    expect(await count()).toBe(ROWS - 1000);
    const cp = await new CheckpointStore(dbs.pg).read('big');
    expect(cp).toMatchObject({ done: true, rowsDone: ROWS, ahead: [] });
  });
});
