import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { Stage, type Side } from '../../lib/stage/stage.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle, outboxKeys, recordStatements } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwcapture');
let db: DualWriteDb | undefined;

beforeAll(async () => {
  await createWidgets(dbs);
  await dbs.mysql.raw(
    // A binary collation: MySQL compares the text part exactly, so the WHERE's values are the stored keys.
    'CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(10) COLLATE utf8mb4_bin NOT NULL, v INT NOT NULL, PRIMARY KEY (a, b))',
  );
  await dbs.mysql.raw('CREATE TABLE tags (name VARCHAR(20) NOT NULL PRIMARY KEY, v INT NOT NULL)');
  await dbs.pg.raw('CREATE TABLE tags (name varchar(20) NOT NULL PRIMARY KEY, v integer NOT NULL)');
  await dbs.pg.raw(
    'CREATE TABLE pairs (a integer NOT NULL, b varchar(10) NOT NULL, v integer NOT NULL, PRIMARY KEY (a, b))',
  );
});

afterEach(async () => {
  await db?.destroy();
  db = undefined;
  for (const k of [dbs.mysql, dbs.pg]) {
    await k('widgets').del();
    await k('pairs').del();
    await k('tags').del();
    await k('dualwrite_outbox').del();
  }
});

const sides: [Stage, Side][] = [
  [Stage.DualWrite, 'mysql'],
  [Stage.PgPrimary, 'postgres'],
];

