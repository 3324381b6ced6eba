import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { planFor, STAGES, type Side } from '../../lib/stage/stage.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle, outboxKeys, recordStatements } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwroute');
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

/** App statements on the widgets table (dualwrite's own outbox and transaction statements left out). */
function appStatements(seen: string[]): string[] {
  return seen.filter((s) => /widgets/.test(s) && !/dualwrite_/.test(s));
}

describe.each(STAGES.map((s) => [s]))('stage %s', (stage) => {
  const plan = planFor(stage);
  const auth: Side = plan.authoritative;
  const other: Side = auth === 'mysql' ? 'postgres' : 'mysql';

  it('sends each statement to the authoritative database exactly once and never to the other', async () => {
    db = await openHandle(dbs, stage);
    const seen = recordStatements(db.dualwrite);

    const [id] = (await db('widgets').insert({ name: 'a', active: 1, qty: 1 })) as number[];
    expect(typeof id).toBe('number');
    await db('widgets').insert([
      { name: 'b', active: 0, qty: 2 },
      { name: 'c', active: true, qty: 3 },
    ]);
    // Rows as the app's knex (mysql2's defaults here) gives them, whichever side served them:
    // TINYINT(1) as a number, COUNT as a number.
    const [t, f] = [1, 0];
    const row = await db('widgets').where({ id }).first();
    expect(row).toMatchObject({ id, name: 'a', active: t, qty: 1 });
    const all = await db('widgets').select('name', 'active').orderBy('name');
    expect(all).toEqual([
      { name: 'a', active: t },
      { name: 'b', active: f },
      { name: 'c', active: t },
    ]);
    const counted = (await db('widgets').count({ n: '*' })) as { n: string | number }[];
    expect(Number(counted[0]?.n)).toBe(3);
    // Unaliased aggregates carry MySQL's column names whichever side served them.
    expect(await db('widgets').count('*')).toEqual([{ 'count(*)': 3 }]);
    expect(await db('widgets').max('qty').first()).toEqual({ 'max(`qty`)': 3 });
    expect(await db('widgets').where({ id }).update({ qty: 10 })).toBe(1);
    expect(await db('widgets').where('qty', '<', 3).update({ active: 1 })).toBe(1);
    await db('widgets').where({ name: 'c' }).increment('qty', 5);
    await db('widgets').insert({ name: 'a', qty: 99 }).onConflict('name').merge({ qty: 99 });
    expect(await db('widgets').where('name', 'b').del()).toBe(1);

    const onAuth = appStatements(seen[auth]);
    expect(appStatements(seen[other])).toEqual([]);
    // One statement per app call; the two-row insert without keys runs as one statement per row on
    // MySQL (insertId is exact only for one row), as one statement with RETURNING on PostgreSQL.
    const inserts = onAuth.filter((s) => /^insert/i.test(s)).length;
    expect(inserts).toBe(auth === 'mysql' && plan.syncs ? 4 : 3);
    expect(onAuth.filter((s) => /^select/i.test(s) && !/for update/i.test(s)).length).toBe(5);
    expect(onAuth.filter((s) => /^update/i.test(s)).length).toBe(3);
    expect(onAuth.filter((s) => /^delete/i.test(s)).length).toBe(1);

    const rows = await dbs[auth === 'mysql' ? 'mysql' : 'pg']('widgets').orderBy('name');
    expect(rows.map((r: { name: string; qty: number }) => [r.name, r.qty])).toEqual([
      ['a', 99],
      ['c', 8],
    ]);
    expect(await dbs[other === 'mysql' ? 'mysql' : 'pg']('widgets')).toEqual([]);

    const keys = await outboxKeys(dbs[auth === 'mysql' ? 'mysql' : 'pg'], 'widgets');
    if (plan.syncs) {
      const ids = rows.map((r: { id: number }) => r.id);
      // Every key written is in the outbox, including the deleted one.
      expect(new Set(keys.map((k) => JSON.stringify(k))).size).toBe(3);
      for (const i of ids) expect(keys).toContainEqual([i]);
    } else {
      expect(keys).toEqual([]);
    }
    expect(await outboxKeys(dbs[other === 'mysql' ? 'mysql' : 'pg'], 'widgets')).toEqual([]);
  });

  it('runs transactions on the authoritative side; raw writes are captured (read from their SQL on MySQL, declared on PostgreSQL)', async () => {
    db = await openHandle(dbs, stage);
    const seen = recordStatements(db.dualwrite);
    const id = await db.transaction(async (trx) => {
      const [newId] = (await trx('widgets').insert({ name: 't1' })) as number[];
      await trx('widgets').where('name', 'like', 't%').update({ qty: 7 });
      return newId as number;
    });
    const q = 'UPDATE widgets SET qty = qty + 1 WHERE id = ?';
    if (plan.syncs && auth === 'postgres') {
      await expect(db.raw(q, [id])).rejects.toMatchObject({ code: 'DW_UNCAPTURED_WRITE' });
    } else {
      await db.raw(q, [id]);
    }
    await db.raw(q, [id], { table: 'widgets', keys: [[id]] });
    const [rows] = (await db.raw('SELECT qty FROM widgets WHERE id = ?', [id])) as [{ qty: number }[]];
    expect(rows).toEqual([{ qty: auth === 'postgres' && plan.syncs ? 8 : 9 }]);
    expect(appStatements(seen[other])).toEqual([]);
    const keys = await outboxKeys(dbs[auth === 'mysql' ? 'mysql' : 'pg'], 'widgets');
    expect(keys.length > 0).toBe(plan.syncs);
  });
});
