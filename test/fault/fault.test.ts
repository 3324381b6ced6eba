import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DualWriteConfigInput } from '../../lib/config/schema.js';
import type { Stage } from '../../lib/stage/stage.js';
import {
  createDatabases,
  dropDatabases,
  uniqueDatabaseName,
  type TestDatabases,
} from '../support/databases.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { Cluster, sleep } from './support/cluster.js';
import { readLedgers } from './support/judge.js';
import { conclude, createFaultTables, faultConfig, type ScenarioResult } from './support/fixture.js';

// Fault suite: three app processes write hot keys through the handle (ledgers fsync'd around every
// write) while processes are killed, restarted right after stage edits, flipped with and without
// coordination (also while every process is down), and while connections are stranded, reset or
// slowed by a loopback proxy. A judge reads both databases directly. DUALWRITE_FAULT_SOAK=<n>
// multiplies the rounds and durations (the default keeps the suite near three minutes a flavour).
// Each scenario has databases of its own: one that overran its time can never disturb the next.
let dbs: TestDatabases;
const SOAK = Math.max(1, Number(process.env['DUALWRITE_FAULT_SOAK'] ?? 1));
const APPS = [0, 1, 2];
const results: ScenarioResult[] = [];
const proxies: TcpProxy[] = [];

beforeEach(async () => {
  dbs = await createDatabases(uniqueDatabaseName('dwfault'));
  await createFaultTables(dbs);
});

afterEach(async () => {
  await dropDatabases(dbs);
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  const flavour = process.env['DUALWRITE_TEST_FLAVOUR'] ?? 'mysql';
  mkdirSync('reports', { recursive: true });
  writeFileSync(`reports/fault-${flavour}.json`, `${JSON.stringify(results, null, 2)}\n`);
});

async function proxyPair(): Promise<{ mysql: TcpProxy; pg: TcpProxy }> {
  const mysql = await startTcpProxy(Number(new URL(dbs.mysqlUrl).port));
  const pg = await startTcpProxy(Number(new URL(dbs.pgUrl).port));
  proxies.push(mysql, pg);
  return { mysql, pg };
}

function expectNothingLost(result: ScenarioResult, minAcknowledged = MIN_ACKNOWLEDGED): void {
  results.push(result);
  expect(result.details).toEqual([]);
  expect(result).toMatchObject({
    lost: 0,
    differences: 0,
    // verify's verdict agrees with the judge's.
    verifyClean: true,
    outbox: { mysql: 0, postgres: 0 },
    leftProcesses: 0,
    leftConnections: 0,
  });
  expect(result.acknowledged).toBeGreaterThan(minAcknowledged);
}

async function run(
  name: string,
  config: DualWriteConfigInput,
  body: (cluster: Cluster) => Promise<void>,
  options: { syncWorker?: boolean } = {},
): Promise<ScenarioResult> {
  const cluster = new Cluster(config, { keys: 12, pauseMs: 3, ...options });
  try {
    const t0 = performance.now();
    await Promise.all(APPS.map((s) => cluster.start(s)));
    trace(`${name}: started in ${Math.round(performance.now() - t0)} ms`);
    await body(cluster);
    // On a loaded machine a scenario may end with few writes: let the apps go on (bounded) until the
    // judge has enough acknowledged writes to say something.
    const deadline = performance.now() + 20_000;
    while (countAcknowledged(cluster) < MIN_ACKNOWLEDGED * 2 && performance.now() < deadline)
      await sleep(250);
    const t1 = performance.now();
    const result = await conclude(name, dbs, cluster);
    trace(`${name}: concluded in ${Math.round(performance.now() - t1)} ms`);
    return result;
  } finally {
    await cluster.close();
  }
}

const pick = (n: number): number => Math.floor(Math.random() * n);
const MIN_ACKNOWLEDGED = 20;
const countAcknowledged = (cluster: Cluster): number =>
  readLedgers(cluster.ledgers).filter((w) => w.acked).length;
/** DUALWRITE_FAULT_TRACE=1 prints where a scenario spends its time. */
const trace = (line: string): void => {
  if (process.env['DUALWRITE_FAULT_TRACE']) process.stdout.write(`[fault trace] ${line}\n`);
};

