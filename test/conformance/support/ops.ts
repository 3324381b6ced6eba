import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { UUIDS } from './fixture.js';

/** What an operation gets: the database under test (plain knex or the handle) and a second one like it. */
export interface OpContext {
  db: Knex;
  /** Another instance of the same kind (a second handle, or a second plain knex) on the same databases. */
  other: Knex;
  /** A directory with migration and seed files. */
  dir: string;
}

export interface Operation {
  name: string;
  run(c: OpContext): unknown;
}

/** Reads a stream to its end (rows, or the error it emitted). */
function collect(stream: NodeJS.ReadableStream): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const rows: unknown[] = [];
    stream.on('data', (r: unknown) => rows.push(r));
    stream.on('error', reject);
    stream.on('end', () => resolve(rows));
  });
}

function sink(): { writable: Writable; rows: unknown[]; done: Promise<void> } {
  const rows: unknown[] = [];
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const writable = new Writable({
    objectMode: true,
    write(chunk: unknown, _enc, cb) {
      rows.push(chunk);
      cb();
    },
  });
  writable.on('finish', () => finish());
  writable.on('error', (e) => fail(e));
  return { writable, rows, done };
}

/** Events the database emitted while `fn` ran: name, method, SQL, bindings and response or error. */
async function events(db: Knex, fn: () => unknown): Promise<unknown[]> {
  const seen: unknown[] = [];
  const q = (o: { method?: string; sql: string; bindings?: unknown }): void => {
    seen.push(['query', o.method ?? null, o.sql, o.bindings]);
  };
  const r = (resp: unknown, o: { method?: string; sql: string }): void => {
    seen.push(['query-response', o.method ?? null, o.sql, resp]);
  };
  const e = (err: Error, o: { method?: string; sql: string }): void => {
    seen.push(['query-error', o.method ?? null, o.sql, err]);
  };
  db.on('query', q);
  db.on('query-response', r);
  db.on('query-error', e);
  try {
    seen.push(['result', await fn()]);
  } catch (error) {
    seen.push(['thrown', error]);
  } finally {
    db.off('query', q);
    db.off('query-response', r);
    db.off('query-error', e);
  }
  return seen;
}

/** The JS type of a value whose content changes from run to run (the clock). */
function typeOf(v: unknown): string {
  if (v instanceof Date) return 'Date';
  if (Buffer.isBuffer(v)) return 'Buffer';
  return v === null ? 'null' : typeof v;
}

function rowTypes(rows: unknown): unknown {
  return (rows as Record<string, unknown>[]).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeOf(v)])),
  );
}

const person = (db: Knex, id: number): Promise<unknown> => db('people').where({ id }).first();

/** Files a migration and a seed run against the db under test (CommonJS, loaded by knex itself). */
export function writeMigrationFiles(dir: string): void {
  mkdirSync(join(dir, 'migrations'), { recursive: true });
  mkdirSync(join(dir, 'seeds'), { recursive: true });
  writeFileSync(
    join(dir, 'migrations', '001_scratch.cjs'),
    `exports.up = (knex) => knex.schema.createTable('conf_migrated', (t) => { t.increments('id'); t.string('label', 20); });
exports.down = (knex) => knex.schema.dropTable('conf_migrated');
`,
  );
  writeFileSync(
    join(dir, 'seeds', '01_counters.cjs'),
    `exports.seed = async (knex) => { await knex('counters').insert({ k: 'seeded', n: 7 }); };
`,
  );
}

/**
 * The operations, in the order they run. Every run (the reference and each stage) starts from the same
 * rows and runs them all in this order, so writes and the reads after them see the same state.
 */
