import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDualWrite } from '../../lib/handle/create.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { useFreshDatabases } from '../support/databases.js';
import { cliEnv } from '../support/cli.js';
import { createWidgets } from '../support/dualwrite.js';

const run = promisify(execFile);
const dbs = useFreshDatabases('dwwatch');
const dir = mkdtempSync(join(tmpdir(), 'dwwatch-'));
const file = join(dir, 'dualwrite.yaml');
const auditLog = join(dir, 'audit.jsonl');
const logLines: Record<string, unknown>[] = [];
let db: DualWriteDb;

function yamlFor(stage: string): string {
  return [
    '# operators flip by editing this value',
    `stage: ${stage}`,
    `mysql: { url: '${dbs.mysqlUrl}' }`,
    `postgres: { url: '${dbs.pgUrl}' }`,
    `auditLog: '${auditLog}'`,
    '',
  ].join('\n');
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  await createWidgets(dbs);
  writeFileSync(file, yamlFor('mysql-only'));
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  db = await createDualWrite({
    configFile: file,
    logger: pino({ level: 'info' }, sink),
    syncWorker: false,
    env: {},
  });
});

afterAll(async () => {
  await db.destroy();
});

describe('hot reload of the config file', () => {
  it('applies a stage edit without a restart and writes an audit line', async () => {
    writeFileSync(file, yamlFor('dual-write'));
    await until(() => db.dualwrite.stage === 'dual-write');
    const audit = readFileSync(auditLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.at(-1)).toMatchObject({ from: 'mysql-only', to: 'dual-write', source: `config:${file}` });
    // Writes are captured from now on.
    await db('widgets').insert({ id: 1, name: 'after reload' });
    expect(await dbs.mysql('dualwrite_outbox').count({ n: '*' })).toEqual([{ n: '1' }]);
  });

  it('keeps the previous stage when the file becomes invalid, and logs why', async () => {
    writeFileSync(file, 'stage: [unclosed\n  mysql: {');
    await until(() => logLines.some((l) => String(l['msg']).includes('config reload rejected')));
    writeFileSync(file, yamlFor('no-such-stage'));
    await until(
      () => logLines.filter((l) => String(l['msg']).includes('config reload rejected')).length >= 2,
    );
    expect(db.dualwrite.stage).toBe('dual-write');
    expect(db.dualwrite.config.stage).toBe('dual-write');
    const rejected = logLines.filter((l) => String(l['msg']).includes('config reload rejected'));
    expect(String(rejected.at(-1)?.['reason'])).toMatch(/stage/);
    // A valid file is picked up again afterwards.
    writeFileSync(file, yamlFor('shadow'));
    await until(() => db.dualwrite.stage === 'shadow');
  });

  it('dualwrite stage prints the stage, refuses an unsafe flip and writes a forced one into the file', async () => {
    const env = cliEnv();
    const shown = await run('./bin/dualwrite.js', ['stage', '--config', file], { env });
    expect(shown.stdout.trim()).toBe('shadow');
    const refused = await run('./bin/dualwrite.js', ['stage', 'pg-primary', '--config', file], { env }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect((refused as { code: number }).code).toBe(1);
    expect((refused as { stdout: string }).stdout).toMatch(/refused[\s\S]*backfill incomplete/);
    expect(readFileSync(file, 'utf8')).toMatch(/^stage: shadow$/m);
    await dbs.mysql('dualwrite_outbox').del();
    await run('./bin/dualwrite.js', ['stage', 'pg-primary', '--force', '--config', file], { env });
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^stage: pg-primary$/m);
    expect(text).toMatch(/^# operators flip by editing this value$/m);
    // The running handle flips through the fence, authorised by the operator's --force.
    await until(() => db.dualwrite.stage === 'pg-primary');
    const status = await run('./bin/dualwrite.js', ['status', '--json', '--config', file], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({
      stage: 'pg-primary',
      authoritative: 'postgres',
      backlog: 0,
      quarantined: 0,
    });
  });
});
