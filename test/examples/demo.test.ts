import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../examples/genascope/demo/summary.js';
import { uniqueDatabaseName } from '../support/databases.js';

const reportsDir = mkdtempSync(join(tmpdir(), 'dualwrite-demo-'));

afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'demo', '--', ...args], {
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a timeout stops npm, tsx and the demo together
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGTERM'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm run demo -- --quick (end to end)', () => {
  it('walks the migration under traffic, exits 0 and loses no write', { timeout: 260_000 }, async () => {
    const database = uniqueDatabaseName('dwdemo');
    const { code, output } = await runDemo(['--quick', '--database', database, '--reports', reportsDir]);
    expect(code, output).toBe(0);

    const summary = JSON.parse(readFileSync(join(reportsDir, 'demo-summary.json'), 'utf8')) as DemoSummary;
    expect(summary.ok).toBe(true);
    expect(summary.exitCode).toBe(0);
    expect(summary.quick).toBe(true);
    expect(summary.runtimeSeconds).toBeLessThan(120);
    expect(summary.seedRows).toBeGreaterThan(1000);
    expect(summary.traffic?.errors).toBe(0);
    expect(summary.traffic?.acknowledgedWrites).toBeGreaterThan(50);
    expect(summary.lostWrites).toEqual({ mysql: 0, postgres: 0, samples: [] });

    // The final verification ran over every table and found nothing different.
    expect(summary.verification.differences).toBe(0);
    expect(summary.verification.tables).toBe(16);
    expect(summary.verification.rowsCompared).toBeGreaterThanOrEqual(summary.seedRows);

    // A row changed in PostgreSQL behind dualwrite's back is found by verify and fixed by repair.
    expect(summary.repair).toEqual({ planted: 1, found: 1, repaired: 1 });

    // The walk: every stage change went through the config file, the flips held writes briefly.
    expect(summary.flips.map((f) => f.to)).toEqual([
      'dual-write',
      'shadow',
      'pg-primary',
      'shadow',
      'pg-primary',
    ]);
    for (const flip of summary.flips.filter((f) => f.to === 'pg-primary' || f.from === 'pg-primary')) {
      expect(flip.pauseMs).not.toBeNull();
      expect(flip.pauseMs!).toBeLessThan(5000);
    }
    expect(summary.shadow?.checks).toBeGreaterThan(0);
    expect(summary.shadow?.mismatches).toBe(0);

    // A request through the example API answers the same JSON in pg-primary as in mysql-only.
    expect(summary.probe?.path).toMatch(/^\/patients\//);
    expect(summary.probe?.pgPrimary).toEqual(summary.probe?.mysqlOnly);
    expect(summary.sameJsonAcrossStages).toBe(true);

    // The operator's artefacts: the edited config file, one audit line per stage change, the HTML report.
    const audit = readFileSync(summary.reports['audit']!, 'utf8').trim().split('\n');
    expect(audit.map((l) => (JSON.parse(l) as { to: string }).to)).toEqual(summary.flips.map((f) => f.to));
    expect(readFileSync(summary.reports['config']!, 'utf8')).toMatch(/^stage: pg-primary$/m);
    expect(readFileSync(summary.reports['html']!, 'utf8')).toContain('<html');

    expect(output).toContain('demo finished');
    expect(output).toContain('Flip to PostgreSQL again');
  });
});
