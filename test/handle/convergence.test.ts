import { beforeAll, describe, expect, it } from 'vitest';
import { writeState } from '../../lib/report/state.js';
import type { Stage } from '../../lib/stage/stage.js';
import { StateName } from '../../lib/stage/state.js';
import { initMetaTables } from '../../lib/meta/init.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { useFreshDatabases } from '../support/databases.js';
import { openHandle } from '../support/dualwrite.js';
import { prng } from '../sync/support/traffic.js';

const dbs = useFreshDatabases('dwconv');
const HOT_KEYS = 16;
const WRITERS = 6;
const RUN_MS = 2500;

beforeAll(async () => {
  await dbs.mysql.raw(
    'CREATE TABLE hot (id INT NOT NULL PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NULL)',
  );
  await dbs.pg.raw('CREATE TABLE hot (id integer PRIMARY KEY, v integer NOT NULL, note varchar(40) NULL)');
  await initMetaTables(dbs.mysql, dbs.pg);
  await writeState(dbs.pg, `${StateName.backfillPrefix}hot`, { done: true });
});

async function randomWrite(db: DualWriteDb, rand: () => number): Promise<void> {
  const id = 1 + Math.floor(rand() * HOT_KEYS);
  const v = Math.floor(rand() * 1000);
  const op = rand();
  if (op < 0.25)
    await db('hot')
      .insert({ id, v, note: `i${v}` })
      .onConflict('id')
      .merge();
  else if (op < 0.4) await db('hot').insert({ id, v }).onConflict('id').ignore();
  else if (op < 0.55)
    await db('hot')
      .where({ id })
      .update({ v, note: `u${v}` });
  else if (op < 0.65) await db('hot').where({ id }).increment('v', 1);
  else if (op < 0.75) await db('hot').where({ id }).del();
  else if (op < 0.85) await db('hot').where('v', '>', 900).where('id', '<=', id).update({ note: 'range' });
  else if (op < 0.92) await db('hot').where('v', '<', 30).del();
  else {
    await db.transaction(async (trx) => {
      await trx('hot').where({ id }).del();
      await trx('hot').insert({ id, v, note: 'trx' });
      await trx('hot')
        .where({ id: 1 + ((id + 3) % HOT_KEYS) })
        .update({ v });
    });
  }
}

const FLIPS: Stage[] = ['pg-primary', 'shadow', 'pg-rampdown', 'dual-write'];

describe('convergence under concurrent writers while stages flip back and forth', () => {
  it.each([[11], [23], [37]])('seed %i: both databases equal row for row after quiescence', async (seed) => {
    for (const k of [dbs.mysql, dbs.pg]) {
      await k('hot').del();
      await k('dualwrite_outbox').del();
    }
    const db = await openHandle(dbs, 'dual-write', {
      syncWorker: true,
      config: { flip: { quietWindowMs: 0, requireVerificationWithinMs: 0 }, sync: { pollIntervalMs: 50 } },
    });
    try {
      const rand = prng(seed);
      const flips: number[] = [];
      // At least RUN_MS and three completed flips (a loaded machine flips slower), at most 4 × RUN_MS.
      const startedAt = Date.now();
      const running = (): boolean =>
        Date.now() < startedAt + RUN_MS || (flips.length < 3 && Date.now() < startedAt + 4 * RUN_MS);
      let writes = 0;
      let failures = 0;
      const writers = Array.from({ length: WRITERS }, async () => {
        while (running()) {
          try {
            await randomWrite(db, rand);
            writes++;
          } catch (error) {
            // Deadlocks and key races between writers are the app's to handle; a failed statement rolls back whole.
            if (!/deadlock|lock wait|could not serialize|duplicate|unique/i.test((error as Error).message))
              throw error;
            failures++;
          }
        }
      });
      const flipper = (async () => {
        let i = 0;
        while (running()) {
          await new Promise((r) => setTimeout(r, 150 + Math.floor(rand() * 150)));
          const change = await db.dualwrite.setStage(FLIPS[i++ % FLIPS.length] as Stage, { source: 'test' });
          if (change.pauseMs !== null) flips.push(change.pauseMs);
        }
      })();
      await Promise.all([...writers, flipper]);
      await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
      expect(writes).toBeGreaterThan(30);
      expect(failures).toBeLessThan(writes);
      expect(flips.length).toBeGreaterThanOrEqual(3);
      const mysqlRows = await dbs.mysql('hot').orderBy('id');
      const pgRows = await dbs.pg('hot').orderBy('id');
      expect(mysqlRows.length).toBeGreaterThan(0);
      expect(pgRows).toEqual(mysqlRows);
      expect(await dbs.mysql('dualwrite_outbox').count({ n: '*' })).toEqual([{ n: '0' }]);
      expect(await dbs.pg('dualwrite_outbox').count({ n: '*' })).toEqual([{ n: '0' }]);
    } finally {
      await db.destroy();
    }
  });
});
