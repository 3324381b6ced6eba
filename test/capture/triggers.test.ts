import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyText } from '../../lib/sync/buckets.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle, outboxKeys, setAuthority } from '../support/dualwrite.js';

const run = promisify(execFile);
const dbs = useFreshDatabases('dwtrig');

beforeAll(async () => {
  await createWidgets(dbs);
  await dbs.mysql.raw(
    'CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b))',
  );
  await dbs.pg.raw(
    'CREATE TABLE pairs (a integer NOT NULL, b varchar(10) NOT NULL, v integer, PRIMARY KEY (a, b))',
  );
  const { stdout } = await run('./bin/dualwrite.js', ['init', '--capture', 'triggers', '--json'], {
    env: { ...process.env, MYSQL_URL: dbs.mysqlUrl, PG_URL: dbs.pgUrl },
  });
  expect(JSON.parse(stdout)).toMatchObject({ metaTables: true, triggers: { mysql: 2, postgres: 2 } });
});

describe('dualwrite init --capture triggers', () => {
  it.each([
    ['mysql', () => dbs.mysql, 'SET @dualwrite_sync = 1'],
    ['postgres', () => dbs.pg, "SELECT set_config('dualwrite.sync', '1', false)"],
  ] as const)(
    'captures writes of other programs on %s in the keyText format, and skips sync sessions',
    async (side, knexOf, flag) => {
      const k = knexOf();
      // The side not holding the role refuses captured writes: another program's write there would be lost.
      await setAuthority(dbs, side === 'mysql' ? 'postgres' : 'mysql');
      await expect(k('widgets').insert({ id: 4, name: 'refused' })).rejects.toThrow(
        /dualwrite_not_authoritative/,
      );
      expect(await k('widgets').where({ id: 4 })).toEqual([]);
      await setAuthority(dbs, side);
      await k('dualwrite_outbox').del();
      await k('widgets').insert({ id: 5, name: 'other program' });
      await k('widgets').where({ id: 5 }).update({ id: 6 });
      await k('pairs').insert({ a: 1, b: 'x"y', v: 1 });
      await k('pairs').where({ a: 1 }).del();
      await k('widgets').where({ id: 6 }).del();
      const texts = ((await k('dualwrite_outbox').orderBy('id')) as { pk: string }[]).map((r) => r.pk);
      expect(texts).toEqual([
        keyText([5]),
        keyText([6]),
        keyText([5]),
        keyText([1, 'x"y']),
        keyText([1, 'x"y']),
        keyText([6]),
      ]);
      // A session flagged as the syncer's writes nothing to the outbox.
      await k.transaction(async (trx) => {
        await trx.raw(flag);
        await trx('widgets').insert({ id: 9, name: 'synced copy' });
      });
      expect(await outboxKeys(k, 'widgets')).not.toContainEqual([9]);
      await k('widgets').del();
      await k('dualwrite_outbox').del();
      await setAuthority(dbs, 'mysql');
    },
  );

  it('lets raw writes without declared keys through the handle when triggers capture them', async () => {
    const db = await openHandle(dbs, 'dual-write', { config: { capture: { mode: 'triggers' } } });
    try {
      await dbs.mysql('dualwrite_outbox').del();
      await db.raw('INSERT INTO widgets (id, name) VALUES (?, ?)', [21, 'raw']);
      await db('widgets').insert({ id: 22, name: 'built' });
      expect(await outboxKeys(dbs.mysql, 'widgets')).toEqual([[21], [22]]);
    } finally {
      await db.destroy();
    }
  });
});