export const OPERATIONS: Operation[] = [
  // ---- selects and clauses
  { name: 'select * order by id', run: ({ db }) => db('people').orderBy('id') },
  { name: 'select columns', run: ({ db }) => db('people').select('id', 'name', 'email').orderBy('id') },
  { name: 'select column alias', run: ({ db }) => db('people').select('name as n', 'id').orderBy('id') },
  {
    name: 'select object alias',
    run: ({ db }) => db('people').select({ who: 'name', pid: 'id' }).orderBy('id'),
  },
  { name: 'columns()', run: ({ db }) => db('people').columns('id', 'kind').orderBy('id') },
  { name: 'where object', run: ({ db }) => db('people').where({ kind: 'pro', active: 1 }).orderBy('id') },
  { name: 'where 3-arg', run: ({ db }) => db('people').where('score', '>=', 20).orderBy('id') },
  {
    name: 'where equality is case-insensitive',
    run: ({ db }) => db('people').where({ email: 'ALICE@EXAMPLE.COM' }).select('id', 'email'),
  },
  {
    name: 'where like is case-insensitive',
    run: ({ db }) => db('people').where('name', 'like', '%BOB%').select('id', 'name'),
  },
  { name: 'whereLike', run: ({ db }) => db('people').whereLike('name', '%o%').select('id') },
  { name: 'whereILike', run: ({ db }) => db('people').whereILike('name', 'ERIN').select('id') },
  { name: 'whereIn', run: ({ db }) => db('people').whereIn('id', [1, 3, 99]).select('id').orderBy('id') },
  { name: 'whereNotIn', run: ({ db }) => db('people').whereNotIn('id', [1, 3]).select('id').orderBy('id') },
  { name: 'whereNull', run: ({ db }) => db('people').whereNull('score').select('id') },
  { name: 'whereNotNull', run: ({ db }) => db('people').whereNotNull('born').pluck('id') },
  { name: 'whereBetween', run: ({ db }) => db('people').whereBetween('score', [15, 25]).pluck('id') },
  { name: 'whereNotBetween', run: ({ db }) => db('people').whereNotBetween('score', [15, 25]).pluck('id') },
  { name: 'orWhere', run: ({ db }) => db('people').where('id', 1).orWhere('kind', 'pro').pluck('id') },
  { name: 'whereNot', run: ({ db }) => db('people').whereNot({ kind: 'basic' }).pluck('id') },
  {
    name: 'nested where',
    run: ({ db }) =>
      db('people')
        .where((w) => {
          void w.where('score', '>', 15).orWhereNull('score');
        })
        .andWhere('active', 1)
        .pluck('id'),
  },
  {
    name: 'whereExists',
    run: ({ db }) =>
      db('people').whereExists(db('orders').whereRaw('orders.person_id = people.id')).pluck('id'),
  },
  {
    name: 'whereNotExists',
    run: ({ db }) =>
      db('people').whereNotExists(db('orders').whereRaw('orders.person_id = people.id')).pluck('id'),
  },
  { name: 'whereRaw', run: ({ db }) => db('people').whereRaw('score > ?', [15]).pluck('id') },
  {
    name: 'whereIn sub-query',
    run: ({ db }) => db('people').whereIn('id', db('orders').select('person_id')).pluck('id'),
  },
  { name: 'orderBy desc', run: ({ db }) => db('people').orderBy('id', 'desc').pluck('id') },
  {
    name: 'orderBy nullable asc',
    run: ({ db }) => db('people').orderBy('score').orderBy('id').select('id', 'score'),
  },
  {
    name: 'orderBy nullable desc',
    run: ({ db }) => db('people').orderBy('score', 'desc').orderBy('id').select('id', 'score'),
  },
  {
    name: 'orderBy array',
    run: ({ db }) =>
      db('people')
        .orderBy([{ column: 'kind' }, { column: 'id', order: 'desc' }])
        .select('id', 'kind'),
  },
  { name: 'orderBy text is case-insensitive', run: ({ db }) => db('people').orderBy('name').pluck('name') },
  { name: 'orderByRaw', run: ({ db }) => db('people').orderByRaw('id DESC').limit(2).pluck('id') },
  { name: 'limit offset', run: ({ db }) => db('people').orderBy('id').limit(2).offset(1).pluck('id') },
  { name: 'first', run: ({ db }) => db('people').orderBy('id').first() },
  { name: 'first columns', run: ({ db }) => db('people').where({ id: 2 }).first('name', 'seen_at') },
  { name: 'first none', run: ({ db }) => db('people').where({ id: 999 }).first() },
  { name: 'pluck', run: ({ db }) => db('people').orderBy('id').pluck('email') },
  { name: 'distinct', run: ({ db }) => db('people').distinct('kind').orderBy('kind') },
  {
    name: 'groupBy count',
    run: ({ db }) => db('people').select('kind').count('* as n').groupBy('kind').orderBy('kind'),
  },
  { name: "count('* as n')", run: ({ db }) => db('people').count('* as n') },
  { name: "count('*')", run: ({ db }) => db('people').count('*') },
  { name: 'count object', run: ({ db }) => db('people').count({ n: 'id' }).first() },
  { name: 'countDistinct', run: ({ db }) => db('people').countDistinct('kind as k') },
  { name: 'sum int', run: ({ db }) => db('people').sum('score as total') },
  { name: 'sum decimal', run: ({ db }) => db('people').sum('balance as total') },
  { name: 'avg int', run: ({ db }) => db('people').avg('score as a') },
  { name: 'avg decimal', run: ({ db }) => db('orders').avg('amount as a') },
  { name: 'min max', run: ({ db }) => db('people').min('score as lo').max('score as hi') },
  { name: 'max datetime', run: ({ db }) => db('orders').max('placed_at as last') },
  { name: 'min date unaliased', run: ({ db }) => db('people').min('born') },
  { name: 'sum double', run: ({ db }) => db('people').sum('ratio as r') },
  {
    name: 'having on alias',
    run: ({ db }) =>
      db('orders')
        .select('person_id')
        .count('* as n')
        .groupBy('person_id')
        .having('n', '>', 1)
        .orderBy('person_id'),
  },
  {
    name: 'havingRaw',
    run: ({ db }) =>
      db('orders')
        .select('person_id')
        .sum('qty as q')
        .groupBy('person_id')
        .havingRaw('sum(qty) > ?', [2])
        .orderBy('person_id'),
  },
  {
    name: 'join',
    run: ({ db }) =>
      db('orders')
        .join('people', 'people.id', 'orders.person_id')
        .select('orders.id', 'people.name', 'orders.amount', 'orders.placed_at')
        .orderBy('orders.id'),
  },
  {
    name: 'left join with nulls',
    run: ({ db }) =>
      db('people')
        .leftJoin('orders', 'orders.person_id', 'people.id')
        .select('people.id', 'orders.id as order_id', 'orders.note')
        .orderBy(['people.id', 'orders.id']),
  },
  {
    name: 'join aliases',
    run: ({ db }) =>
      db('people as p')
        .join('orders as o', 'o.person_id', 'p.id')
        .select('p.email', 'o.qty', 'p.seen_at')
        .where('o.qty', '>', 1)
        .orderBy('o.id'),
  },
  {
    name: 'join select * duplicate names',
    run: ({ db }) =>
      db('orders').join('people', 'people.id', 'orders.person_id').where('orders.id', 3).select('*'),
  },
  {
    name: 'crossJoin count',
    run: ({ db }) =>
      db('labels')
        .crossJoin('counters' as never)
        .count('* as n'),
  },
  {
    name: 'join with nestTables',
    run: ({ db }) =>
      db('orders')
        .join('people', 'people.id', 'orders.person_id')
        .select('orders.id', 'people.active')
        .where('orders.id', 1)
        .options({ nestTables: true }),
  },
  {
    name: 'union',
    run: ({ db }) =>
      db('people')
        .select('name')
        .where('id', '<', 3)
        .union((u) => {
          void u.select('title as name').from('labels');
        })
        .orderBy('name'),
  },
  {
    name: 'unionAll',
    run: ({ db }) =>
      db('people')
        .select('id')
        .where('id', 1)
        .unionAll([db('orders').select('id').where('id', '<', 3)]),
  },
  {
    name: 'with (CTE)',
    run: ({ db }) =>
      db
        .with('big', db('orders').where('amount', '>', 10))
        .select('big.id', 'big.amount', 'big.placed_at')
        .from('big')
        .orderBy('big.id'),
  },
  {
    name: 'withRecursive',
    run: ({ db }) =>
      db
        .withRecursive('n', ['v'], db.raw('select 1 union all select v + 1 from n where v < 4'))
        .select('v')
        .from('n'),
  },
  {
    name: 'CTE over people columns',
    run: ({ db }) =>
      db
        .with('p', db('people').select('id', 'born', 'meta', 'active').where('id', '<', 4))
        .from('p')
        .orderBy('id'),
  },
  {
    name: 'sub-query column',
    run: ({ db }) =>
      db('people')
        .select('id', db('orders').count('*').whereRaw('orders.person_id = people.id').as('orders'))
        .orderBy('id'),
  },
  {
    name: 'sub-query in from',
    run: ({ db }) =>
      db
        .select('t.kind', 't.score')
        .from(db('people').select('kind', 'score').where('active', 1).as('t'))
        .orderBy('t.score'),
  },
  { name: 'db.ref', run: ({ db }) => db('people').select(db.ref('name').as('label')).orderBy('id') },
  {
    name: 'raw column expression',
    run: ({ db }) =>
      db('people')
        .select('id', db.raw('?? * 2 as doubled', ['score']))
        .orderBy('id'),
  },
  {
    name: 'db.fn.now() in a select',
    run: async ({ db }) => rowTypes(await db.select(db.fn.now()).from('counters').limit(1)),
  },
  {
    name: 'literal expression',
    run: ({ db }) => db.select(db.raw('1 + 1 as two')).from('counters').limit(1),
  },
  { name: 'select every type', run: ({ db }) => db('people').where({ id: 1 }).first() },
  { name: 'json column', run: ({ db }) => db('people').select('id', 'meta').orderBy('id') },
  {
    name: 'jsonExtract',
    run: ({ db }) =>
      db('people')
        .jsonExtract('meta', '$.plan', 'plan' as never)
        .where('id', 1),
  },
  { name: 'binary column', run: ({ db }) => db('people').select('avatar').orderBy('id') },
  { name: 'time column', run: ({ db }) => db('people').select('wake').orderBy('id') },
  { name: 'bigint beyond 2^53', run: ({ db }) => db('people').select('big').orderBy('id') },
  { name: 'decimal and double', run: ({ db }) => db('people').select('balance', 'ratio').orderBy('id') },
  { name: 'float column', run: ({ db }) => db('labels').select('code', 'weight').orderBy('title') },
  {
    name: 'date, datetime, timestamp',
    run: ({ db }) => db('people').select('born', 'seen_at', 'stamped').orderBy('id'),
  },
  { name: 'uuid key lookup', run: ({ db }) => db('labels').where({ code: UUIDS[1] }).first() },
  {
    name: 'clearSelect clearWhere',
    run: ({ db }) => db('people').select('name').where('id', 1).clearSelect().clearWhere().pluck('id'),
  },
  {
    name: 'clone',
    run: async ({ db }) => {
      const base = db('people').where('active', 1);
      const copy = base.clone().where('kind', 'pro');
      return [await base.pluck('id'), await copy.pluck('id')];
    },
  },
  {
    name: 'modify',
    run: ({ db }) =>
      db('people')
        .modify((qb, kind: string) => {
          void qb.where({ kind });
        }, 'pro')
        .pluck('id'),
  },
  {
    name: 'queryBuilder()',
    run: ({ db }) => db.queryBuilder().from('labels').orderBy('title').pluck('title'),
  },
  { name: 'db.select().from()', run: ({ db }) => db.select('k', 'n').from('counters').orderBy('k') },
  { name: 'db.from().count()', run: ({ db }) => db.from('orders').count('id as c') },
  { name: 'db.table()', run: ({ db }) => db.table('counters').where({ k: 'misses' }).first() },
  { name: 'timeout', run: ({ db }) => db('people').select('id').timeout(5000).orderBy('id') },
  {
    name: 'forUpdate in a transaction',
    run: ({ db }) => db.transaction((trx) => trx('counters').where({ k: 'hits' }).forUpdate().first()),
  },
  {
    name: 'columnInfo',
    run: ({ db }) => db('people').columnInfo('email'),
  },

  // ---- compiled SQL (no execution)
  {
    name: 'toSQL().toNative()',
    run: ({ db }) => db('people').where({ id: 1, kind: 'pro' }).select('name').toSQL().toNative(),
  },
  { name: 'toString()', run: ({ db }) => db('people').where('email', 'like', '%x%').limit(3).toString() },
  { name: 'toQuery()', run: ({ db }) => db('orders').insert({ person_id: 1, amount: 1 }).toQuery() },

  // ---- execution forms of reads
  {
    name: '.then(fn)',
    run: ({ db }) =>
      db('people')
        .pluck('id')
        .then((ids) => (ids as number[]).length),
  },
  {
    name: '.catch on a failing read',
    run: ({ db }) =>
      db('nowhere')
        .select('*')
        .catch((e: Error & { code?: string }) => ['caught', e.code]),
  },
  {
    name: '.finally',
    run: async ({ db }) => {
      let ran = false;
      const v = await db('counters')
        .pluck('k')
        .finally(() => {
          ran = true;
        });
      return [v, ran];
    },
  },
  {
    name: '.asCallback read',
    run: ({ db }) =>
      new Promise((resolve) => {
        void db('counters')
          .orderBy('k')
          .asCallback((err: Error | null, rows: unknown) =>
            resolve(err ? ['error', (err as { code?: string }).code] : rows),
          );
      }),
  },
  {
    name: '.stream()',
    run: ({ db }) => collect(db('people').select('id', 'seen_at', 'meta').orderBy('id').stream()),
  },
  {
    name: '.stream(handler)',
    run: async ({ db }) => {
      let got: unknown[] = [];
      await db('orders')
        .select('id', 'amount')
        .orderBy('id')
        .stream(async (s) => {
          got = await collect(s);
        });
      return got;
    },
  },
  {
    name: '.pipe()',
    run: async ({ db }) => {
      const out = sink();
      db('labels').select('title', 'weight').orderBy('title').pipe(out.writable);
      await out.done;
      return out.rows;
    },
  },
  { name: 'raw stream', run: ({ db }) => collect(db.raw('select id, big from people order by id').stream()) },

  // ---- raw reads
  { name: 'raw select', run: ({ db }) => db.raw('select id, name, active from people where id = ?', [1]) },
  {
    name: 'raw select named bindings',
    run: ({ db }) => db.raw('select id from people where kind = :kind order by id', { kind: 'pro' }),
  },
  {
    name: 'raw ?? identifiers',
    run: ({ db }) => db.raw('select ?? from ?? where ?? = ?', ['email', 'people', 'id', 3]),
  },
  { name: 'raw select every type', run: ({ db }) => db.raw('select * from people where id = 1') },
  { name: 'raw count', run: ({ db }) => db.raw('select count(*) as n from orders') },
  {
    name: 'raw join',
    run: ({ db }) =>
      db.raw(
        'select o.id, p.seen_at, p.meta from orders o join people p on p.id = o.person_id order by o.id',
      ),
  },
  {
    name: 'raw in a where',
    run: ({ db }) =>
      db('people')
        .where('id', db.raw('?', [2]))
        .pluck('name'),
  },
  {
    name: 'raw backtick identifiers',
    run: ({ db }) => db.raw('select `id`, `email` from `people` where `id` < 3 order by `id`'),
  },
  { name: 'raw division by zero', run: ({ db }) => db.raw('select 1 / 0 as q') },

  // ---- events
  {
    name: "on('query') for a read",
    run: ({ db }) => events(db, () => db('people').where({ id: 1 }).select('name')),
  },
  { name: "on('query-error')", run: ({ db }) => events(db, () => db('people').select('nope')) },
  {
    name: 'builder.on(query)',
    run: async ({ db }) => {
      const seen: unknown[] = [];
      await db('counters')
        .select('k')
        .on('query', (q: { sql: string }) => seen.push(q.sql));
      return seen;
    },
  },

  // ---- user params, schema, misc surface
  { name: 'userParams', run: ({ db }) => db.userParams },
  {
    name: 'withUserParams',
    run: async ({ db }) => {
      const scoped = db.withUserParams({ tenant: 't1' });
      return [scoped.userParams, await scoped('counters').orderBy('k').pluck('k')];
    },
  },
  {
    name: 'schema.hasTable',
    run: async ({ db }) => [await db.schema.hasTable('people'), await db.schema.hasTable('nope')],
  },
  {
    name: 'schema.hasColumn',
    run: async ({ db }) => [
      await db.schema.hasColumn('people', 'email'),
      await db.schema.hasColumn('people', 'nope'),
    ],
  },
  {
    name: 'schema create, use, drop',
    run: async ({ db }) => {
      await db.schema.createTable('conf_scratch', (t) => {
        t.increments('id');
        t.string('label', 20);
      });
      const ids = await db('conf_scratch').insert({ label: 'x' });
      const rows = await db('conf_scratch').select('id', 'label');
      await db.schema.dropTable('conf_scratch');
      return [ids, rows];
    },
  },
  { name: 'isTransaction', run: ({ db }) => [(db as { isTransaction?: unknown }).isTransaction ?? null] },

  // ---- inserts
  {
    name: 'insert one',
    run: async ({ db }) => {
      const r = await db('people').insert({
        email: 'frank@example.com',
        name: 'Frank',
        score: 5,
        balance: '1.00',
      });
      return [r, await person(db, (r as number[])[0] as number)];
    },
  },
  {
    name: 'insert many',
    run: async ({ db }) => {
      const r = await db('orders').insert([
        { person_id: 2, amount: '3.00', placed_at: '2024-04-01 10:00:00' },
        { person_id: 2, amount: '4.00', placed_at: '2024-04-02 10:00:00', note: 'two' },
      ]);
      return [r, await db('orders').where('person_id', 2).orderBy('id')];
    },
  },
  {
    name: 'insert explicit id',
    run: async ({ db }) => [
      await db('orders').insert({ id: 50, person_id: 3, amount: '1.00', placed_at: '2024-05-01 00:00:00' }),
      await db('orders').where({ id: 50 }).first(),
    ],
  },
  {
    name: 'insert returning id',
    run: async ({ db }) => db('people').insert({ email: 'gina@example.com', name: 'gina' }).returning('id'),
  },
  {
    name: 'insert returning *',
    run: async ({ db }) =>
      db('orders').insert({ person_id: 5, amount: '2.50', placed_at: '2024-05-02 00:00:00' }).returning('*'),
  },
  {
    name: 'insert uuid key',
    run: async ({ db }) => [
      await db('labels').insert({ code: '5d2f1e3c-7b6a-4c9d-8e0f-1a2b3c4d5e6f', title: 'Violet', weight: 2 }),
      await db('labels').orderBy('title').pluck('title'),
    ],
  },
  {
    name: 'insert JS values (Date, boolean, Buffer)',
    run: async ({ db }) => {
      const [id] = (await db('people').insert({
        email: 'hank@example.com',
        name: 'hank',
        active: false,
        born: new Date('1970-01-02T00:00:00Z'),
        seen_at: new Date('2024-06-01T12:34:56.789Z'),
        stamped: new Date('2024-06-01T12:34:56Z'),
        avatar: Buffer.from('hi'),
        meta: JSON.stringify({ b: 2, a: [1, 'x'] }),
        big: '9007199254740995',
        wake: '01:02:03',
      })) as number[];
      return person(db, id as number);
    },
  },
  {
    name: 'insert with db.fn.now()',
    run: async ({ db }) => {
      const [id] = (await db('orders').insert({
        person_id: 1,
        amount: '8.00',
        placed_at: db.fn.now(),
      })) as number[];
      const types = rowTypes(await db('orders').where({ id }).select('placed_at'));
      // The clock differs between runs: later reads see a fixed value.
      await db('orders').where({ id }).update({ placed_at: '2024-10-01 00:00:00' });
      return types;
    },
  },
  { name: 'insert null into NOT NULL', run: ({ db }) => db('people').insert({ email: null, name: 'x' }) },
  {
    name: 'insert duplicate key',
    run: ({ db }) => db('people').insert({ email: 'bob@example.com', name: 'again' }),
  },
  {
    name: 'insert duplicate, other case',
    run: ({ db }) => db('people').insert({ email: 'BOB@EXAMPLE.COM', name: 'again' }),
  },
  { name: 'insert duplicate primary key', run: ({ db }) => db('counters').insert({ k: 'hits', n: 1 }) },
  {
    name: 'insert foreign key violation',
    run: ({ db }) => db('orders').insert({ person_id: 999, amount: 1, placed_at: '2024-01-01 00:00:00' }),
  },
  { name: 'insert too long', run: ({ db }) => db('counters').insert({ k: 'x'.repeat(30), n: 1 }) },
  {
    name: 'insert bad enum',
    run: ({ db }) => db('people').insert({ email: 'enum@example.com', name: 'e', kind: 'gold' }),
  },
  {
    name: 'insert zero date',
    run: async ({ db }) => {
      // An explicit id: whether it is accepted or not, no generated id is consumed.
      const r = await db('people').insert({
        id: 900,
        email: 'zero@example.com',
        name: 'z',
        born: '0000-00-00',
      });
      return [
        r,
        await db('people').where({ id: 900 }).first('born'),
        await db('people').where({ id: 900 }).del(),
      ];
    },
  },
  { name: 'insert text into int', run: ({ db }) => db('counters').insert({ k: 'bad', n: 'abc' }) },
  { name: 'insert unknown column', run: ({ db }) => db('counters').insert({ k: 'u', nope: 1 }) },
  { name: 'insert into unknown table', run: ({ db }) => db('nowhere').insert({ a: 1 }) },
  {
    name: 'insert decimal rounding',
    run: async ({ db }) => [
      await db('orders').insert({ person_id: 2, amount: 12.345, placed_at: '2024-07-01 00:00:00' }),
      await db('orders').where('placed_at', '2024-07-01 00:00:00').pluck('amount'),
    ],
  },
  {
    name: 'db.insert().into()',
    run: async ({ db }) => [
      await db.insert({ k: 'into', n: 1 }).into('counters'),
      await db('counters').where({ k: 'into' }).first(),
    ],
  },
  {
    name: 'batchInsert',
    run: async ({ db }) => [
      await db.batchInsert(
        'counters',
        [
          { k: 'b1', n: 1 },
          { k: 'b2', n: 2 },
          { k: 'b3', n: 3 },
        ],
        2,
      ),
      await db('counters').where('k', 'like', 'b%').orderBy('k'),
    ],
  },
  {
    name: 'toSQL().toNative() through raw',
    run: async ({ db }) => {
      const native = db('counters').insert({ k: 'native', n: 4 }).toSQL().toNative();
      const r = await db.raw(native.sql, native.bindings as Knex.RawBinding[]);
      return [r, await db('counters').where({ k: 'native' }).first()];
    },
  },

  // ---- updates, deletes, increments
  {
    name: 'update by key',
    run: async ({ db }) => [
      await db('people').where({ id: 2 }).update({ score: 11, active: 1 }),
      await person(db, 2),
    ],
  },
  {
    name: 'update many',
    run: async ({ db }) => [
      await db('orders').where('qty', '>', 1).update({ note: 'bulk' }),
      await db('orders').where({ note: 'bulk' }).pluck('id'),
    ],
  },
  { name: 'update nothing', run: ({ db }) => db('orders').where({ id: 999 }).update({ note: 'none' }) },
  { name: 'update to same values', run: ({ db }) => db('counters').where({ k: 'misses' }).update({ n: 3 }) },
  {
    name: 'update with raw expression',
    run: async ({ db }) => [
      await db('people')
        .where({ id: 3 })
        .update({ score: db.raw('score + ?', [5]) }),
      await db('people').where({ id: 3 }).pluck('score'),
    ],
  },
  {
    name: 'update returning',
    run: ({ db }) => db('counters').where({ k: 'hits' }).update({ n: 1 }).returning('n'),
  },
  {
    name: 'update key column',
    run: async ({ db }) => [
      await db('counters').where({ k: 'into' }).update({ k: 'moved' }),
      await db('counters').orderBy('k').pluck('k'),
    ],
  },
  { name: 'update unknown column', run: ({ db }) => db('counters').where({ k: 'hits' }).update({ nope: 1 }) },
  {
    name: 'increment',
    run: async ({ db }) => [
      await db('counters').where({ k: 'hits' }).increment('n', 2),
      await db('counters').where({ k: 'hits' }).first(),
    ],
  },
  {
    name: 'decrement',
    run: async ({ db }) => [
      await db('counters').where({ k: 'misses' }).decrement('n'),
      await db('counters').where({ k: 'misses' }).first(),
    ],
  },
  {
    name: 'increment object',
    run: async ({ db }) => [
      await db('people').where({ id: 1 }).increment({ score: 1, balance: 2 }),
      await db('people').where({ id: 1 }).first('score', 'balance'),
    ],
  },
  {
    name: 'increment by uuid key',
    run: async ({ db }) => [
      await db('labels').where({ code: UUIDS[0] }).increment('weight', 1),
      await db('labels').where({ code: UUIDS[0] }).first(),
    ],
  },
  {
    name: 'delete',
    run: async ({ db }) => [
      await db('orders').where({ id: 50 }).del(),
      await db('orders').where({ id: 50 }).first(),
    ],
  },
  { name: 'delete()', run: ({ db }) => db('counters').where({ k: 'b3' }).delete() },
  { name: 'delete nothing', run: ({ db }) => db('orders').where({ id: 999 }).del() },
  { name: 'delete returning', run: ({ db }) => db('counters').where({ k: 'b2' }).del().returning('k') },
  { name: 'delete parent of a foreign key', run: ({ db }) => db('people').where({ id: 1 }).del() },
  {
    name: 'delete by uuid',
    run: async ({ db }) => [
      await db('labels').where({ code: '5d2f1e3c-7b6a-4c9d-8e0f-1a2b3c4d5e6f' }).del(),
      await db('labels').count('* as n'),
    ],
  },

  // ---- upserts
  {
    name: 'onConflict(pk).merge()',
    run: async ({ db }) => [
      await db('counters').insert({ k: 'hits', n: 40 }).onConflict('k').merge(),
      await db('counters').where({ k: 'hits' }).first(),
    ],
  },
  {
    name: 'onConflict(pk).merge() inserting',
    run: async ({ db }) => [
      await db('counters').insert({ k: 'fresh', n: 1 }).onConflict('k').merge(),
      await db('counters').where({ k: 'fresh' }).first(),
    ],
  },
  {
    name: 'onConflict(unique).merge(cols)',
    run: async ({ db }) => [
      await db('people')
        .insert({ email: 'carol@example.com', name: 'Carol II', score: 31 })
        .onConflict('email')
        .merge(['name']),
      await db('people').where({ email: 'carol@example.com' }).first('id', 'name', 'score'),
    ],
  },
  {
    name: 'onConflict(unique).merge() other case',
    run: async ({ db }) => [
      await db('people')
        .insert({ email: 'ERIN@example.com', name: 'Erin', score: 21 })
        .onConflict('email')
        .merge({ score: 21 }),
      await db('people').where('id', 5).first('email', 'score'),
    ],
  },
  {
    name: 'onConflict().ignore()',
    run: async ({ db }) => [
      await db('counters').insert({ k: 'hits', n: 0 }).onConflict().ignore(),
      await db('counters').where({ k: 'hits' }).first(),
    ],
  },
  {
    name: 'onConflict(unique).ignore()',
    run: async ({ db }) => [
      await db('people').insert({ email: 'bob@example.com', name: 'dup' }).onConflict('email').ignore(),
      await db('people').count('* as n'),
    ],
  },
  {
    name: 'upsert many',
    run: async ({ db }) => [
      await db('counters')
        .insert([
          { k: 'hits', n: 100 },
          { k: 'many', n: 2 },
        ])
        .onConflict('k')
        .merge(),
      await db('counters').orderBy('k'),
    ],
  },

  // ---- raw writes
  {
    name: 'raw update',
    run: async ({ db }) => [
      await db.raw('update counters set n = n + 1 where k = ?', ['hits']),
      await db('counters').where({ k: 'hits' }).first(),
    ],
  },
  {
    name: 'raw insert',
    run: async ({ db }) => [
      await db.raw('insert into counters (k, n) values (?, ?)', ['rawins', 9]),
      await db('counters').where({ k: 'rawins' }).first(),
    ],
  },
  {
    name: 'raw insert generated key',
    run: async ({ db }) =>
      db.raw("insert into orders (person_id, amount, placed_at) values (?, ?, '2024-08-01 00:00:00')", [
        3,
        '6.00',
      ]),
  },
  { name: 'raw delete', run: ({ db }) => db.raw('delete from counters where k = ?', ['rawins']) },
  {
    name: 'raw write declaring keys',
    run: async ({ db }) => [
      await (db.raw as (...a: unknown[]) => Knex.Raw)('update people set score = ? where id = ?', [99, 4], {
        table: 'people',
        keys: [[4]],
      }),
      await db('people').where({ id: 4 }).pluck('score'),
    ],
  },
  { name: 'raw syntax error', run: ({ db }) => db.raw('selec 1') },
  { name: 'raw unknown table', run: ({ db }) => db.raw('select * from nowhere') },

  // ---- transactions
  {
    name: 'transaction(cb)',
    run: async ({ db }) => {
      const v = await db.transaction(async (trx) => {
        const [id] = (await trx('people').insert({ email: 'ivy@example.com', name: 'ivy' })) as number[];
        await trx('orders').insert({ person_id: id, amount: '1.10', placed_at: '2024-09-01 00:00:00' });
        return trx('orders').where({ person_id: id }).select('amount', 'placed_at');
      });
      return v;
    },
  },
  {
    name: 'transaction(cb) throwing rolls back',
    run: async ({ db }) => {
      const err = await db
        .transaction(async (trx) => {
          await trx('counters').insert({ k: 'gone', n: 1 });
          throw new Error('nope');
        })
        .then(
          () => 'resolved',
          (e: Error) => e.message,
        );
      return [err, await db('counters').where({ k: 'gone' }).first()];
    },
  },
  {
    name: 'transaction(cb) with a failing statement',
    run: async ({ db }) => {
      const err = await db
        .transaction(async (trx) => {
          await trx('counters').insert({ k: 'half', n: 1 });
          await trx('counters').insert({ k: 'half', n: 2 });
        })
        .catch((e: Error & { code?: string; errno?: number }) => [e.code, e.errno]);
      return [err, await db('counters').where({ k: 'half' }).first()];
    },
  },
  {
    name: 'transaction() commit',
    run: async ({ db }) => {
      const trx = await db.transaction();
      await trx('counters').insert({ k: 'obj', n: 1 });
      await trx.commit();
      return [trx.isCompleted(), await db('counters').where({ k: 'obj' }).first()];
    },
  },
  {
    name: 'transaction() rollback',
    run: async ({ db }) => {
      const trx = await db.transaction();
      await trx('counters').insert({ k: 'objrb', n: 1 });
      await trx.rollback();
      return [trx.isCompleted(), await db('counters').where({ k: 'objrb' }).first()];
    },
  },
  {
    name: 'transactionProvider',
    run: async ({ db }) => {
      const provide = db.transactionProvider();
      const trx = await provide();
      const same = (await provide()) === trx;
      await trx('counters').insert({ k: 'prov', n: 2 });
      await trx.commit();
      return [same, await db('counters').where({ k: 'prov' }).first()];
    },
  },
  {
    name: 'nested transaction (savepoint) rolled back',
    run: async ({ db }) =>
      db.transaction(async (trx) => {
        await trx('counters').insert({ k: 'outer', n: 1 });
        await trx
          .transaction(async (inner) => {
            await inner('counters').insert({ k: 'inner', n: 1 });
            throw new Error('inner fails');
          })
          .catch(() => undefined);
        return trx('counters').whereIn('k', ['outer', 'inner']).orderBy('k');
      }),
  },
  {
    name: 'trx.savepoint',
    run: async ({ db }) =>
      db.transaction(async (trx) => {
        await trx.savepoint(async (sp) => {
          await sp('counters').insert({ k: 'sp', n: 5 });
        });
        return trx('counters').where({ k: 'sp' }).first();
      }),
  },
  {
    name: '.transacting(trx)',
    run: async ({ db }) => {
      const trx = await db.transaction();
      await db('counters').insert({ k: 'tx', n: 3 }).transacting(trx);
      const inside = await db('counters').where({ k: 'tx' }).first().transacting(trx);
      await trx.rollback();
      return [inside, await db('counters').where({ k: 'tx' }).first()];
    },
  },
  {
    name: 'built on one instance, run in a transaction of another',
    run: async ({ db, other }) => {
      const result = await other.transaction(async (trx) =>
        db('counters').insert({ k: 'cross', n: 8 }).transacting(trx),
      );
      return [result, await db('counters').where({ k: 'cross' }).first()];
    },
  },
  {
    name: 'transaction isolation: a rolled back write is gone',
    run: async ({ db }) => {
      await db
        .transaction(async (trx) => {
          await trx('people').where({ id: 5 }).update({ name: 'temp' });
          throw new Error('undo');
        })
        .catch(() => undefined);
      return db('people').where({ id: 5 }).pluck('name');
    },
  },

  // ---- execution forms of writes
  {
    name: '.asCallback write',
    run: async ({ db }) => {
      const r = await new Promise((resolve) => {
        void db('counters')
          .insert({ k: 'cb', n: 1 })
          .asCallback((err: Error | null, res: unknown) =>
            resolve(err ? ['error', (err as { code?: string }).code] : res),
          );
      });
      return [r, await db('counters').where({ k: 'cb' }).first()];
    },
  },
  {
    name: '.then write',
    run: ({ db }) =>
      db('counters')
        .where({ k: 'cb' })
        .update({ n: 2 })
        .then((n) => ['updated', n]),
  },
  {
    name: '.catch write error',
    run: ({ db }) =>
      db('counters')
        .insert({ k: 'cb', n: 1 })
        .catch((e: Error & { code?: string; errno?: number; sqlState?: string }) => [
          e.code,
          e.errno,
          e.sqlState,
        ]),
  },
  {
    name: '.finally write',
    run: async ({ db }) => {
      let ran = false;
      const r = await db('counters')
        .where({ k: 'cb' })
        .del()
        .finally(() => {
          ran = true;
        });
      return [r, ran];
    },
  },
  {
    name: '.connection(conn)',
    run: async ({ db }) => {
      const client = db.client as {
        acquireConnection(): Promise<unknown>;
        releaseConnection(c: unknown): Promise<void>;
      };
      const conn = await client.acquireConnection();
      try {
        const w = await db('counters').insert({ k: 'conn', n: 6 }).connection(conn);
        const r = await db('counters').where({ k: 'conn' }).first().connection(conn);
        return [w, r];
      } finally {
        await client.releaseConnection(conn);
      }
    },
  },
  {
    name: "on('query') for a write",
    run: ({ db }) => events(db, () => db('counters').where({ k: 'conn' }).update({ n: 7 })),
  },
  {
    name: "on('query') in a transaction",
    run: ({ db }) => events(db, () => db.transaction((trx) => trx('counters').where({ k: 'conn' }).del())),
  },

  // ---- migrations and seeds
  {
    name: 'migrate.latest',
    run: async ({ db, dir }) => {
      const config = { directory: join(dir, 'migrations'), loadExtensions: ['.cjs'] };
      const latest = await db.migrate.latest(config);
      const version = await db.migrate.currentVersion(config);
      const ids = await db('conf_migrated').insert({ label: 'm' });
      const back = await db.migrate.rollback(config);
      return [latest, version, ids, back, await db.schema.hasTable('conf_migrated')];
    },
  },
  {
    name: 'seed.run',
    run: async ({ db, dir }) => [
      await db.seed.run({ directory: join(dir, 'seeds'), loadExtensions: ['.cjs'] }),
      await db('counters').where({ k: 'seeded' }).first(),
    ],
  },

  // ---- final state of every table
  { name: 'final people', run: ({ db }) => db('people').orderBy('id') },
  { name: 'final orders', run: ({ db }) => db('orders').orderBy('id') },
  { name: 'final labels', run: ({ db }) => db('labels').orderBy('code') },
  { name: 'final counters', run: ({ db }) => db('counters').orderBy('k') },
];
