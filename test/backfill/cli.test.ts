import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useFreshDatabases } from '../support/databases.js';
import { dumpRows, insertMany } from './support.js';

const dbs = useFreshDatabases('dwbfcli');
const BIN = fileURLToPath(new URL('../../bin/dualwrite.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, MYSQL_URL: dbs.mysqlUrl, PG_URL: dbs.pgUrl, DUALWRITE_STAGE: 'dual-write' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('dualwrite backfill (CLI)', () => {
  it('copies the tables, prints JSON progress lines when piped, and refuses a keyless table', async () => {
    for (const db of [dbs.mysql, dbs.pg]) {
      await db.schema.createTable('widgets', (t) => {
        t.string('code', 36).primary();
        t.integer('qty').notNullable();
        t.boolean('active').notNullable();
      });
      await db.schema.createTable('loose', (t) => t.integer('v'));
    }
    await insertMany(
      dbs.mysql,
      'widgets',
      Array.from({ length: 2500 }, (_, i) => ({
        code: `w-${String(i).padStart(5, '0')}`,
        qty: i,
        active: i % 2 === 0,
      })),
    );
    await dbs.mysql('loose').insert({ v: 1 });

    const first = await run(['backfill', '--batch', '1000', '--tables', 'widgets,loose']);
    expect(first.stderr).toMatch(/loose has no primary key/);
    expect(first.code).toBe(1);
    const lines = first.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; type: string; table: string; rowsDone?: number });
    expect(lines.find((l) => l.type === 'tableStart' && l.table === 'widgets')).toBeDefined();
    expect(lines.find((l) => l.type === 'tableDone' && l.table === 'widgets')).toMatchObject({
      rowsDone: 2500,
    });
    expect(lines.find((l) => l.type === 'tableSkipped' && l.table === 'loose')).toBeDefined();
    expect(first.stdout).toMatch(/2500 rows in/);
    expect(await dumpRows(dbs.pg, 'widgets', ['code', 'qty', 'active'], ['code'])).toEqual(
      await dumpRows(dbs.mysql, 'widgets', ['code', 'qty', 'active'], ['code']),
    );

    // Run again: the finished table is skipped; --json prints the result.
    const again = await run(['backfill', '--tables', 'widgets', '--json', '--no-progress']);
    expect(again.code).toBe(0);
    const result = JSON.parse(again.stdout) as { ok: boolean; tables: { table: string; status: string }[] };
    expect(result.tables).toEqual([expect.objectContaining({ table: 'widgets', status: 'skipped' })]);

    const bad = await run(['backfill', '--batch', 'zero']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--batch must be an integer/);
  });
});
