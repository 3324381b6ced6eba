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
  // No primary key: one keyed by a NOT NULL unique key, one nothing identifies.
  await dbs.mysql.raw(
    'CREATE TABLE visits (org VARCHAR(20) NOT NULL, n INT NOT NULL, note TEXT, UNIQUE KEY uq_visit (org, n))',
  );
  await dbs.mysql.raw('CREATE TABLE events_log (at DATETIME NULL, msg TEXT NULL, UNIQUE KEY (at))');
});

describe('dualwrite schema', () => {
  it('prints runnable DDL followed by the report as SQL comments', async () => {
    const { stdout, code } = await cli('schema', '--from', dbs.mysqlUrl);
    expect(code).toBe(0);
    expect(stdout).toContain('CREATE TABLE "accounts"');
    expect(stdout).toMatch(/^-- .*is_active.*tinyint\(1\).*boolean/m);
    expect(stdout).toContain('-- not converted: view active_accounts');
  });

  it('lists the tables no key identifies first, with both remedies, then the key of every table', async () => {
    const { stdout, code } = await cli('schema', '--from', dbs.mysqlUrl);
    expect(code).toBe(0);
    const report = stdout.slice(stdout.indexOf('-- 1 table(s) without a usable key'));
    expect(report).toMatch(
      /^-- 1 table\(s\) without a usable key \(refused by sync, backfill and verify\):\n-- {3}table events_log has no primary key and no NOT NULL unique key: .*Add a primary key .*tables\.events_log\.key: \[columns\].*tables\.events_log\.exclude: true/,
    );
    expect(report).toMatch(/^-- .*accounts .*primary key \(id\)/m);
    expect(report).toMatch(/^-- .*visits .*unique key uq_visit \(org, n\)/m);
    expect(report).toMatch(/^-- .*events_log .*nothing: refused/m);
    // The rows come before any column of the report.
    expect(report.indexOf('events_log')).toBeLessThan(report.indexOf('is_active'));
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
