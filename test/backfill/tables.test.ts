import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { foreignKeyOrder } from '../../lib/backfill/order.js';
import type { BackfillEvent } from '../../lib/backfill/types.js';
import { ErrorCode } from '../../lib/errors.js';
import { testTranslators } from '../sync/support/translator.js';
import { useFreshDatabases } from '../support/databases.js';
import { dumpRows, insertMany, schemaOf } from './support.js';

const dbs = useFreshDatabases('dwbftables');

const translators = testTranslators({
  org: { primaryKey: ['id'], columns: ['id', 'boss_id'] },
  person: { primaryKey: ['id'], columns: ['id', 'org_id', 'mentor_id'] },
  note: { primaryKey: ['id'], columns: ['id', 'person_id', 'body'] },
  skipped: { primaryKey: ['id'], columns: ['id'] },
});
const sourceSchema = schemaOf([
  { name: 'note', primaryKey: ['id'], references: ['person'] },
  // person ↔ org is a cycle (org.boss_id → person), person.mentor_id a self-reference.
  { name: 'person', primaryKey: ['id'], references: ['org', 'person'] },
  { name: 'org', primaryKey: ['id'], references: ['person'] },
  { name: 'nokey', primaryKey: [] },
  { name: 'skipped', primaryKey: ['id'] },
  { name: 'dualwrite_outbox', primaryKey: ['id'] },
]);

