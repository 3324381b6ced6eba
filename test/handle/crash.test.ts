import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initMetaTables } from '../../lib/meta/init.js';
import { useFreshDatabases } from '../support/databases.js';
import { openHandle } from '../support/dualwrite.js';

const dbs = useFreshDatabases('dwhcrash');
const child = fileURLToPath(new URL('./support/crash-child.ts', import.meta.url));

beforeAll(async () => {
  await dbs.mysql.raw('CREATE TABLE ledger (id INT NOT NULL PRIMARY KEY, v INT NOT NULL)');
  await dbs.pg.raw('CREATE TABLE ledger (id integer PRIMARY KEY, v integer NOT NULL)');
  await initMetaTables(dbs.mysql, dbs.pg);
});

/** Runs the child until it acknowledged `minAcks` writes, SIGKILLs it, returns the last ack per id. */
function runAndKill(seed: number, minAcks: number, workerMode: string): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', child, dbs.mysqlUrl, dbs.pgUrl, String(seed), workerMode],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const last = new Map<number, string>();
    let acks = 0;
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child acknowledged only ${acks} writes in time: ${stderr}`));
    }, 40_000);
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const [, id, v] = line.split(' ');
        last.set(Number(id), v ?? '');
        acks++;
      }
      if (acks >= minAcks && !proc.killed) proc.kill('SIGKILL');
    });
    proc.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`child exited on its own: ${stderr}`));
    });
  });
}

describe('crash of an app process writing through the handle', () => {
  it.each([
    [3, 'worker'],
    [8, 'none'],
  ])(
    'seed %i, sync worker %s: SIGKILL mid-traffic, a new process drains the outbox, both sides equal',
    async (seed, mode) => {
      const acked = await runAndKill(seed, 120, mode);
      expect(acked.size).toBeGreaterThan(0);
      const outbox = (await dbs.mysql('dualwrite_outbox').count({ n: '*' })) as { n: string }[];
      if (mode === 'none') expect(Number(outbox[0]?.n)).toBeGreaterThanOrEqual(120);
      const db = await openHandle(dbs, 'dual-write', { syncWorker: true });
      try {
        await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
      } finally {
        await db.destroy();
      }
      const mysqlRows = (await dbs.mysql('ledger').orderBy('id')) as { id: number; v: number }[];
      expect(await dbs.pg('ledger').orderBy('id')).toEqual(mysqlRows);
      // Every acknowledged delete is gone from MySQL unless a later write (possibly killed mid-way
      // after its commit) brought the key back; every acknowledged upsert's row exists.
      const present = new Set(mysqlRows.map((r) => r.id));
      const upserted = [...acked].filter(([, v]) => v !== 'del').map(([id]) => id);
      for (const id of upserted) expect(present.has(id)).toBe(true);
      expect(await dbs.mysql('dualwrite_outbox').count({ n: '*' })).toEqual([{ n: '0' }]);
    },
  );
});
