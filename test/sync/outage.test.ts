import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlKnexConfig } from '../../lib/dialect/mysql/connection.js';
import { postgresKnexConfig } from '../../lib/dialect/postgres/connection.js';
import { DualWriteEvents } from '../../lib/observe/events.js';
import { createMetrics } from '../../lib/observe/metrics.js';
import { outboxBacklog } from '../../lib/sync/outbox.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import { useFreshDatabases } from '../support/databases.js';
import { startTcpProxy, type ProxyMode, type TcpProxy } from '../support/tcp-proxy.js';
import { createSyncTables, rowsOf } from './support/fixtures.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { prng, randomItemWrite } from './support/traffic.js';

let translators: TranslatorSet;
const dbs = useFreshDatabases('dwoutage');
let proxy: TcpProxy;
let pgViaProxy: Knex;

beforeAll(async () => {
  translators = await createSyncTables(dbs);
  proxy = await startTcpProxy(Number(new URL(dbs.pgUrl).port));
  pgViaProxy = knexFactory({
    ...postgresKnexConfig({ url: proxy.url(dbs.pgUrl) }),
    acquireConnectionTimeout: 3000,
    // The outage makes knex warn about every dropped connection; the test asserts on events instead.
    log: { warn() {}, error() {}, debug() {}, deprecate() {} },
  });
});

afterAll(async () => {
  await pgViaProxy?.destroy();
  await proxy?.close();
});

async function outageScenario(mode: ProxyMode, seed: number): Promise<void> {
  proxy.setMode('up');
  const events = new DualWriteEvents();
  const metrics = createMetrics();
  const log: string[] = [];
  events.on('breakerOpened', (e) => log.push(`open:${e.side}`));
  events.on('breakerClosed', (e) => log.push(`closed:${e.side}`));
  const syncer = new KeySyncer({ mysql: dbs.mysql, pg: pgViaProxy, translators, metrics });
  const worker = new SyncWorker({
    mysql: dbs.mysql,
    pg: pgViaProxy,
    syncer,
    authoritative: () => 'mysql',
    events,
    metrics,
    sync: { pollIntervalMs: 30, timeoutMs: 800, breakerResetTimeoutMs: 300, batchSize: 50 },
  });
  const rand = prng(seed);
  let writes = 0;
  // Counted, not timed: the machine may be slow, the scenario stays the same.
  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await randomItemWrite(dbs.mysql, rand, 80);
      writes++;
      worker.notify();
    }
  };
  try {
    await write(40);
    await worker.drain({ timeoutMs: 10_000 });
    proxy.setMode(mode);
    // Every app write keeps succeeding on MySQL while PostgreSQL is unreachable.
    await write(80);
    expect(writes).toBe(120);
    await expect.poll(() => worker.breakerState('postgres'), { timeout: 10_000 }).not.toBe('closed');
    expect(log).toContain('open:postgres');
    const backlog = await worker.backlog();
    expect(backlog).toBeGreaterThan(10);
    expect(await metrics.registry.getSingleMetricAsString('dualwrite_breaker_state')).toMatch(
      /side="postgres"} [12]/,
    );
    proxy.setMode('up');
    await worker.drain({ timeoutMs: 30_000 });
    expect(await worker.backlog()).toBe(0);
    expect(log.at(-1)).toBe('closed:postgres');
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
  } finally {
    proxy.setMode('up');
    await worker.close();
  }
}

describe('PostgreSQL outage behind the breaker', () => {
  it('connections reset: writes go on, the breaker opens, the backlog grows, then drains to equal', async () => {
    await outageScenario('reset', 11);
  });

  it('target hangs (blackhole): sync timeouts open the breaker; recovery drains to equal', async () => {
    await outageScenario('blackhole', 12);
  });
});

describe('closing during an outage', () => {
  it('close() returns at once while the breaker is open; the rows wait for the next worker', async () => {
    proxy.setMode('reset');
    const make = () =>
      new SyncWorker({
        mysql: dbs.mysql,
        pg: pgViaProxy,
        syncer: new KeySyncer({ mysql: dbs.mysql, pg: pgViaProxy, translators }),
        authoritative: () => 'mysql',
        sync: { pollIntervalMs: 20, timeoutMs: 800, breakerResetTimeoutMs: 5000, closeTimeoutMs: 10_000 },
      });
    const worker = make();
    const rand = prng(13);
    for (let i = 0; i < 20; i++) {
      await randomItemWrite(dbs.mysql, rand, 80);
      worker.notify();
    }
    await expect.poll(() => worker.breakerState('postgres'), { timeout: 5000 }).toBe('open');
    const t0 = performance.now();
    await worker.close();
    expect(performance.now() - t0).toBeLessThan(3000); // closeTimeoutMs is 10 s
    expect(await outboxBacklog(dbs.mysql)).toBeGreaterThan(0);
    proxy.setMode('up');
    const next = make();
    try {
      await next.drain({ timeoutMs: 20_000 });
    } finally {
      await next.close();
    }
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
  });
});

describe('authoritative (source) outage', () => {
  it('the worker survives an unreachable outbox and drains it once MySQL is back', async () => {
    const mysqlProxy = await startTcpProxy(Number(new URL(dbs.mysqlUrl).port));
    const mysqlViaProxy = knexFactory({
      ...mysqlKnexConfig({ url: mysqlProxy.url(dbs.mysqlUrl) }),
      acquireConnectionTimeout: 2000,
      log: { warn() {}, error() {}, debug() {}, deprecate() {} },
    });
    const worker = new SyncWorker({
      mysql: mysqlViaProxy,
      pg: dbs.pg,
      syncer: new KeySyncer({ mysql: mysqlViaProxy, pg: dbs.pg, translators }),
      authoritative: () => 'mysql',
      sync: { pollIntervalMs: 30 },
    });
    try {
      mysqlProxy.setMode('reset');
      const rand = prng(14);
      for (let i = 0; i < 30; i++) await randomItemWrite(dbs.mysql, rand, 80); // direct, not via the proxy
      await new Promise((r) => setTimeout(r, 500)); // polls fail meanwhile
      expect(await outboxBacklog(dbs.mysql)).toBeGreaterThanOrEqual(30);
      mysqlProxy.setMode('up');
      await worker.drain({ timeoutMs: 20_000 });
      expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
    } finally {
      mysqlProxy.setMode('up');
      await worker.close();
      await mysqlViaProxy.destroy();
      await mysqlProxy.close();
    }
  });
});
