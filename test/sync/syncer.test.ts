import { beforeAll, describe, expect, it } from 'vitest';
import { META_TABLES } from '../../lib/meta/tables.js';
import { DualWriteEvents } from '../../lib/observe/events.js';
import { createMetrics } from '../../lib/observe/metrics.js';
import { lockBucket } from '../../lib/sync/buckets.js';
import { copyUpsert } from '../../lib/sync/copy.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { useFreshDatabases } from '../support/databases.js';
import { createSyncTables, rowsOf, translatorsFor } from './support/fixtures.js';

const dbs = useFreshDatabases('dwsync');
let syncer: KeySyncer;
let syncerTranslators: Awaited<ReturnType<typeof createSyncTables>>;
const events = new DualWriteEvents();
const metrics = createMetrics();

beforeAll(async () => {
  const translators = await createSyncTables(dbs);
  syncerTranslators = translators;
  syncer = new KeySyncer({
    mysql: dbs.mysql,
    pg: dbs.pg,
    translators,
    events,
    metrics,
    copyThreshold: 100,
  });
});

/**
 * A PostgreSQL trigger on `items`: the first time row `id` is inserted it also inserts row `twin`
 * (around the syncer). Sequences are not rolled back, so it fires once even when the insert is undone;
 * `fired()` tells how often row `id` was inserted.
 */
async function twinOnce(
  id: number,
  twin: number,
): Promise<{ fired: () => Promise<number>; drop: () => Promise<void> }> {
  await dbs.pg.raw(`CREATE SEQUENCE items_twin_once`);
  await dbs.pg.raw(`CREATE FUNCTION items_twin() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id = ${id} AND nextval('items_twin_once') = 1 THEN
        INSERT INTO items (id, name) OVERRIDING SYSTEM VALUE VALUES (${twin}, 'twin');
      END IF;
      RETURN NEW;
    END $$`);
  await dbs.pg.raw(
    `CREATE TRIGGER items_twin BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION items_twin()`,
  );
  return {
    fired: async () =>
      Number((await dbs.pg.raw(`SELECT last_value FROM items_twin_once`)).rows[0].last_value),
    drop: async () => {
      await dbs.pg.raw(`DROP TRIGGER items_twin ON items`);
      await dbs.pg.raw(`DROP FUNCTION items_twin()`);
      await dbs.pg.raw(`DROP SEQUENCE items_twin_once`);
    },
  };
}

