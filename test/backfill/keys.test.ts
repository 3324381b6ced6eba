import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { buildTranslators } from '../../lib/translate/build.js';
import { useFreshDatabases } from '../support/databases.js';
import { dumpRows, insertMany } from './support.js';

const dbs = useFreshDatabases('dwbfkeys');

/** A uuid made of `n` (lower case on PostgreSQL, mixed case in MySQL text). */
function uuidOf(n: number): string {
  return `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${(n * 7919).toString(16).padStart(12, '0')}`;
}

describe('range-read batches across key types and directions', () => {
  it('MySQL CHAR(36) → PostgreSQL uuid: mixed-case keys, rows already on the target, rows only there', async () => {
    await dbs.mysql.raw(
      'CREATE TABLE docs (id CHAR(36) NOT NULL PRIMARY KEY, body TEXT NOT NULL, meta JSON NULL, at DATETIME NOT NULL)',
    );
    await dbs.pg.raw(
      'CREATE TABLE docs (id uuid PRIMARY KEY, body text NOT NULL, meta jsonb, at timestamp(0) NOT NULL)',
    );
    await initMetaTables(dbs.mysql, dbs.pg);
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      id: i % 3 === 0 ? uuidOf(i + 1).toUpperCase() : uuidOf(i + 1),
      body: `doc ${i}\twith tab`,
      meta: JSON.stringify({ n: i, big: 12345678901234567890n.toString() }),
      at: '2024-01-02 03:04:05',
    }));
    await insertMany(dbs.mysql, 'docs', rows);
    // Stale copies of some rows and rows MySQL never had.
    await insertMany(dbs.pg, 'docs', [
      ...rows
        .filter((_, i) => i % 7 === 0)
        .map((r) => ({ id: r.id.toLowerCase(), body: 'stale', meta: null, at: '2000-01-01 00:00:00' })),
      ...Array.from({ length: 10 }, (_, i) => ({
        id: uuidOf(100_000 + i),
        body: 'ghost',
        meta: null,
        at: '2000-01-01 00:00:00',
      })),
    ]);
    const mysqlSchema = await introspectMysql(dbs.mysql);
    const translators = buildTranslators(mysqlSchema, await introspectPostgres(dbs.pg));
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema: mysqlSchema,
      tables: ['docs'],
      // Batches of several range chunks (2000 rows): the second COPY stream of a batch runs too.
      batchSize: 4500,
    });
    expect(result.tables.map((t) => [t.table, t.status, t.rows, t.deleted])).toEqual([
      ['docs', 'done', 5000, 10],
    ]);
    const pg = await dumpRows(dbs.pg, 'docs', ['id', 'body', 'meta', 'at'], ['id']);
    expect(pg).toHaveLength(5000);
    const tr = translators.table('docs');
    const mine = (await dbs.mysql('docs').select('*')) as Record<string, unknown>[];
    const theirs = (await dbs.pg('docs').select('*')) as Record<string, unknown>[];
    const norm = (list: Record<string, unknown>[], side: 'mysql' | 'postgres'): string[] =>
      list.map((r) => JSON.stringify(tr.normalize(r, side))).sort();
    expect(norm(theirs, 'postgres')).toEqual(norm(mine, 'mysql'));
  });

  it('PostgreSQL → MySQL with a composite (integer, text) key: range reads on the PostgreSQL side', async () => {
    await dbs.pg.raw(
      'CREATE TABLE pairs (a int NOT NULL, b varchar(20) NOT NULL, v int NOT NULL, PRIMARY KEY (a, b))',
    );
    await dbs.mysql.raw(
      'CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT NOT NULL, PRIMARY KEY (a, b))',
    );
    await initMetaTables(dbs.mysql, dbs.pg);
    const rows = Array.from({ length: 1200 }, (_, i) => ({ a: i % 40, b: `k${Math.floor(i / 40)}`, v: i }));
    await insertMany(dbs.pg, 'pairs', rows);
    await insertMany(dbs.mysql, 'pairs', [
      ...rows.filter((_, i) => i % 5 === 0).map((r) => ({ ...r, v: -1 })),
      { a: 999, b: 'ghost', v: 0 },
    ]);
    const pgSchema = await introspectPostgres(dbs.pg);
    const translators = buildTranslators(await introspectMysql(dbs.mysql), pgSchema);
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema: pgSchema,
      from: 'postgres',
      tables: ['pairs'],
      batchSize: 250,
    });
    expect(result.tables.map((t) => [t.table, t.status, t.rows, t.deleted])).toEqual([
      ['pairs', 'done', 1200, 1],
    ]);
    const my = await dumpRows(dbs.mysql, 'pairs', ['a', 'b', 'v'], ['a', 'b']);
    const pg = await dumpRows(dbs.pg, 'pairs', ['a', 'b', 'v'], ['a', 'b']);
    // Order by b's bytes on both sides (collations differ).
    expect(my.sort()).toEqual(pg.sort());
  });
});
