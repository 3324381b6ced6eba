import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { useFreshDatabases } from '../support/databases.js';

const BIN = fileURLToPath(new URL('../../bin/dualwrite.js', import.meta.url));
const run = promisify(execFile);
const dbs = useFreshDatabases('dwschemacli');

async function cli(...args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { stdout, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; code: number };
    return { stdout: e.stdout, code: e.code };
  }
}

beforeAll(async () => {
  await dbs.mysql.raw(`CREATE TABLE accounts (
    id VARCHAR(36) PRIMARY KEY, name VARCHAR(255), is_active BOOLEAN DEFAULT 1,
    updated_at DATETIME NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)`);
  await dbs.mysql.raw('CREATE VIEW active_accounts AS SELECT id FROM accounts WHERE is_active');
});

describe('dualwrite schema', () => {
  it('prints runnable DDL followed by the report as SQL comments', async () => {
    const { stdout, code } = await cli('schema', '--from', dbs.mysqlUrl);
    expect(code).toBe(0);
    expect(stdout).toContain('CREATE TABLE "accounts"');
    expect(stdout).toMatch(/^-- .*is_active.*tinyint\(1\).*boolean/m);
    expect(stdout).toContain('-- not converted: view active_accounts');
  });

  it('writes --out, applies with --to --apply and prints the report with --json', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dwschema-')), 'schema.sql');
    const { stdout, code } = await cli(
      'schema',
      '--from',
      dbs.mysqlUrl,
      '--to',
      dbs.pgUrl,
      '--apply',
      '--out',
      out,
      '--json',
    );
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as {
      applied: string;
      report: { tables: { columns: { column: string; to: string }[] }[] };
    };
    expect(json.applied).toContain('***');
    expect(json.report.tables[0]?.columns.map((c) => `${c.column}:${c.to}`)).toEqual([
      'id:uuid',
      'name:varchar(255)',
      'is_active:boolean',
      'updated_at:timestamp(0)',
    ]);
    expect(readFileSync(out, 'utf8')).toContain('CREATE TRIGGER');
    expect(await dbs.pg.schema.hasTable('accounts')).toBe(true);
  });

  it('exits 2 with one line when the MySQL server cannot be reached', async () => {
    const { code } = await cli('schema', '--from', 'mysql://root:x@127.0.0.1:1/nope');
    expect(code).toBe(2);
  });
});
