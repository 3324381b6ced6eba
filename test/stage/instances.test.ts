import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDualWrite } from '../../lib/handle/create.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { writeState } from '../../lib/report/state.js';
import { FlipRefusedError } from '../../lib/stage/flip.js';
import { InstanceRegistry } from '../../lib/stage/instances.js';
import { StateName } from '../../lib/stage/state.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwinstances');
const dir = mkdtempSync(join(tmpdir(), 'dwinstances-'));
const coordinated = { flip: { coordinate: 'instances' as const, heartbeatMs: 100, maxPauseMs: 1500 } };
let handles: DualWriteDb[] = [];

beforeAll(async () => {
  await createWidgets(dbs);
  await writeState(dbs.pg, `${StateName.backfillPrefix}widgets`, { done: true });
  await writeState(dbs.pg, StateName.lastVerify, { at: new Date().toISOString(), clean: true });
});

afterEach(async () => {
  await Promise.all(handles.map((h) => h.destroy()));
  handles = [];
  await dbs.pg('dualwrite_state').where('name', 'like', 'instance.%').delete();
});

async function instance(): Promise<DualWriteDb> {
  const db = await openHandle(dbs, 'shadow', { syncWorker: true, config: coordinated });
  handles.push(db);
  return db;
}

async function until(check: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('flips coordinated across instances (flip.coordinate: instances)', () => {
  it('refuses a flip while another live instance still writes the old side; flips when both hold', async () => {
    const [a, b] = [await instance(), await instance()];
    const listed = (await a.dualwrite.status()).instances ?? [];
    expect(listed.map((i) => [i.stage, i.holdingFor, i.pid])).toEqual([
      ['shadow', null, process.pid],
      ['shadow', null, process.pid],
    ]);
    const refused = (await a.dualwrite.flip('pg-primary').catch((e: unknown) => e)) as FlipRefusedError;
    expect(refused).toBeInstanceOf(FlipRefusedError);
    expect(refused.reasons.join('\n')).toMatch(
      /did not hold their writes within 1500 ms: .*pid \d+, shadow\)/,
    );
    expect(a.dualwrite.stage).toBe('shadow');
    // Writes go on after the refusal, on the old side.
    await a('widgets').insert({ id: 1, name: 'after refusal' });
    expect(await dbs.mysql('widgets').where({ id: 1 }).first()).toBeDefined();

    const both = await Promise.all([a.dualwrite.flip('pg-primary'), b.dualwrite.flip('pg-primary')]);
    expect(both.map((c) => c.to)).toEqual(['pg-primary', 'pg-primary']);
    expect(both.every((c) => c.pauseMs !== null)).toBe(true);
    const back = await Promise.all([a.dualwrite.flip('shadow'), b.dualwrite.flip('shadow')]);
    expect(back.map((c) => c.to)).toEqual(['shadow', 'shadow']);
  });

  it('does not wait for an instance that was closed or whose heartbeat went stale', async () => {
    const [a, b] = [await instance(), await instance()];
    await b.destroy();
    handles = [a];
    await writeState(dbs.pg, 'instance.crashed', { stage: 'shadow', holdingFor: null, host: 'h', pid: 1 });
    await dbs
      .pg('dualwrite_state')
      .where('name', 'instance.crashed')
      .update({ updated_at: dbs.pg.raw(`now() - interval '10 seconds'`) });
    expect((await a.dualwrite.flip('pg-primary')).to).toBe('pg-primary');
  });

  it('makes every instance of a fence follow the first decision recorded after it began holding', async () => {
    const registry = (): InstanceRegistry =>
      new InstanceRegistry({
        pg: dbs.pg,
        stage: () => 'shadow',
        heartbeatMs: 100,
        logger: createSilentLogger(),
      });
    const [r1, r2] = [registry(), registry()];
    await r1.holding('pg-primary');
    await r2.holding('pg-primary');
    expect(await r1.decide('shadow', 'pg-primary', 'commit')).toBe('commit');
    // r2 waited in vain, but r1 already switched on the recorded commit: r2 follows it.
    expect(await r2.decide('shadow', 'pg-primary', 'abort')).toBe('commit');
    // A later fence (holding began after that decision) records its own.
    const r3 = registry();
    await r3.holding('pg-primary');
    expect(await r3.decide('shadow', 'pg-primary', 'abort')).toBe('abort');
    expect(await r1.decide('shadow', 'pg-primary', 'commit')).toBe('abort');
    for (const r of [r1, r2, r3]) await r.stop();
  });

  it('loses no write of two instances writing through a flip driven by their shared config file', async () => {
    const file = join(dir, 'dualwrite.yaml');
    const yaml = (stage: string): string =>
      [
        `stage: ${stage}`,
        `mysql: { url: '${dbs.mysqlUrl}', poolMax: 4 }`,
        `postgres: { url: '${dbs.pgUrl}', poolMax: 4 }`,
        `flip: { coordinate: instances, heartbeatMs: 100, maxPauseMs: 3000 }`,
        `auditLog: '${join(dir, 'audit.jsonl')}'`,
        '',
      ].join('\n');
    writeFileSync(file, yaml('shadow'));
    const open = (): Promise<DualWriteDb> =>
      createDualWrite({ configFile: file, logger: createSilentLogger(), env: {} });
    handles = [await open(), await open()];
    const ledger = new Map<number, number>();
    let stop = false;
    const writers = handles.map(async (db, w) => {
      for (let i = 0; !stop; i++) {
        const id = 1000 + w * 100 + (i % 20);
        await db('widgets')
          .insert({ id, name: `w${id}`, qty: i })
          .onConflict('id')
          .merge(['qty']);
        ledger.set(id, i);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(file, yaml('pg-primary'));
    await until(() => handles.every((h) => h.dualwrite.stage === 'pg-primary'));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(writers);
    for (const h of handles) await h.dualwrite.worker?.drain({ timeoutMs: 10_000 });
    for (const knex of [dbs.mysql, dbs.pg]) {
      const rows = (await knex('widgets').where('id', '>=', 1000).select('id', 'qty')) as {
        id: number;
        qty: number;
      }[];
      const have = new Map(rows.map((r) => [r.id, r.qty]));
      const lost = [...ledger].filter(([id, qty]) => have.get(id) !== qty);
      expect(lost).toEqual([]);
    }
  });
});
