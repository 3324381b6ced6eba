import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initMetaTables } from '../../lib/meta/init.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { useFreshDatabases } from '../support/databases.js';
import { openHandle } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwhout');
let proxy: TcpProxy;

beforeAll(async () => {
  await dbs.mysql.raw('CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL)');
  await dbs.pg.raw('CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL)');
  await initMetaTables(dbs.mysql, dbs.pg);
  proxy = await startTcpProxy(Number(new URL(dbs.pgUrl).port));
});

afterAll(async () => {
  await proxy.close();
});

describe('PostgreSQL unreachable while MySQL is authoritative, through the handle', () => {
  it('every app write succeeds, the breaker opens, the backlog drains when it returns', async () => {
    const db = await openHandle(dbs, 'dual-write', {
      syncWorker: true,
      config: {
        postgres: { url: proxy.url(dbs.pgUrl), poolMax: 4 },
        sync: { breakerResetTimeoutMs: 200, timeoutMs: 1000, pollIntervalMs: 50 },
      },
    });
    const events: string[] = [];
    db.dualwrite.events.on('breakerOpened', (e) => events.push(`open:${e.side}`));
    db.dualwrite.events.on('breakerClosed', (e) => events.push(`closed:${e.side}`));
    try {
      for (let i = 1; i <= 20; i++) await db('accounts').insert({ id: i, balance: i });
      await db.dualwrite.worker?.drain({ timeoutMs: 10_000 });
      proxy.setMode('reset');
      for (let i = 1; i <= 200; i++) {
        await db('accounts')
          .where({ id: 1 + (i % 40) })
          .update({ balance: i });
        if (i % 5 === 0) await db('accounts').insert({ id: 100 + i, balance: i });
      }
      const deadline = Date.now() + 10_000;
      while (!events.includes('open:postgres') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(events).toContain('open:postgres');
      const during = await db.dualwrite.status();
      expect(during.backlog).toBeGreaterThan(0);
      expect(during.breaker.postgres).not.toBe('closed');
      proxy.setMode('up');
      await db.dualwrite.worker?.drain({ timeoutMs: 30_000 });
      expect(events).toContain('closed:postgres');
      expect(await dbs.pg('accounts').orderBy('id')).toEqual(await dbs.mysql('accounts').orderBy('id'));
      expect((await db.dualwrite.status()).backlog).toBe(0);
    } finally {
      proxy.setMode('up');
      await db.destroy();
    }
  });
});
