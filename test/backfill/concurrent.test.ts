import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { initMetaTables } from '../../lib/meta/init.js';
import type { Knex } from 'knex';
import { enqueueKeys } from '../../lib/sync/outbox.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import type { KeyTuple } from '../../lib/translate/types.js';
import { testTranslators } from '../sync/support/translator.js';
import { useFreshDatabases } from '../support/databases.js';
import { dumpRows, insertMany, prng, schemaOf } from './support.js';

const dbs = useFreshDatabases('dwbfconc');

const translators = testTranslators({
  items: { primaryKey: ['id'], columns: ['id', 'val', 'n'] },
  pairs: { primaryKey: ['a', 'b'], columns: ['a', 'b', 'v'], intKeys: ['a'] },
});
const sourceSchema = schemaOf([
  { name: 'items', primaryKey: ['id'] },
  { name: 'pairs', primaryKey: ['a', 'b'] },
]);

async function createTables(): Promise<void> {
  for (const db of [dbs.mysql, dbs.pg]) {
    await db.schema.dropTableIfExists('items');
    await db.schema.dropTableIfExists('pairs');
    await db.schema.createTable('items', (t) => {
      t.integer('id').primary();
      t.string('val', 40).notNullable();
      t.integer('n').notNullable();
    });
    await db.schema.createTable('pairs', (t) => {
      t.integer('a').notNullable();
      t.string('b', 20).notNullable();
      t.integer('v').notNullable();
      t.primary(['a', 'b']);
    });
  }
}

const ITEMS = 3000;
const PAIRS = 2000;

/** Seeds MySQL, and a stale, partly wrong copy in PG: old values, rows MySQL no longer has, missing rows. */
async function seed(rand: () => number): Promise<void> {
  const items = Array.from({ length: ITEMS }, (_, i) => ({ id: i + 1, val: `v${i + 1}`, n: 0 }));
  const pairs = Array.from({ length: PAIRS }, (_, i) => ({ a: i % 50, b: `k${Math.floor(i / 50)}`, v: i }));
  await insertMany(dbs.mysql, 'items', items);
  await insertMany(dbs.mysql, 'pairs', pairs);
  const stale = items.filter(() => rand() < 0.5).map((r) => ({ ...r, val: 'stale', n: -1 }));
  const targetOnly = Array.from({ length: 100 }, (_, i) => ({ id: ITEMS + 1000 + i, val: 'ghost', n: -2 }));
  await insertMany(dbs.pg, 'items', [...stale, ...targetOnly]);
  await insertMany(
    dbs.pg,
    'pairs',
    [...pairs.filter(() => rand() < 0.3), { a: 999, b: 'ghost', v: 0 }].map((r) => ({ ...r, v: -1 })),
  );
}

describe('backfill under concurrent writes', () => {
  // `sync`: each writer syncs its key after commit; `outbox`: the key goes to the outbox in the write's
  // transaction and a running SyncWorker drains it.
  // `lanes` 1 reads each batch's source rows by key range, more lanes by key lists; a low `copyThreshold`
  // sends the syncs through COPY (rows absent on the target streamed straight in).
  for (const [seedValue, pipeline, live, lanes, copyThreshold] of [
    [1, 1, 'sync', 1, 2000],
    [2, 3, 'outbox', 1, 20],
    [3, 2, 'outbox', 2, 20],
    [4, 1, 'outbox', 1, 20],
  ] as const) {
    it(`leaves both databases equal row for row (seed ${seedValue}, pipeline ${pipeline}, live path ${live}, lanes ${lanes}, copy from ${copyThreshold} rows)`, async () => {
      await createTables();
      await initMetaTables(dbs.mysql, dbs.pg);
      const rand = prng(seedValue);
      await seed(rand);
      const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators, copyThreshold });
      const worker =
        live === 'outbox'
          ? new SyncWorker({ mysql: dbs.mysql, pg: dbs.pg, syncer, authoritative: () => 'mysql' })
          : null;
      const write = async (
        table: string,
        key: KeyTuple,
        sql: (trx: Knex.Transaction) => Promise<unknown>,
      ) => {
        await dbs.mysql.transaction(async (trx) => {
          await sql(trx);
          if (worker) await enqueueKeys(trx, table, [key]);
        });
        if (worker) worker.notify();
        else await syncer.sync(table, [key], 'mysql');
      };

      // Writers on MySQL across the whole key range, while the backfill runs.
      let stop = false;
      let writes = 0;
      const writer = async (w: number): Promise<void> => {
        const r = prng(seedValue * 100 + w);
        while (!stop) {
          const op = r();
          if (r() < 0.6) {
            const id = 1 + Math.floor(r() * ITEMS * 1.1);
            await write('items', [id], (trx) =>
              op < 0.35
                ? trx.raw(
                    'INSERT INTO items (id, val, n) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE n = n + 1',
                    [id, `w${w}`],
                  )
                : op < 0.75
                  ? trx('items')
                      .where({ id })
                      .update({ val: `u${w}-${writes}`, n: writes })
                  : trx('items').where({ id }).del(),
            );
          } else {
            const a = Math.floor(r() * 55);
            const b = `k${Math.floor(r() * 44)}`;
            await write('pairs', [a, b], (trx) =>
              op < 0.5
                ? trx.raw(
                    'INSERT INTO pairs (a, b, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)',
                    [a, b, writes],
                  )
                : trx('pairs').where({ a, b }).del(),
            );
          }
          writes++;
        }
      };
      const writers = [0, 1, 2].map(writer);
      const result = await backfill({
        mysql: dbs.mysql,
        postgres: dbs.pg,
        syncer,
        translators,
        sourceSchema,
        batchSize: 100,
        pipeline,
        lanes,
        restart: true,
      });
      const writesDuring = writes;
      stop = true;
      await Promise.all(writers);
      if (worker) {
        await worker.drain({ timeoutMs: 30_000 });
        await worker.close();
      }

      expect(result.ok).toBe(true);
      expect(writesDuring).toBeGreaterThan(50);
      expect(result.tables.map((t) => [t.table, t.status]).sort()).toEqual([
        ['items', 'done'],
        ['pairs', 'done'],
      ]);
      expect(await dumpRows(dbs.pg, 'items', ['id', 'val', 'n'], ['id'])).toEqual(
        await dumpRows(dbs.mysql, 'items', ['id', 'val', 'n'], ['id']),
      );
      // Order by a and by b's bytes on both sides (collations differ).
      const pg = await dumpRows(dbs.pg, 'pairs', ['a', 'b', 'v'], ['a', 'b']);
      const my = await dumpRows(dbs.mysql, 'pairs', ['a', 'b', 'v'], ['a', 'b']);
      expect(pg.sort()).toEqual(my.sort());
      expect(pg.some((r) => r.includes('ghost'))).toBe(false);
    });
  }
});
