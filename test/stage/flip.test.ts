import { readFileSync, rmSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { writeState } from '../../lib/report/state.js';
import { FlipRefusedError } from '../../lib/stage/flip.js';
import { StateName } from '../../lib/stage/state.js';
import { useFreshDatabases } from '../support/databases.js';
import { createWidgets, openHandle } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwflip');
let db: DualWriteDb | undefined;
const audit = (): string => `reports/test-audit-${dbs.name}.jsonl`;

beforeAll(async () => {
  await createWidgets(dbs);
});

beforeEach(async () => {
  for (const k of [dbs.mysql, dbs.pg]) {
    await k('widgets').del();
    await k('dualwrite_outbox').del();
  }
  await dbs.pg('dualwrite_state').del();
  await dbs.pg('dualwrite_quarantine').del();
  rmSync(audit(), { force: true });
});

afterEach(async () => {
  await db?.destroy();
  db = undefined;
});

async function markSafe(): Promise<void> {
  await writeState(dbs.pg, `${StateName.backfillPrefix}widgets`, { done: true });
  await writeState(dbs.pg, `${StateName.backfillPrefix}pairs`, { done: true });
  await writeState(dbs.pg, StateName.lastVerify, { at: new Date().toISOString(), clean: true });
}

describe('flip fence', () => {
  it('refuses a flip to PostgreSQL without backfill and verification, naming every reason', async () => {
    db = await openHandle(dbs, 'shadow', { syncWorker: true });
    const error = (await db.dualwrite.flip('pg-primary').catch((e: unknown) => e)) as FlipRefusedError;
    expect(error).toBeInstanceOf(FlipRefusedError);
    expect(error.code).toBe('DW_FLIP_REFUSED');
    expect(error.reasons.join('\n')).toMatch(/backfill incomplete for: .*widgets/);
    expect(error.reasons.join('\n')).toMatch(/no clean verification/);
    expect(db.dualwrite.stage).toBe('shadow');
  });

  it('refuses on a recent quarantine entry or mismatch, and on a backlog above flip.maxBacklog', async () => {
    await markSafe();
    db = await openHandle(dbs, 'dual-write', { config: { flip: { maxBacklog: 2 } } });
    await dbs.pg('dualwrite_quarantine').insert({
      table_name: 'widgets',
      pk: '[1]',
      direction: 'mysql->postgres',
      code: 'nul_byte',
      reason: 'NUL byte',
    });
    await writeState(dbs.pg, StateName.lastMismatch, { at: new Date().toISOString(), table: 'widgets' });
    for (let i = 0; i < 3; i++) await db('widgets').insert({ name: `n${i}` });
    const error = (await db.dualwrite.flip('pg-primary').catch((e: unknown) => e)) as FlipRefusedError;
    const text = error.reasons.join('\n');
    expect(text).toMatch(/quarantined on their way to postgres/);
    expect(text).toMatch(/mismatch/);
    expect(text).toMatch(/backlog 3 is above flip.maxBacklog 2/);
  });

  it('holds writes, drains, switches and releases; the pause is measured, audited and emitted', async () => {
    await markSafe();
    db = await openHandle(dbs, 'shadow', { syncWorker: true });
    const changes: unknown[] = [];
    db.dualwrite.events.on('stageChanged', (c) => changes.push(c));
    const handle = db;
    let stop = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) {
        await handle('widgets').insert({ name: `w${n++}` });
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    const change = await db.dualwrite.flip('pg-primary');
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await writer;
    expect(change.pauseMs).toBeGreaterThan(0);
    expect(change.pauseMs).toBeLessThan(5000);
    expect(db.dualwrite.stage).toBe('pg-primary');
    await db.dualwrite.worker?.drain({ timeoutMs: 10_000 });
    const names = async (k: typeof dbs.mysql) => (await k('widgets').orderBy('id').pluck('name')) as string[];
    expect((await names(dbs.mysql)).length).toBe(n);
    expect(await names(dbs.pg)).toEqual(await names(dbs.mysql));
    const lines = readFileSync(audit(), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ from: 'shadow', to: 'pg-primary', source: 'api', forced: false });
    expect(typeof lines[0]?.['pauseMs']).toBe('number');
    expect(changes).toEqual([expect.objectContaining({ from: 'shadow', to: 'pg-primary', source: 'api' })]);
    const metrics = await db.dualwrite.metrics.metrics();
    expect(metrics).toMatch(/^dualwrite_flip_pause_seconds_count 1$/m);
    expect(metrics).toMatch(/^dualwrite_stage\{stage="pg-primary"\} 1$/m);
    expect(metrics).toMatch(/^dualwrite_stage\{stage="shadow"\} 0$/m);
  });

  it('rolls back to MySQL without losing what was written while PostgreSQL was authoritative', async () => {
    await markSafe();
    db = await openHandle(dbs, 'pg-primary', { syncWorker: true });
    const [id] = (await db('widgets').insert({ name: 'written on pg', active: 0 })) as number[];
    await db('widgets').where({ id }).update({ qty: 4 });
    // A key quarantined on its way to PostgreSQL does not make MySQL unsafe to lead again.
    await dbs.pg('dualwrite_quarantine').insert({
      table_name: 'widgets',
      pk: '[999]',
      direction: 'mysql->postgres',
      code: 'nul_byte',
      reason: 'NUL byte',
    });
    const change = await db.dualwrite.setStage('shadow', { source: 'test' });
    expect(change.pauseMs).not.toBeNull();
    expect(await dbs.mysql('widgets').where({ id }).first()).toEqual({
      id,
      name: 'written on pg',
      active: false,
      qty: 4,
    });
    // New writes go to MySQL now.
    await db('widgets').where({ id }).update({ qty: 5 });
    expect(await dbs.mysql('widgets').where({ id }).first()).toMatchObject({ qty: 5 });
  });

  it('changes stages that keep the authoritative side without a fence; a forced flip passes the checks', async () => {
    db = await openHandle(dbs, 'dual-write');
    const same = await db.dualwrite.setStage('shadow');
    expect(same.pauseMs).toBeNull();
    const forced = await db.dualwrite.flip('pg-primary', { force: true });
    expect(forced.forced).toBe(true);
    expect(db.dualwrite.stage).toBe('pg-primary');
    const lines = readFileSync(audit(), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { to: string }).to)).toEqual(['shadow', 'pg-primary']);
  });
});
