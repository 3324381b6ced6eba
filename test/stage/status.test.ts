import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDualWrite } from '../../lib/handle/create.js';
import { writeStageToFile } from '../../lib/stage/config-file.js';
import { useFreshDatabases } from '../support/databases.js';
import { cliEnv } from '../support/cli.js';
import { createWidgets } from '../support/dualwrite.js';

// `dualwrite status` shows every live instance's stage next to the file's and both outboxes; a stage
// of the file the app could not apply is tried again, loudly, until it agrees.
const run = promisify(execFile);
const dbs = useFreshDatabases('dwstatus');
const dir = mkdtempSync(join(tmpdir(), 'dwstatus-'));
const file = join(dir, 'dualwrite.json');

beforeAll(async () => {
  await createWidgets(dbs);
  writeFileSync(
    file,
    JSON.stringify({
      stage: 'shadow',
      mysql: { url: dbs.mysqlUrl },
      postgres: { url: dbs.pgUrl },
      auditLog: join(dir, 'audit.jsonl'),
      flip: { heartbeatMs: 200, retryIntervalMs: 300 },
    }),
  );
});

describe('status and stage retries', () => {
  it('lists instances against the file, both outboxes with their oldest row, and retries a refused flip', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n'))
            if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      }),
    );
    const db = await createDualWrite({ configFile: file, logger, env: {}, syncWorker: false });
    try {
      await db('widgets').insert({ name: 'waits in the outbox' });
      await new Promise((r) => setTimeout(r, 300));
      const status = await db.dualwrite.status();
      expect(status.outboxes.mysql?.backlog).toBe(1);
      expect(status.outboxes.mysql?.oldestAgeMs).toBeGreaterThan(100);
      expect(status.outboxes.postgres).toEqual({ backlog: 0, oldestAgeMs: 0 });
      expect(status.authority?.mysql).toMatchObject({ state: 'writable', stage: 'shadow' });
      expect(status.instances?.map((i) => i.stage)).toEqual(['shadow']);
      expect(status.disagreements).toEqual([]);

      // No backfill recorded: the flip the file asks for is refused, and tried again.
      writeStageToFile(file, 'pg-primary');
      const deadline = Date.now() + 10_000;
      while (lines.filter((l) => l['msg'] === 'stage still differs from the configuration').length < 2) {
        if (Date.now() > deadline) throw new Error('no retry of the refused flip logged');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(db.dualwrite.stage).toBe('shadow');
      const retried = lines.find((l) => l['msg'] === 'stage still differs from the configuration');
      expect(retried).toMatchObject({ level: 50, wanted: 'pg-primary', inForce: 'shadow' });

      const { stdout } = await run('./bin/dualwrite.js', ['status', '--json', '--config', file], {
        env: cliEnv(),
      });
      const cli = JSON.parse(stdout) as {
        configStage: string;
        stage: string;
        outboxes: Record<string, { backlog: number } | null>;
        disagreements: string[];
      };
      expect(cli).toMatchObject({
        configStage: 'pg-primary',
        stage: 'shadow',
        outboxes: { mysql: { backlog: 1 } },
      });
      expect(cli.disagreements.join('\n')).toMatch(/instance .* is in shadow/);
      expect(cli.disagreements.join('\n')).toMatch(/mysql holds the authoritative role/);
      const table = await run('./bin/dualwrite.js', ['status', '--config', file], { env: cliEnv() });
      expect(table.stdout).toMatch(/WARNING: does not agree with the file \(pg-primary\)/);
    } finally {
      await db.destroy();
    }
  });
});
