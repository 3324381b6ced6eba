import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dualwriteMiddleware, type MiddlewareRequest } from '../../lib/handle/middleware.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import type { ReadObservation, ReadObserver } from '../../lib/shadow/types.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwctx');
let db: DualWriteDb | undefined;

beforeAll(async () => {
  await createWidgets(dbs);
  await dbs.mysql('widgets').insert({ id: 1, name: 'one', active: 1, qty: 1 });
  await dbs.pg('widgets').insert({ id: 1, name: 'one', active: true, qty: 1 });
});

afterEach(async () => {
  await db?.destroy();
  db = undefined;
});

/** Collects observations (a real observer would compare them; this one records what the handle hands over). */
function collector(): ReadObserver & { seen: ReadObservation[]; next(): Promise<ReadObservation> } {
  const seen: ReadObservation[] = [];
  let wake: (() => void) | undefined;
  return {
    seen,
    observe(o) {
      seen.push(o);
      wake?.();
    },
    async next() {
      while (seen.length === 0) await new Promise<void>((r) => (wake = r));
      return seen.shift() as ReadObservation;
    },
  };
}

describe('request context and shadow-read observations', () => {
  it('middleware gives each request a handle with its context; reads carry it to the observer', async () => {
    const observer = collector();
    db = await openHandle(dbs, 'shadow', { readObserver: observer });
    const req: MiddlewareRequest = {
      method: 'GET',
      url: '/widgets/1',
      headers: { 'x-request-id': 'req-42' },
    };
    await new Promise<void>((resolve, reject) =>
      dualwriteMiddleware(db as DualWriteDb)(req, {}, (err) => (err ? reject(err as Error) : resolve())),
    );
    const reqDb = req.db as DualWriteDb;
    expect(reqDb.dualwrite.context).toEqual({ requestId: 'req-42', method: 'GET', url: '/widgets/1' });
    const row = await reqDb('widgets').where({ id: 1 }).first();
    expect(row).toEqual({ id: 1, name: 'one', active: 1, qty: 1 });
    const o = await observer.next();
    expect(o).toMatchObject({ table: 'widgets', servedBy: 'mysql', context: { requestId: 'req-42' } });
    expect(o.rows).toEqual([{ id: 1, name: 'one', active: 1, qty: 1 }]);
    expect(o.sql).toMatch(/select \* from `widgets`/);
    expect((await o.run('postgres')).rows).toEqual([{ id: 1, name: 'one', active: true, qty: 1 }]);
  });

  it('observes nothing in stages without shadow reads, and PostgreSQL-served reads in pg-primary', async () => {
    const observer = collector();
    db = await openHandle(dbs, 'dual-write', { readObserver: observer });
    await db('widgets').select('*');
    await new Promise((r) => setImmediate(r));
    expect(observer.seen).toEqual([]);
    await db.destroy();
    db = await openHandle(dbs, 'pg-primary', { readObserver: observer });
    await db('widgets').where('qty', '>=', 1).select('id', 'active');
    const o = await observer.next();
    expect(o.servedBy).toBe('postgres');
    expect((await o.run('mysql')).rows).toEqual([{ id: 1, active: true }]);
  });
});
