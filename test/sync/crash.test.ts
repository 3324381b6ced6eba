import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { META_TABLES } from '../../lib/meta/tables.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import { useFreshDatabases } from '../support/databases.js';
import { createSyncTables, rowsOf } from './support/fixtures.js';
import type { TranslatorSet } from '../../lib/translate/types.js';

let translators: TranslatorSet;
const dbs = useFreshDatabases('dwcrash');
const child = fileURLToPath(new URL('./support/crash-child.ts', import.meta.url));

beforeAll(async () => {
  translators = await createSyncTables(dbs);
});

/** Runs the child until it reports `minWrites`, then SIGKILLs it; resolves with what it last reported. */
function runAndKill(seed: number, minWrites: number): Promise<{ writes: number; synced: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dbs.mysqlUrl, dbs.pgUrl, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let reported = 0;
    let synced = 0;
    let stderr = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child made only ${reported} writes in time: ${stderr}`));
    }, 30_000);
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/writes (\d+) synced (\d+)/g)) {
        reported = Number(m[1]);
        synced = Number(m[2]);
      }
      if (reported >= minWrites && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
    proc.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve({ writes: reported, synced });
      else reject(new Error(`child exited on its own (${String(signal)}): ${stderr}`));
    });
  });
}

/** What the restarted app does: a fresh worker drains whatever the dead processes left. */
async function drainWithNewWorker(): Promise<SyncWorker> {
  const worker = new SyncWorker({
    mysql: dbs.mysql,
    pg: dbs.pg,
    syncer: new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators }),
    authoritative: () => 'mysql',
  });
  try {
    await worker.drain({ timeoutMs: 20_000 });
  } finally {
    await worker.close();
  }
  return worker;
}

describe('crash of the app process', () => {
  it('SIGKILL mid-traffic loses no key: a new worker drains the outbox and the sides are equal', async () => {
    const { writes } = await runAndKill(1, 250);
    expect(writes).toBeGreaterThanOrEqual(250);
    const left = Number(((await dbs.mysql(META_TABLES.outbox).count({ n: '*' }).first()) as { n: string }).n);
    const worker = await drainWithNewWorker();
    expect(left).toBeGreaterThan(0);
    expect(worker.lagStats().count).toBe(left);
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
  });

  it('two app processes share one outbox (both drain it), both are killed; a new worker drains; equal', async () => {
    const [a, b] = await Promise.all([runAndKill(3, 250), runAndKill(4, 250)]);
    expect(a.synced).toBeGreaterThan(0);
    expect(b.synced).toBeGreaterThan(0);
    await drainWithNewWorker();
    expect(await rowsOf(dbs.pg, 'items')).toEqual(await rowsOf(dbs.mysql, 'items'));
  });
});