// A scenario restarts app processes a dozen times: on a loaded machine that takes minutes.
describe(
  'fault suite: nothing acknowledged is lost, and verify agrees with the judge',
  { timeout: 360_000 },
  () => {
    it('SIGKILL of random processes, restarted at once', async () => {
      const result = await run('sigkill', faultConfig(dbs, { stage: 'shadow' }), async (cluster) => {
        const starting: Promise<void>[] = [];
        for (let round = 0; round < 8 * SOAK; round++) {
          await sleep(250 + pick(300));
          const slot = pick(APPS.length);
          await cluster.kill(slot);
          // Killed again before it is up, at times: a process dying while it opens its handle.
          starting.push(cluster.start(slot).catch(() => undefined));
        }
        await Promise.all(starting);
        await Promise.all(APPS.filter((s) => !cluster.slots().includes(s)).map((s) => cluster.start(s)));
        await sleep(300);
      });
      expectNothingLost(result);
    });

    it('restart storms right after stage edits, every transition both ways', async () => {
      const walk: Stage[] = [
        'dual-write',
        'shadow',
        'pg-primary',
        'pg-rampdown',
        'pg-primary',
        'shadow',
        'dual-write',
      ];
      const result = await run('restart storm', faultConfig(dbs, { stage: walk[0] }), async (cluster) => {
        for (let round = 0; round < SOAK; round++) {
          for (const stage of walk.slice(1)) {
            cluster.setStage(stage);
            await sleep(40 + pick(80));
            await Promise.all(cluster.slots().map((s) => cluster.kill(s)));
            const t0 = performance.now();
            await Promise.all(APPS.map((s) => cluster.start(s)));
            trace(`${stage}: all restarted in ${Math.round(performance.now() - t0)} ms`);
            await sleep(200);
          }
        }
      });
      expectNothingLost(result);
    });

    it.each(['process', 'instances'] as const)(
      'flips back and forth while writing (flip.coordinate: %s)',
      async (coordinate) => {
        const config = faultConfig(dbs, {
          stage: 'shadow',
          flip: { quietWindowMs: 0, maxPauseMs: 3000, coordinate, heartbeatMs: 200 },
        });
        const result = await run(`flips, coordinate ${coordinate}`, config, async (cluster) => {
          for (const stage of (['pg-primary', 'shadow', 'pg-primary', 'shadow', 'pg-primary'] as const).slice(
            0,
            3 + 2 * (SOAK > 1 ? 1 : 0),
          )) {
            cluster.setStage(stage);
            await sleep(2000);
          }
        });
        expectNothingLost(result);
      },
    );

    it('a flip made while every process is down (all SIGKILLed, no worker draining)', async () => {
      const result = await run(
        'flip while all down',
        faultConfig(dbs, { stage: 'shadow' }),
        async (cluster) => {
          for (const stage of ['pg-primary', 'shadow', 'pg-primary'] as const) {
            await sleep(500);
            await Promise.all(cluster.slots().map((s) => cluster.kill(s)));
            const flipped = await cluster.cli(['stage', stage]);
            expect(flipped.code, flipped.stdout).toBe(0);
            await Promise.all(APPS.map((s) => cluster.start(s)));
          }
          await sleep(500);
        },
        // The outbox keys of killed processes wait for whoever starts next.
        { syncWorker: false },
      );
      expectNothingLost(result);
    });

    it('stranded connections (kept open, nothing answers) while a flip is edited in', async () => {
      const proxy = await proxyPair();
      const timeouts = { statementMs: 1500, connectMs: 2000, acquireMs: 4000 };
      const config = faultConfig(dbs, {
        stage: 'shadow',
        mysqlUrl: proxy.mysql.url(dbs.mysqlUrl),
        pgUrl: proxy.pg.url(dbs.pgUrl),
        sync: { timeoutMs: 1500 },
      });
      config.mysql.timeouts = timeouts;
      config.postgres.timeouts = timeouts;
      let stranded = 0;
      let leftStranded = 0;
      const open = (): number => proxy.pg.stranded() + proxy.mysql.stranded();
      const result = await run('stranded connections', config, async (cluster) => {
        await sleep(700);
        stranded += proxy.pg.strand() + proxy.mysql.strand();
        cluster.setStage('pg-primary');
        await sleep(1200);
        stranded += proxy.pg.strand();
        // A stranded connection in use is given up by its process within statementMs + 1 s (destroyed
        // and replaced); an idle one when it is next used, or by the pool's idle timeout.
        for (let i = 0; i < 60 && open() >= stranded; i++) await sleep(100);
        leftStranded = open();
        await sleep(800);
      });
      expect(stranded).toBeGreaterThan(0);
      expect(leftStranded).toBeLessThan(stranded);
      // The processes closed, nothing of them is left open, stranded or not.
      expect(open()).toBe(0);
      expect(result.stage).toBe('pg-primary');
      expectNothingLost(result);
    });

    it('connections reset repeatedly, across a flip', async () => {
      const proxy = await proxyPair();
      const config = faultConfig(dbs, {
        stage: 'shadow',
        mysqlUrl: proxy.mysql.url(dbs.mysqlUrl),
        pgUrl: proxy.pg.url(dbs.pgUrl),
      });
      const result = await run('resets', config, async (cluster) => {
        for (let round = 0; round < 6 * SOAK; round++) {
          await sleep(250 + pick(200));
          const target = round % 2 === 0 ? proxy.pg : proxy.mysql;
          target.setMode('reset');
          await sleep(60);
          target.setMode('up');
          if (round === 2) cluster.setStage('pg-primary');
        }
        await sleep(600);
      });
      expectNothingLost(result);
    });

    it('latency on both sides during flips', async () => {
      const proxy = await proxyPair();
      proxy.mysql.setLatency(8);
      proxy.pg.setLatency(8);
      const config = faultConfig(dbs, {
        stage: 'shadow',
        mysqlUrl: proxy.mysql.url(dbs.mysqlUrl),
        pgUrl: proxy.pg.url(dbs.pgUrl),
      });
      const result = await run('latency', config, async (cluster) => {
        for (const stage of ['pg-primary', 'shadow'] as const) {
          await sleep(900);
          cluster.setStage(stage);
        }
        await sleep(900);
      });
      // 8 ms each way on every round trip: far fewer writes in the same time.
      expectNothingLost(result, 10);
    });
  },
);
