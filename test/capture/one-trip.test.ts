import type { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SENT_EVENT } from '../../lib/handle/app-clients.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { Stage } from '../../lib/stage/stage.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle, outboxKeys, recordStatements } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwonetrip');
let db: DualWriteDb | undefined;

beforeAll(async () => {
  await createWidgets(dbs);
});

afterEach(async () => {
  await db?.destroy();
  db = undefined;
  for (const k of [dbs.mysql, dbs.pg]) {
    await k('widgets').del();
    await k('dualwrite_outbox').del();
  }
});

/** Queries a pool sent to its driver, as sent (one string per round trip). */
function sentBy(pool: Knex): string[] {
  const sent: string[] = [];
  (pool.client as EventEmitter).on(SENT_EVENT, (q: { sql: string }) => sent.push(q.sql));
  return sent;
}

/** Statements the PostgreSQL app pool sent, as sent. */
function pgStatements(handle: DualWriteDb): string[] {
  return sentBy(handle.dualwrite.app.postgres);
}

/** Queries the write pool sent, as sent (one string per round trip). */
function roundTrips(handle: DualWriteDb): string[] {
  return sentBy(handle.dualwrite.mysqlWrites);
}

describe('one-round-trip capture on MySQL', () => {
  it('sends a key-known write and its outbox row as one query, and the app gets knex-shaped results', async () => {
    db = await openHandle(dbs, Stage.DualWrite);
    const trips = roundTrips(db);
    const seen = recordStatements(db.dualwrite);
    const [id] = (await db('widgets').insert({ name: 'gen', qty: 1 })) as number[];
    expect(await db('widgets').insert({ id: 500, name: 'given' })).toEqual([500]);
    expect(await db('widgets').where({ id: 500 }).update({ qty: 7 })).toBe(1);
    expect(await db('widgets').whereIn('id', [500, 501]).increment('qty', 1)).toBe(1);
    expect(await db('widgets').where({ id: 501 }).del()).toBe(0);

    expect(trips).toHaveLength(5);
    for (const sql of trips)
      expect(sql).toMatch(/^START TRANSACTION; .+; INSERT INTO dualwrite_outbox .+; COMMIT$/);
    // Nothing else went out for these writes: the app's five statements only (no BEGIN/COMMIT round trips).
    expect(seen.mysql.filter((s) => /^(begin|commit|insert|update|delete)/i.test(s))).toHaveLength(5);
    expect(typeof id).toBe('number');
    expect(await outboxKeys(dbs.mysql, 'widgets')).toEqual([[id], [500], [500], [500], [501], [501]]);
    expect(await dbs.mysql('widgets').where({ id: 500 }).first()).toMatchObject({ qty: 8 });
  });

  it('fails a write like knex does and leaves neither the row nor an outbox row; the connection stays usable', async () => {
    db = await openHandle(dbs, Stage.DualWrite, { config: { mysql: { url: dbs.mysqlUrl, poolMax: 1 } } });
    await db('widgets').insert({ id: 1, name: 'one' });
    const failed = db('widgets').insert({ id: 2, name: 'one' });
    await expect(failed).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    await expect(db('widgets').insert({ id: 2, name: 'one' })).rejects.toThrow(
      /^insert into `widgets` .* - Duplicate entry/,
    );
    // The pool has one connection: had the failed trip left its transaction open, this write would
    // sit uncommitted in it and be invisible to another session.
    await db('widgets').insert({ id: 3, name: 'three' });
    expect(await dbs.mysql('widgets').orderBy('id').pluck('id')).toEqual([1, 3]);
    expect(await outboxKeys(dbs.mysql, 'widgets')).toEqual([[1], [3]]);
  });

  it('does not commit the write when its outbox row cannot be written', async () => {
    db = await openHandle(dbs, Stage.DualWrite);
    await dbs.mysql.raw('RENAME TABLE dualwrite_outbox TO dualwrite_outbox_away');
    try {
      await expect(db('widgets').insert({ id: 9, name: 'nine' })).rejects.toMatchObject({
        code: 'ER_NO_SUCH_TABLE',
      });
    } finally {
      await dbs.mysql.raw('RENAME TABLE dualwrite_outbox_away TO dualwrite_outbox');
    }
    expect(await dbs.mysql('widgets').where({ id: 9 }).first()).toBeUndefined();
    await db('widgets').insert({ id: 10, name: 'ten' });
    expect(await outboxKeys(dbs.mysql, 'widgets')).toEqual([[10]]);
  });

  it('leaves upserts on other columns and writes whose keys are not known up front to the transaction path', async () => {
    db = await openHandle(dbs, Stage.DualWrite);
    await dbs.mysql('widgets').insert([
      { id: 1, name: 'a', qty: 1 },
      { id: 2, name: 'b', qty: 5 },
    ]);
    const trips = roundTrips(db);
    // Non-key WHERE (pre-select), an upsert on a unique column that is not the key, multi-row generated ids.
    await db('widgets').where('qty', '>', 3).update({ qty: 0 });
    await db('widgets').insert({ id: 7, name: 'a', qty: 9 }).onConflict('name').merge(['qty']);
    await db('widgets').insert([{ name: 'm1' }, { name: 'm2' }]);
    expect(trips).toEqual([]);
    const m = (await dbs
      .mysql('widgets')
      .whereIn('name', ['m1', 'm2'])
      .orderBy('id')
      .pluck('id')) as number[];
    // The upsert updated row 1 (its name conflicted), not a row 7: the outbox names key 1 (and the
    // given key 7, whose sync finds no row and deletes nothing).
    expect(await dbs.mysql('widgets').where({ id: 1 }).first()).toMatchObject({ name: 'a', qty: 9 });
    expect(await outboxKeys(dbs.mysql, 'widgets')).toEqual([[2], [7], [1], ...m.map((i) => [i])]);
    // Even an upsert on the key: widgets has another unique key (name), and MySQL updates the row of
    // whichever conflicts — here row 1, through its name.
    await db('widgets').insert({ id: 3, name: 'a', qty: 4 }).onConflict('id').merge(['qty']);
    expect(trips).toEqual([]);
    expect(await dbs.mysql('widgets').where({ id: 1 }).first()).toMatchObject({ qty: 4 });
    expect((await outboxKeys(dbs.mysql, 'widgets')).slice(-2)).toEqual([[3], [1]]);
  });

  it('sends an upsert on the key as one trip when the table has no other unique key', async () => {
    await dbs.mysql.raw('CREATE TABLE IF NOT EXISTS plain_kv (k INT PRIMARY KEY, v INT NOT NULL)');
    await dbs.pg.raw('CREATE TABLE IF NOT EXISTS plain_kv (k integer PRIMARY KEY, v integer NOT NULL)');
    db = await openHandle(dbs, Stage.DualWrite);
    const trips = roundTrips(db);
    await db('plain_kv').insert({ k: 1, v: 1 }).onConflict('k').merge();
    await db('plain_kv').insert({ k: 1, v: 2 }).onConflict('k').merge();
    expect(trips).toHaveLength(2);
    expect(await dbs.mysql('plain_kv').where({ k: 1 }).first()).toEqual({ k: 1, v: 2 });
    expect(await outboxKeys(dbs.mysql, 'plain_kv')).toEqual([[1], [1]]);
  });
});

