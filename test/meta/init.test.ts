import { describe, expect, it } from 'vitest';
import { initMetaTables } from '../../lib/meta/init.js';
import { LOCK_BUCKETS, META_TABLES } from '../../lib/meta/tables.js';
import { useFreshDatabases } from '../support/databases.js';
import { setAuthority } from '../support/dualwrite.js';

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
    for (const [side, db] of [
      ['mysql', dbs.mysql],
      ['postgres', dbs.pg],
    ] as const) {
      // Only the side holding the authoritative role takes outbox rows.
      await setAuthority(dbs, side);
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
    await setAuthority(dbs, 'mysql');
  });

  it('starts with MySQL holding the authoritative role; the other side refuses captured writes', async () => {
    await dbs.mysql(META_TABLES.authority).update({ state: 'writable', stage: null, epoch: 1 });
    await dbs.pg(META_TABLES.authority).update({ state: 'left', stage: null, epoch: 0 });
    expect(await dbs.mysql(META_TABLES.authority).select('state')).toEqual([{ state: 'writable' }]);
    await expect(dbs.pg(META_TABLES.outbox).insert({ table_name: 'users', pk: '[9]' })).rejects.toThrow(
      /dualwrite_not_authoritative/,
    );
    await dbs.mysql(META_TABLES.authority).update({ state: 'leaving' });
    await expect(dbs.mysql(META_TABLES.outbox).insert({ table_name: 'users', pk: '[9]' })).rejects.toThrow(
      /dualwrite_not_authoritative/,
    );
    await dbs.mysql(META_TABLES.authority).update({ state: 'writable' });
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