describe('KeySyncer.sync', () => {
  it('upserts present keys, deletes absent ones, and is idempotent (MySQL → PG)', async () => {
    await dbs.mysql('items').insert([
      { id: 1, name: 'one', qty: 1, active: true, note: null },
      { id: 2, name: 'two\ttab\nline', qty: 2, active: false, note: 'x' },
    ]);
    await dbs.pg.raw(`INSERT INTO items (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'stale'), (3, 'gone')`);
    const first = await syncer.sync('items', [[1], [2], [3], [2], [99]], 'mysql');
    expect(first).toMatchObject({ table: 'items', upserted: 2, deleted: 1, quarantined: [] });
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
    const again = await syncer.sync('items', [[1], [2], [3]], 'mysql');
    expect(again).toMatchObject({ upserted: 2, deleted: 0 });
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
    expect(await rowsOf(dbs.pg, 'items')).toHaveLength(2);
  });

  it('syncs PG → MySQL and composite keys', async () => {
    await dbs.pg('pairs').insert([
      { a: 1, b: 'x', v: 10 },
      { a: 1, b: 'y', v: 11 },
    ]);
    await dbs.mysql('pairs').insert({ a: 2, b: 'z', v: 0 });
    const r = await syncer.sync(
      'pairs',
      [
        [1, 'x'],
        [1, 'y'],
        [2, 'z'],
      ],
      'postgres',
    );
    expect(r).toMatchObject({ upserted: 2, deleted: 1 });
    expect(await rowsOf(dbs.mysql, 'pairs', ['a', 'b'])).toEqual(await rowsOf(dbs.pg, 'pairs', ['a', 'b']));
    await dbs.pg('pairs').where({ a: 1, b: 'x' }).update({ v: 12 });
    await syncer.sync('pairs', [['1', 'x']], 'postgres');
    expect(await dbs.mysql('pairs').where({ a: 1, b: 'x' }).first()).toEqual({ a: 1, b: 'x', v: 12 });
  });

  it('does not capture its own writes: the session flag is set in the target transaction and reset after', async () => {
    await dbs.pg('flag_probe').insert({ id: 1, seen: null });
    await syncer.sync('flag_probe', [[1]], 'postgres');
    expect(await dbs.mysql('flag_probe').first()).toEqual({ id: 1, seen: 1 });
    // The pooled connections come back without the flag.
    const flags = await Promise.all(
      Array.from({ length: 12 }, () => dbs.mysql.raw('SELECT @dualwrite_sync AS f')),
    );
    expect(flags.map((f) => (f[0] as { f: unknown }[])[0]?.f)).toEqual(Array(12).fill(null));
  });

  it('uses COPY for large batches, keeping GENERATED ALWAYS identity values', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({
      id: 1000 + i,
      name: `bulk \\ ${i}\r\n`,
      qty: i,
      active: i % 2 === 0,
      note: i % 3 === 0 ? null : `n${i}`,
    }));
    await dbs.mysql('items').insert(rows);
    await dbs.pg.raw(`INSERT INTO items (id, name) OVERRIDING SYSTEM VALUE VALUES (1001, 'stale')`);
    const r = await syncer.sync(
      'items',
      rows.map((x) => [x.id]),
      'mysql',
    );
    expect(r.upserted).toBe(500);
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
  });

  it('COPY path with composite keys: absent rows copied straight in, present ones upserted (PG target)', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ a: 500 + (i % 3), b: `k${i}`, v: i }));
    await dbs.mysql('pairs').insert(rows);
    await dbs.pg('pairs').insert([
      { a: 500, b: 'k0', v: -1 },
      { a: 502, b: 'k299', v: -1 },
    ]);
    const r = await syncer.sync(
      'pairs',
      rows.map((x) => [x.a, x.b]),
      'mysql',
    );
    expect(r).toMatchObject({ upserted: 300, deleted: 0 });
    const pick = (db: typeof dbs.pg): Promise<Record<string, unknown>[]> =>
      db('pairs').where('a', '>=', 500).orderBy(['a', 'b']) as Promise<Record<string, unknown>[]>;
    expect(await pick(dbs.pg)).toEqual(await pick(dbs.mysql));
  });

  it('a key that appears on the target during the direct COPY makes the sync repeat with upserts', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({
      id: 5000 + i,
      name: `r${i}`,
      qty: i,
      active: true,
    }));
    await dbs.mysql('items').insert(rows);
    // The first time row 5000 is inserted, a trigger writes row 5001 too (around the syncer), so the
    // COPY of the real row 5001 hits a unique violation.
    const twin = await twinOnce(5000, 5001);
    try {
      const r = await syncer.sync(
        'items',
        rows.map((x) => [x.id]),
        'mysql',
      );
      expect(r.upserted).toBe(200);
      expect(await twin.fired()).toBe(2);
      expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
    } finally {
      await twin.drop();
    }
  });

  it('spreads a large sync over two COPY streams (a helper transaction), and repeats it when the helper hits a key', async () => {
    const twoStreams = new KeySyncer({
      mysql: dbs.mysql,
      pg: dbs.pg,
      translators: syncerTranslators,
      copyThreshold: 100,
      copyStreams: 2,
    });
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      id: 20_000 + i,
      name: `s${i}`,
      qty: i,
      active: i % 2 === 0,
    }));
    await dbs.mysql('items').insert(rows);
    // Keys are read 1000 at a time: the second chunk (20_000 + 1000..1999) goes to the helper's COPY.
    // The first time row 21_500 is inserted, a trigger writes row 21_501 too, so that COPY fails once.
    const twin = await twinOnce(21_500, 21_501);
    try {
      const r = await twoStreams.sync(
        'items',
        rows.map((x) => [x.id]),
        'mysql',
      );
      expect(r.upserted).toBe(2500);
      expect(await twin.fired()).toBe(2);
      expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
      // Without a conflict both streams commit: a second table-wide sync leaves the sides equal too.
      await dbs.mysql('items').where('id', '>=', 20_000).update({ qty: 7 });
      await dbs.pg('items').where('id', '>=', 20_000).del();
      await twoStreams.sync(
        'items',
        rows.map((x) => [x.id]),
        'mysql',
      );
      expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
      // No helper transaction is left open.
      const open = await dbs.pg.raw(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      );
      expect(open.rows[0].n).toBe(0);
    } finally {
      await twin.drop();
    }
  });

  it('COPY twice in one transaction merges each batch once (the staging table is reused per session)', async () => {
    await dbs.pg.transaction(async (trx) => {
      await copyUpsert(trx, 'pairs', ['a', 'b'], ['a', 'b', 'v'], [{ a: 90, b: 'c1', v: 1 }]);
      await trx('pairs').where({ a: 90, b: 'c1' }).update({ v: 10 });
      await copyUpsert(trx, 'pairs', ['a', 'b'], ['a', 'b', 'v'], [{ a: 90, b: 'c2', v: 2 }]);
    });
    expect(await dbs.pg('pairs').where({ a: 90 }).orderBy('b')).toEqual([
      { a: 90, b: 'c1', v: 10 },
      { a: 90, b: 'c2', v: 2 },
    ]);
    await dbs.pg.transaction(async (trx) => {
      await copyUpsert(trx, 'pairs', ['a', 'b'], ['a', 'b', 'v'], [{ a: 90, b: 'c1', v: 3 }]);
    });
    expect(await dbs.pg('pairs').where({ a: 90 }).orderBy('b')).toEqual([
      { a: 90, b: 'c1', v: 3 },
      { a: 90, b: 'c2', v: 2 },
    ]);
  });

  it('quarantines keys the target cannot hold while the other keys sync, and resolves them once fixed', async () => {
    const quarantined: string[] = [];
    events.on('keyQuarantined', (e) => quarantined.push(`${e.table}:${JSON.stringify(e.key)}:${e.code}`));
    await dbs.mysql('tokens').insert([
      { id: 1, ref: '6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f60', body: 'fine' },
      { id: 2, ref: 'not-a-uuid', body: 'bad ref' },
      { id: 3, ref: '6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f61', body: 'nul \u0000 here' },
      { id: 4, ref: '6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f62', body: 'fine too' },
    ]);
    const r = await syncer.sync('tokens', [[1], [2], [3], [4]], 'mysql');
    expect(r.upserted).toBe(2);
    expect(r.quarantined.map((q) => [q.key, q.code, q.column])).toEqual([
      [[2], 'invalid_uuid', 'ref'],
      [[3], 'nul_byte', 'body'],
    ]);
    expect(quarantined).toEqual(['tokens:[2]:invalid_uuid', 'tokens:[3]:nul_byte']);
    expect((await dbs.pg('tokens').select('id').orderBy('id')).map((x) => x.id)).toEqual([1, 4]);
    const open = await syncer.quarantine.listOpen('tokens');
    expect(open.map((q) => [q.key, q.code, q.column, q.direction])).toEqual([
      [[2], 'invalid_uuid', 'ref', 'mysql->postgres'],
      [[3], 'nul_byte', 'body', 'mysql->postgres'],
    ]);
    expect(open[0]?.reason).toContain('not-a-uuid');
    // Syncing again keeps one open entry per key.
    await syncer.sync('tokens', [[2], [3]], 'mysql');
    expect(await syncer.quarantine.listOpen('tokens')).toHaveLength(2);
    const metricText = await metrics.registry.getSingleMetricAsString('dualwrite_quarantined_keys_total');
    expect(metricText).toContain('table="tokens",code="nul_byte"} 2');
    // Fixing the source row lets the key through and resolves its entry.
    await dbs.mysql('tokens').where({ id: 3 }).update({ body: 'clean' });
    await syncer.sync('tokens', [[3]], 'mysql');
    expect((await syncer.quarantine.listOpen('tokens')).map((q) => q.key)).toEqual([[2]]);
    expect(await dbs.pg('tokens').where({ id: 3 }).first()).toMatchObject({ body: 'clean' });
    const all = await dbs.pg(META_TABLES.quarantine).whereNotNull('resolved_at');
    expect(all).toHaveLength(1);
  });

  it("reads the source only after it holds the key's bucket lock on the target", async () => {
    await dbs.mysql('items').insert({ id: 600, name: 'v1', qty: 1 });
    const bucket = lockBucket('items', [600]);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const holder = dbs.pg.transaction(async (trx) => {
      await trx.raw(`SELECT bucket FROM ${META_TABLES.lock} WHERE bucket = ? FOR UPDATE`, [bucket]);
      locked();
      await released;
    });
    await holding;
    const pending = syncer.sync('items', [[600]], 'mysql');
    await new Promise((r) => setTimeout(r, 150));
    // Written while the sync waits for the lock: a sync that read before locking would write v1.
    await dbs.mysql('items').where({ id: 600 }).update({ name: 'v2', qty: 2 });
    release();
    await holder;
    await pending;
    expect(await dbs.pg('items').where({ id: 600 }).first()).toMatchObject({ name: 'v2', qty: 2 });
  });

  it('never leaves an older image last when syncs of one key race with writes', async () => {
    await dbs.mysql('items').insert({ id: 500, name: 'race', qty: 0 });
    const seen: number[] = [];
    let writing = true;
    const monitor = (async () => {
      while (writing) {
        const row = (await dbs.pg('items').where({ id: 500 }).first()) as { qty: number } | undefined;
        if (row) seen.push(row.qty);
      }
    })();
    const inflight = new Set<Promise<unknown>>();
    for (let i = 1; i <= 150; i++) {
      await dbs.mysql('items').where({ id: 500 }).update({ qty: i });
      const p = syncer.sync('items', [[500]], 'mysql').finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 6) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    writing = false;
    await monitor;
    expect(seen.length).toBeGreaterThan(5);
    // Writes only increase qty, so the target's value must never go back.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
    expect(await dbs.pg('items').where({ id: 500 }).first()).toMatchObject({ qty: 150 });
  });
});