describe('table selection and foreign keys', () => {
  it('orders parents first and groups cycles', () => {
    const order = foreignKeyOrder(
      sourceSchema.tables.filter((t) => ['note', 'person', 'org'].includes(t.name)),
    );
    expect(order.cycles).toEqual([['org', 'person']]);
    expect([...order.parents.get('note')!]).toEqual(['person']);
    expect(order.parents.get('person')!.size).toBe(0);
  });

  it('copies self-references and FK cycles with the foreign keys in place on PostgreSQL, resets sequences, refuses keyless tables', async () => {
    // MySQL: no FKs needed on the source for this test; PG: FKs in place, serial ids.
    await dbs.mysql.raw('CREATE TABLE org (id INT PRIMARY KEY, boss_id INT NULL)');
    await dbs.mysql.raw('CREATE TABLE person (id INT PRIMARY KEY, org_id INT NOT NULL, mentor_id INT NULL)');
    await dbs.mysql.raw(
      'CREATE TABLE note (id INT AUTO_INCREMENT PRIMARY KEY, person_id INT NOT NULL, body TEXT)',
    );
    await dbs.mysql.raw('CREATE TABLE nokey (v INT)');
    await dbs.mysql.raw('CREATE TABLE skipped (id INT PRIMARY KEY)');
    await dbs.pg.raw('CREATE TABLE org (id int PRIMARY KEY, boss_id int NULL)');
    await dbs.pg.raw(
      'CREATE TABLE person (id int PRIMARY KEY, org_id int NOT NULL REFERENCES org(id), mentor_id int NULL REFERENCES person(id))',
    );
    await dbs.pg.raw('ALTER TABLE org ADD FOREIGN KEY (boss_id) REFERENCES person(id)');
    await dbs.pg.raw(
      'CREATE TABLE note (id serial PRIMARY KEY, person_id int NOT NULL REFERENCES person(id), body text)',
    );
    await dbs.pg.raw('CREATE TABLE skipped (id int PRIMARY KEY)');
    // Every mentor and boss has a higher id than the row pointing at it: key order is the wrong order.
    await insertMany(
      dbs.mysql,
      'org',
      Array.from({ length: 20 }, (_, i) => ({ id: i + 1, boss_id: 1000 - i })),
    );
    await insertMany(
      dbs.mysql,
      'person',
      Array.from({ length: 1000 }, (_, i) => ({
        id: i + 1,
        org_id: (i % 20) + 1,
        mentor_id: i < 999 ? i + 2 : null,
      })),
    );
    await insertMany(
      dbs.mysql,
      'note',
      Array.from({ length: 500 }, (_, i) => ({ person_id: (i % 1000) + 1, body: `note ${i}` })),
    );
    await dbs.mysql('skipped').insert({ id: 1 });
    await dbs.mysql.raw('ANALYZE TABLE org, person, note');

    const events: BackfillEvent[] = [];
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema,
      exclude: ['skipped'],
      batchSize: 100,
      concurrency: 1,
      onEvent: (e) => events.push(e),
    });
    const byTable = Object.fromEntries(result.tables.map((t) => [t.table, t]));
    expect(byTable['nokey']).toMatchObject({ status: 'refused', code: ErrorCode.NoPrimaryKey });
    expect(byTable['nokey']!.reason).toMatch(/no primary key/);
    expect(byTable['skipped']).toMatchObject({ status: 'skipped' });
    expect(byTable['dualwrite_outbox']).toBeUndefined();
    expect(result.ok).toBe(false);
    for (const t of ['org', 'person', 'note']) expect(byTable[t]).toMatchObject({ status: 'done' });
    const starts = events.flatMap((e) => (e.type === 'tableStart' ? [e.table] : []));
    // FK checks are off on the backfill's target sessions: no FK order, the biggest table goes first.
    expect(starts[0]).toBe('person');

    expect(await dumpRows(dbs.pg, 'person', ['id', 'org_id', 'mentor_id'], ['id'])).toEqual(
      await dumpRows(dbs.mysql, 'person', ['id', 'org_id', 'mentor_id'], ['id']),
    );
    expect(await dumpRows(dbs.pg, 'org', ['id', 'boss_id'], ['id'])).toEqual(
      await dumpRows(dbs.mysql, 'org', ['id', 'boss_id'], ['id']),
    );
    expect(await dbs.pg('skipped').count({ n: '*' })).toEqual([{ n: '0' }]);
    // The serial sequence moved past the copied ids: the next default id does not collide.
    const [inserted] = await dbs.pg('note').insert({ person_id: 1, body: 'new' }).returning('id');
    expect((inserted as { id: number }).id).toBe(501);
  });

  it('with foreign keys checked, copies parents first and finishes children first', async () => {
    await dbs.mysql.raw('CREATE TABLE parent (id INT PRIMARY KEY)');
    await dbs.mysql.raw('CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL)');
    await dbs.pg.raw('CREATE TABLE parent (id int PRIMARY KEY)');
    await dbs.pg.raw('CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id))');
    await insertMany(
      dbs.mysql,
      'parent',
      Array.from({ length: 50 }, (_, i) => ({ id: i + 1 })),
    );
    await insertMany(
      dbs.mysql,
      'child',
      Array.from({ length: 3000 }, (_, i) => ({ id: i + 1, parent_id: (i % 50) + 1 })),
    );
    // Rows only the target has: a parent whose children must be deleted before it.
    await dbs.pg.raw('INSERT INTO parent (id) VALUES (999)');
    await dbs.pg.raw('INSERT INTO child (id, parent_id) VALUES (9999, 999)');
    const events: BackfillEvent[] = [];
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators: testTranslators({
        parent: { primaryKey: ['id'], columns: ['id'] },
        child: { primaryKey: ['id'], columns: ['id', 'parent_id'] },
      }),
      sourceSchema: schemaOf([
        { name: 'child', primaryKey: ['id'], references: ['parent'] },
        { name: 'parent', primaryKey: ['id'] },
      ]),
      deferForeignKeys: false,
      batchSize: 500,
      concurrency: 2,
      onEvent: (e) => events.push(e),
    });
    expect(result.ok).toBe(true);
    const order = events.flatMap((e) =>
      e.type === 'tableStart' || e.type === 'tableDone' ? [`${e.type}:${e.table}`] : [],
    );
    expect(order).toEqual(['tableStart:parent', 'tableStart:child', 'tableDone:child', 'tableDone:parent']);
    expect(await dumpRows(dbs.pg, 'child', ['id', 'parent_id'], ['id'])).toEqual(
      await dumpRows(dbs.mysql, 'child', ['id', 'parent_id'], ['id']),
    );
    expect(await dumpRows(dbs.pg, 'parent', ['id'], ['id'])).toEqual(
      await dumpRows(dbs.mysql, 'parent', ['id'], ['id']),
    );
  });
});