describe.each(sides)('capture in %s (authoritative %s)', (stage, side) => {
  const knexOf = (s: Side) => (s === 'mysql' ? dbs.mysql : dbs.pg);

  it('records the generated ids of a multi-row insert, exactly the rows inserted', async () => {
    db = await openHandle(dbs, stage);
    await db('widgets').insert([{ name: 'x1' }, { name: 'x2' }, { name: 'x3' }]);
    const ids = (await knexOf(side)('widgets').orderBy('id').pluck('id')) as number[];
    expect(ids).toHaveLength(3);
    expect(await outboxKeys(knexOf(side), 'widgets')).toEqual(ids.map((id) => [id]));
  });

  it('finds the keys of a non-key WHERE: locking pre-select on MySQL, RETURNING on PostgreSQL', async () => {
    db = await openHandle(dbs, stage);
    await knexOf(side)('widgets').insert([
      { id: 1, name: 'p', qty: 1 },
      { id: 2, name: 'q', qty: 6 },
      { id: 3, name: 'r', qty: 9 },
    ]);
    const seen = recordStatements(db.dualwrite);
    expect(await db('widgets').where('qty', '>', 5).update({ active: false })).toBe(2);
    expect(await db('widgets').whereIn('name', ['p', 'zz']).del()).toBe(1);
    const locking = seen[side].filter((s) => /for update/i.test(s));
    if (side === 'mysql') {
      expect(locking).toHaveLength(2);
    } else {
      // PostgreSQL names the changed rows itself (RETURNING), in the same statement.
      expect(locking).toEqual([]);
      expect(seen[side].filter((s) => /^(update|delete)\b.*returning/i.test(s))).toHaveLength(2);
    }
    expect((await outboxKeys(knexOf(side), 'widgets')).sort()).toEqual([[1], [2], [3]]);
    if (side === 'postgres') {
      // The app gets MySQL's answer (the affected count: RETURNING has no effect on MySQL), whatever
      // the key columns returned for capture.
      expect(await db('widgets').where('qty', '>', 5).update({ qty: 7 }).returning('name')).toBe(2);
    }
  });

  it('uses a plain key lookup without a pre-select, composite keys included', async () => {
    db = await openHandle(dbs, stage);
    await knexOf(side)('pairs').insert([
      { a: 1, b: 'x', v: 1 },
      { a: 2, b: 'y', v: 2 },
    ]);
    const seen = recordStatements(db.dualwrite);
    await db('pairs').where({ a: 1, b: 'x' }).update({ v: 10 });
    await db('pairs').where('a', 2).whereIn('b', ['y', 'w']).del();
    expect(seen[side].filter((s) => /for update/i.test(s))).toEqual([]);
    expect(await outboxKeys(knexOf(side), 'pairs')).toEqual([
      [1, 'x'],
      [2, 'y'],
      [2, 'w'],
    ]);
  });

  it('records both the old and the new key when an update moves a row', async () => {
    db = await openHandle(dbs, stage);
    await knexOf(side)('widgets').insert({ id: 7, name: 'm' });
    await db('widgets').where({ id: 7 }).update({ id: 70 });
    expect(await outboxKeys(knexOf(side), 'widgets')).toEqual([[7], [70]]);
  });

  it('records the key of the row an upsert updated through its conflict column', async () => {
    db = await openHandle(dbs, stage);
    await knexOf(side)('widgets').insert({ id: 40, name: 'u', qty: 1 });
    await db('widgets').insert({ name: 'u', qty: 2 }).onConflict('name').merge(['qty']);
    expect(await knexOf(side)('widgets').where({ id: 40 }).first()).toMatchObject({ qty: 2 });
    expect(await outboxKeys(knexOf(side), 'widgets')).toEqual([[40]]);
  });

  it('records the updated row of an upsert whose values name another key than the conflicting row', async () => {
    db = await openHandle(dbs, stage);
    await knexOf(side)('widgets').insert({ id: 41, name: 'w', qty: 1 });
    await db('widgets').insert({ id: 77, name: 'w', qty: 3 }).onConflict('name').merge(['qty']);
    expect(await knexOf(side)('widgets').where({ id: 41 }).first()).toMatchObject({ qty: 3 });
    expect(await knexOf(side)('widgets').where({ id: 77 }).first()).toBeUndefined();
    // MySQL also records the given key 77 (its sync finds no row); PostgreSQL's RETURNING is exact.
    const keys = await outboxKeys(knexOf(side), 'widgets');
    expect(keys).toEqual(side === 'mysql' ? [[77], [41]] : [[41]]);
  });

  it('leaves no outbox row when the app transaction rolls back', async () => {
    db = await openHandle(dbs, stage);
    await expect(
      db.transaction(async (trx) => {
        await trx('widgets').insert({ name: 'gone' });
        throw new Error('app failure');
      }),
    ).rejects.toThrow('app failure');
    expect(await knexOf(side)('widgets')).toEqual([]);
    expect(await outboxKeys(knexOf(side), 'widgets')).toEqual([]);
  });

  it('captures in a transaction the caller commits, and nothing from one it rolls back', async () => {
    db = await openHandle(dbs, stage);
    const trx = await db.transaction();
    await trx('widgets').insert({ id: 11, name: 'kept' });
    await trx.commit();
    const dropped = await db.transaction();
    await dropped('widgets').insert({ id: 12, name: 'dropped' });
    await dropped.rollback();
    expect(await knexOf(side)('widgets').pluck('id')).toEqual([11]);
    expect(await outboxKeys(knexOf(side), 'widgets')).toEqual([[11]]);
  });

  it('syncs the captured keys to the other database through the worker', async () => {
    db = await openHandle(dbs, stage, { syncWorker: true });
    const [id] = (await db('widgets').insert({ name: 'w', active: 0, qty: 3 })) as number[];
    await db('widgets').where({ id }).increment('qty', 2);
    await db.dualwrite.worker?.drain({ timeoutMs: 10_000 });
    const other = side === 'mysql' ? dbs.pg : dbs.mysql;
    expect(await other('widgets').where({ id }).first()).toEqual({ id, name: 'w', active: false, qty: 5 });
    expect(await outboxKeys(knexOf(side), 'widgets')).toEqual([]);
  });
});

describe('capture of a case-insensitive text key (MySQL authoritative)', () => {
  it("records the stored key, not the WHERE's spelling of it", async () => {
    db = await openHandle(dbs, Stage.DualWrite);
    await dbs.mysql('tags').insert([
      { name: 'Alpha', v: 1 },
      { name: 'beta', v: 1 },
    ]);
    const seen = recordStatements(db.dualwrite);
    // 'ALPHA' finds 'Alpha' under the table's case-insensitive collation.
    expect(await db('tags').where({ name: 'ALPHA' }).update({ v: 2 })).toBe(1);
    expect(await db('tags').whereIn('name', ['BETA', 'gamma']).del()).toBe(1);
    expect(seen.mysql.filter((s) => /for update/i.test(s))).toHaveLength(2);
    expect(await outboxKeys(dbs.mysql, 'tags')).toEqual([['Alpha'], ['beta']]);
  });
});
