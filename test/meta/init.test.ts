import { describe, expect, it } from 'vitest';
import { initMetaTables } from '../../lib/meta/init.js';
import { LOCK_BUCKETS, META_TABLES } from '../../lib/meta/tables.js';
import { useFreshDatabases } from '../support/databases.js';

const dbs = useFreshDatabases('dwmeta');

async function count(db: typeof dbs.mysql, table: string): Promise<number> {
  const row = (await db(table).count({ n: '*' }).first()) as { n: number | string };
  return Number(row.n);
}

describe('initMetaTables', () => {
  it('creates the meta tables on both sides, idempotently and concurrently', async () => {
    await Promise.all([initMetaTables(dbs.mysql, dbs.pg), initMetaTables(dbs.mysql, dbs.pg)]);
    await initMetaTables(dbs.mysql, dbs.pg);
    for (const db of [dbs.mysql, dbs.pg]) {
      expect(await count(db, META_TABLES.lock)).toBe(LOCK_BUCKETS);
      for (const t of Object.values(META_TABLES)) expect(await db.schema.hasTable(t)).toBe(true);
    }
  });

  it('fills outbox defaults and ids on both sides', async () => {
    for (const db of [dbs.mysql, dbs.pg]) {
      await db(META_TABLES.outbox).insert([
        { table_name: 'users', pk: '[1]' },
        { table_name: 'users', pk: '[2]' },
      ]);
      const rows = await db(META_TABLES.outbox).select('*').orderBy('id');
      expect(rows.map((r: { pk: string; attempts: number }) => [r.pk, r.attempts])).toEqual([
        ['[1]', 0],
        ['[2]', 0],
      ]);
      expect(rows[0].created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+/);
      expect(rows[0].available_at).toMatch(/^\d{4}-\d\d-\d\d/);
    }
  });

  it('keeps one open quarantine entry per table and key, any number of resolved ones', async () => {
    for (const db of [dbs.mysql, dbs.pg]) {
      const entry = {
        table_name: 't',
        pk: '[1]',
        direction: 'mysql->postgres',
        code: 'nul_byte',
        reason: 'r',
      };
      await db(META_TABLES.quarantine).insert(entry);
      await expect(db(META_TABLES.quarantine).insert(entry)).rejects.toThrow(/duplicate|unique/i);
      await db(META_TABLES.quarantine).update({ resolved_at: db.fn.now() });
      await db(META_TABLES.quarantine).insert(entry);
      await db(META_TABLES.quarantine).update({ resolved_at: db.fn.now() }).whereNull('resolved_at');
      await db(META_TABLES.quarantine).insert(entry);
      expect(await count(db, META_TABLES.quarantine)).toBe(3);
    }
  });
});
