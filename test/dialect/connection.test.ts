import { describe, expect, it } from 'vitest';
import {
  createDatabases,
  dropDatabases,
  uniqueDatabaseName,
  useFreshDatabases,
} from '../support/databases.js';

const dbs = useFreshDatabases('dwconn');

describe('connections to both servers', () => {
  it('round-trips a row through knex on MariaDB', async () => {
    await dbs.mysql.schema.createTable('widgets', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.boolean('active').notNullable();
      t.dateTime('made_at', { precision: 6 });
    });
    await dbs
      .mysql('widgets')
      .insert({ name: 'gear ⚙️', active: true, made_at: '2024-02-29 12:34:56.123456' });
    const rows = await dbs.mysql('widgets').select('*');
    expect(rows).toEqual([{ id: 1, name: 'gear ⚙️', active: true, made_at: '2024-02-29 12:34:56.123456' }]);
  });

  it('round-trips a row through knex on PostgreSQL', async () => {
    await dbs.pg.schema.createTable('widgets', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.boolean('active').notNullable();
      t.timestamp('made_at', { useTz: false, precision: 6 });
    });
    await dbs.pg('widgets').insert({ name: 'gear ⚙️', active: true, made_at: '2024-02-29 12:34:56.123456' });
    const rows = await dbs.pg('widgets').select('*');
    expect(rows).toEqual([{ id: 1, name: 'gear ⚙️', active: true, made_at: '2024-02-29 12:34:56.123456' }]);
  });

  it('runs in a database of its own on each server', async () => {
    const [mysqlDb] = (await dbs.mysql.raw('SELECT DATABASE() AS db'))[0] as { db: string }[];
    const pgDb = (await dbs.pg.raw('SELECT current_database() AS db')).rows[0] as { db: string };
    expect(mysqlDb?.db).toBe(dbs.name);
    expect(pgDb.db).toBe(dbs.name);

    // A second pair of databases does not see this file's table, and dropping it leaves ours intact.
    const other = await createDatabases(uniqueDatabaseName('dwconn_other'));
    try {
      expect(await other.mysql.schema.hasTable('widgets')).toBe(false);
      expect(await other.pg.schema.hasTable('widgets')).toBe(false);
    } finally {
      await dropDatabases(other);
    }
    expect(await dbs.mysql.schema.hasTable('widgets')).toBe(true);
    expect(await dbs.pg.schema.hasTable('widgets')).toBe(true);
    const mysqlDbs = (await dbs.mysql.raw('SHOW DATABASES'))[0] as Record<string, string>[];
    expect(mysqlDbs.map((r) => Object.values(r)[0])).not.toContain(other.name);
  });
});