describe('unique keys besides the primary key', () => {
  it('MySQL target: a conflict on a secondary unique key never overwrites another row; the key syncs once it is free', async () => {
    await dbs.mysql.raw(
      `CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, name VARCHAR(50))`,
    );
    await dbs.pg.raw(
      `CREATE TABLE people (id integer PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(50))`,
    );
    const s = new KeySyncer({
      mysql: dbs.mysql,
      pg: dbs.pg,
      translators: await translatorsFor(dbs.mysql, dbs.pg),
    });
    await dbs.pg('people').insert({ id: 1, email: 'x@example.com', name: 'A' });
    await s.sync('people', [[1]], 'postgres');
    // On PG, A moves to another address and B takes A's old one; B's key syncs first.
    await dbs.pg('people').where({ id: 1 }).update({ email: 'y@example.com' });
    await dbs.pg('people').insert({ id: 2, email: 'x@example.com', name: 'B' });
    await expect(s.sync('people', [[2]], 'postgres')).rejects.toMatchObject({ code: 'DW_SYNC_FAILED' });
    expect(await rowsOf(dbs.mysql, 'people')).toEqual([{ id: 1, email: 'x@example.com', name: 'A' }]);
    await s.sync('people', [[1]], 'postgres');
    await s.sync('people', [[2]], 'postgres');
    expect(await rowsOf(dbs.mysql, 'people')).toEqual(await rowsOf(dbs.pg, 'people'));
  });
});
