import { describe, expect, it } from 'vitest';
import { createDualWrite } from '../../lib/handle/create.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { useFreshDatabases } from '../support/databases.js';
import { Cluster, sleep } from './support/cluster.js';
import { conclude, createFaultTables, faultConfig, outboxRows } from './support/fixture.js';
import { judge, type LedgerWrite } from './support/judge.js';

// The three ways acknowledged writes were lost (and `verify` said clean), as regression tests.
const dbs = useFreshDatabases('dwlost');

describe('losses found by the fault runs', { timeout: 240_000 }, () => {
  it('a flip made with the CLI while no process ran is completed by the first process that starts', async () => {
    await createFaultTables(dbs);
    for (const k of [dbs.mysql, dbs.pg]) await k('counters').insert({ id: 1, v: 'old' });
    // A long bound: the first process drains the MySQL outbox before it takes a write, however slow the machine.
    const config = faultConfig(dbs, { stage: 'dual-write', flip: { quietWindowMs: 0, maxPauseMs: 20_000 } });
    const cluster = new Cluster(config, { keys: 1, pauseMs: 0 });
    try {
      const before = await createDualWrite({
        configFile: cluster.configFile,
        logger: createSilentLogger(),
        env: {},
        syncWorker: false,
      });
      const [mysqlId] = (await before('events').insert({ payload: 'acked on mysql' })) as number[];
      await before('counters').where({ id: 1 }).update({ v: 'new' });
      await before.destroy();
      expect(await outboxRows(dbs)).toEqual({ mysql: 2, postgres: 0 });
      // The operator flips while no app runs; both are under flip.maxBacklog, so both are accepted.
      expect((await cluster.cli(['stage', 'shadow'])).code).toBe(0);
      const flipped = await cluster.cli(['stage', 'pg-primary']);
      expect(flipped.stdout).not.toMatch(/refused/);
      expect(flipped.code).toBe(0);

      const after = await createDualWrite({
        configFile: cluster.configFile,
        logger: createSilentLogger(),
        env: {},
      });
      try {
        expect(after.dualwrite.stage).toBe('pg-primary');
        // The MySQL outbox was drained towards PostgreSQL before PostgreSQL took any write.
        expect(await dbs.pg('counters').where({ id: 1 }).first()).toEqual({ id: 1, v: 'new' });
        expect(await dbs.pg('events').where({ id: mysqlId }).first()).toEqual({
          id: mysqlId,
          payload: 'acked on mysql',
        });
        const [pgId] = (await after('events').insert({ payload: 'first on postgres' })) as number[];
        expect(pgId).toBeGreaterThan(mysqlId as number);
        const status = await after.dualwrite.status();
        expect(status.stage).toBe('pg-primary');
        expect((await outboxRows(dbs)).mysql).toBe(0);
        await after.dualwrite.worker?.drain({ timeoutMs: 10_000 });
        expect(await dbs.mysql('events').orderBy('id')).toEqual([
          { id: mysqlId, payload: 'acked on mysql' },
          { id: pgId, payload: 'first on postgres' },
        ]);
      } finally {
        await after.destroy();
      }
    } finally {
      await cluster.close();
    }
  });

  it('a restart storm right after stage edits (every process SIGKILLed mid-fence) loses nothing', async () => {
    await createFaultTables(dbs);
    const cluster = new Cluster(faultConfig(dbs, { stage: 'shadow' }), { keys: 8, pauseMs: 2 });
    try {
      await Promise.all([0, 1, 2].map((s) => cluster.start(s)));
      await sleep(600);
      for (const [i, stage] of (['pg-primary', 'shadow', 'pg-primary'] as const).entries()) {
        cluster.setStage(stage);
        await sleep(56 + ((i * 24) % 49));
        await Promise.all(cluster.slots().map((s) => cluster.kill(s)));
        await Promise.all([0, 1, 2].map((s) => cluster.start(s)));
        await sleep(500);
      }
      const result = await conclude('regression: restart storm', dbs, cluster);
      expect(result.details).toEqual([]);
      expect(result).toMatchObject({
        lost: 0,
        differences: 0,
        verifyClean: true,
        outbox: { mysql: 0, postgres: 0 },
        stage: 'pg-primary',
      });
      expect(result.acknowledged).toBeGreaterThan(20);
    } finally {
      await cluster.close();
    }
  });

  it('coordinate: process with several instances never lets both sides hand out ids', async () => {
    await createFaultTables(dbs);
    const open = (): ReturnType<typeof createDualWrite> =>
      createDualWrite({
        // A long bound: on a loaded machine the drain of `b`'s last MySQL writes can take seconds.
        config: faultConfig(dbs, { stage: 'shadow', flip: { quietWindowMs: 0, maxPauseMs: 15_000 } }),
        logger: createSilentLogger(),
        env: {},
      });
    const [a, b] = await Promise.all([open(), open()]);
    const writes: LedgerWrite[] = [];
    let stop = false;
    const writer = async (db: typeof a, name: string): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const w: LedgerWrite = {
          token: `${name}-${n}`,
          kind: 'insert',
          key: 0,
          begin: performance.now(),
          end: Infinity,
          acked: false,
          id: '',
        };
        writes.push(w);
        try {
          const [id] = (await db('events').insert({ payload: w.token })) as number[];
          Object.assign(w, { id: String(id), end: performance.now(), acked: true });
        } catch (error) {
          w.error = (error as Error).message;
        }
      }
    };
    try {
      const running = [writer(a, 'a'), writer(b, 'b')];
      await sleep(300);
      // Only `a` flips: `b` never hears of it but through its database.
      await a.dualwrite.flip('pg-primary');
      const flippedAt = performance.now();
      // `b` goes on writing until it has been acknowledged ten times after the flip (bounded).
      const afterFlip = (): number =>
        writes.filter((w) => w.token.startsWith('b') && w.acked && w.begin > flippedAt).length;
      for (let i = 0; i < 60 && afterFlip() < 10; i++) await sleep(250);
      stop = true;
      await Promise.all(running);
      expect(b.dualwrite.stage).toBe('pg-primary');
      await a.dualwrite.worker?.drain({ timeoutMs: 10_000 });
      await b.dualwrite.worker?.drain({ timeoutMs: 10_000 });
      const verdict = await judge(writes, { mysql: dbs.mysql, pg: dbs.pg }, 'postgres');
      expect(verdict.details).toEqual([]);
      expect(verdict).toMatchObject({ lost: 0, differences: 0, failed: 0 });
      expect(afterFlip()).toBeGreaterThanOrEqual(10);
    } finally {
      stop = true;
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });
});
