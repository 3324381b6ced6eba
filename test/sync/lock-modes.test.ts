import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { initMetaTables } from '../../lib/meta/init.js';
import { lockBuckets } from '../../lib/sync/buckets.js';
import { useFreshDatabases } from '../support/databases.js';

const dbs = useFreshDatabases('dwlockmode');

beforeAll(async () => {
  await initMetaTables(dbs.mysql, dbs.pg);
});

describe.each(['mysql', 'postgres'] as const)('bucket locks on %s', (side) => {
  const knex = () => (side === 'mysql' ? dbs.mysql : dbs.pg);
  /** Sets a short lock wait in the transaction, so a blocked lock fails fast instead of hanging. */
  const shortWait = async (trx: Knex.Transaction): Promise<unknown> =>
    side === 'mysql'
      ? trx.raw('SET SESSION innodb_lock_wait_timeout = 1')
      : trx.raw("SELECT set_config('lock_timeout', '300', true)");

  it('lets shared holders overlap, and makes an exclusive one wait for them (and the reverse)', async () => {
    const a = await knex().transaction();
    const b = await knex().transaction();
    const c = await knex().transaction();
    try {
      await lockBuckets(a, side, [1, 2, 3], true);
      // A second shared holder of overlapping buckets is not blocked.
      await shortWait(b);
      await lockBuckets(b, side, [2, 3, 4], true);
      // An exclusive holder of one of them is.
      await shortWait(c);
      await expect(lockBuckets(c, side, [3])).rejects.toThrow(/lock/i);
    } finally {
      await Promise.all([a.rollback(), b.rollback(), c.rollback().catch(() => undefined)]);
    }
    const x = await knex().transaction();
    const y = await knex().transaction();
    try {
      await lockBuckets(x, side, [7]);
      await shortWait(y);
      await expect(lockBuckets(y, side, [7], true)).rejects.toThrow(/lock/i);
    } finally {
      await Promise.all([x.rollback(), y.rollback().catch(() => undefined)]);
    }
  });
});