describe('one-statement capture on PostgreSQL', () => {
  it('carries the outbox insert as a WITH of the write, and the app gets the usual results', async () => {
    db = await openHandle(dbs, Stage.PgPrimary);
    const sent = pgStatements(db);
    const [id] = (await db('widgets').insert({ name: 'gen', qty: 1 })) as number[];
    expect(typeof id).toBe('number');
    // MySQL's answers: the AUTO_INCREMENT value inserted (given or generated), counts for updates;
    // RETURNING has no effect, as on MySQL.
    expect(await db('widgets').insert({ id: 500, name: 'given' })).toEqual([500]);
    const returned = (await db('widgets')
      .insert({ name: 'ret', qty: 2 })
      .returning(['name', 'qty'])) as number[];
    expect(returned).toEqual([(await dbs.pg('widgets').where({ name: 'ret' }).first()).id]);
    expect(await db('widgets').where({ id: 500 }).update({ qty: 7 })).toBe(1);
    expect(await db('widgets').where({ id: 500 }).update({ qty: 8 }, ['qty'])).toBe(1);
    expect(await db('widgets').whereIn('id', [500, 9999]).increment('qty', 1)).toBe(1);
    expect(await db('widgets').where({ id: 9999 }).del()).toBe(0);

    // The explicit id 500 moved the identity past it (as MySQL moves AUTO_INCREMENT): one setval.
    expect(sent.filter((sql) => /setval/.test(sql))).toHaveLength(1);
    const writes = sent.filter((sql) => !/setval/.test(sql));
    expect(writes).toHaveLength(7);
    for (const sql of writes) expect(sql).toMatch(/^WITH dw_(outbox|write) AS \(/);
    const retId = (await dbs.pg('widgets').where({ name: 'ret' }).first()) as { id: number };
    expect(await outboxKeys(dbs.pg, 'widgets')).toEqual(
      expect.arrayContaining([[id], [500], [retId.id], [9999]]),
    );
    expect(new Set((await outboxKeys(dbs.pg, 'widgets')).map((k) => JSON.stringify(k))).size).toBe(4);
    expect(await dbs.pg('widgets').where({ id: 500 }).first()).toMatchObject({ qty: 9 });
  });

  it('fails a write with the message knex gives and leaves neither the row nor an outbox row', async () => {
    db = await openHandle(dbs, Stage.PgPrimary);
    await db('widgets').insert({ id: 1, name: 'one' });
    // MySQL's error (code, errno, sqlState), PostgreSQL's as its cause; knex names the statement.
    await expect(db('widgets').insert({ id: 2, name: 'one' })).rejects.toMatchObject({
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sqlState: '23000',
      message: expect.stringMatching(/^insert into "widgets" .* - Duplicate entry 'one' for key/),
      cause: expect.objectContaining({ code: '23505' }),
    });
    await expect(db('widgets').insert({ name: 'one' })).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect(await dbs.pg('widgets').pluck('id')).toEqual([1]);
    expect(await outboxKeys(dbs.pg, 'widgets')).toEqual([[1]]);
  });
});

describe('keys of an app transaction', () => {
  it('go into the outbox in one insert per table just before the commit', async () => {
    db = await openHandle(dbs, Stage.DualWrite);
    const seen = recordStatements(db.dualwrite);
    await db.transaction(async (trx) => {
      await trx('widgets').insert({ id: 1, name: 'a' });
      await trx('widgets').where({ id: 1 }).update({ qty: 2 });
      await trx('widgets').insert({ id: 2, name: 'b' });
      // No outbox statement yet: the keys wait for the commit.
      expect(seen.mysql.filter((s) => /dualwrite_outbox/.test(s))).toEqual([]);
    });
    const outbox = seen.mysql.filter((s) => /dualwrite_outbox/.test(s));
    expect(outbox).toHaveLength(1);
    const tail = seen.mysql.slice(seen.mysql.indexOf(outbox[0] as string));
    expect(tail[1]).toMatch(/^commit/i);
    expect(await outboxKeys(dbs.mysql, 'widgets')).toEqual([[1], [2]]);
  });

  it('roll back with the writes when the keys cannot be recorded at commit', async () => {
    db = await openHandle(dbs, Stage.DualWrite);
    const trx = await db.transaction();
    await trx('widgets').insert({ id: 5, name: 'e' });
    await dbs.mysql.raw('RENAME TABLE dualwrite_outbox TO dualwrite_outbox_away');
    try {
      await expect(trx.commit()).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
    } finally {
      await dbs.mysql.raw('RENAME TABLE dualwrite_outbox_away TO dualwrite_outbox');
    }
    expect(trx.isCompleted()).toBe(true);
    expect(await dbs.mysql('widgets').where({ id: 5 }).first()).toBeUndefined();
  });
});
