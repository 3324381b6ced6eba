import { afterAll, describe, expect, it } from 'vitest';
import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../lib/dialect/postgres/connection.js';
import { useFreshDatabases } from '../support/databases.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// A connection whose state was lost in the network (accepted, never answering, while new
// connections work) fails its statement within the bound, is destroyed, and the pool goes on.
const dbs = useFreshDatabases('dwstuck');
const proxies: TcpProxy[] = [];
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

describe('a connection that stops answering', () => {
  it.each(['mysql', 'postgres'] as const)(
    '%s: the statement fails within its bound, the pool replaces the connection',
    async (side) => {
      const url = side === 'mysql' ? dbs.mysqlUrl : dbs.pgUrl;
      const proxy = await startTcpProxy(Number(new URL(url).port));
      proxies.push(proxy);
      const timeouts = { statementMs: 500, connectMs: 2000, acquireMs: 2000 };
      const knex =
        side === 'mysql'
          ? createMysqlKnex({ url: proxy.url(url), pool: { max: 1 }, timeouts })
          : createPostgresKnex({ url: proxy.url(url), pool: { max: 1 }, timeouts });
      try {
        await knex.raw('SELECT 1 AS one');
        expect(proxy.strand()).toBe(1);
        const started = performance.now();
        const error = (await knex.raw('SELECT 2 AS two').catch((e: unknown) => e)) as { code?: string };
        const took = performance.now() - started;
        expect(error.code).toBe('DW_TIMEOUT');
        expect(took).toBeLessThan(5000);
        // The stuck connection was closed (not left to the pool) and a new one answers.
        for (let i = 0; i < 50 && proxy.stranded() > 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(proxy.stranded()).toBe(0);
        const rows: unknown = await knex.raw('SELECT 3 AS three');
        expect(JSON.stringify(rows)).toContain('three');
      } finally {
        await knex.destroy();
      }
    },
  );

  it('the server cancels a statement past statementMs (PostgreSQL statement_timeout)', async () => {
    const knex = createPostgresKnex({ url: dbs.pgUrl, pool: { max: 1 }, timeouts: { statementMs: 300 } });
    try {
      await expect(knex.raw('SELECT pg_sleep(2)')).rejects.toThrow(/statement timeout/);
      await knex.raw('SELECT 1');
    } finally {
      await knex.destroy();
    }
  });
});
