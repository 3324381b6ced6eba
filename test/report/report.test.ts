import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { appendMismatches, readMismatches } from '../../lib/report/records.js';
import { createRedactor } from '../../lib/report/redact.js';
import { writeReport } from '../../lib/report/report.js';
import { DiffKind } from '../../lib/shadow/compare.js';
import { LatencyBook } from '../../lib/shadow/latency.js';
import { toRecord } from '../../lib/shadow/record.js';
import type { VerifyResult } from '../../lib/verify/verify.js';
import { openBrowser } from './browser.js';

const run = promisify(execFile);
const SECRET = 'Jane Q. Patient';

describe('dualwrite report', () => {
  let dir: string;
  let config: ReturnType<typeof validateConfig>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dw-report-'));
    config = validateConfig({
      mysql: { url: 'mysql://u:p@127.0.0.1:3307/x' },
      postgres: { url: 'postgres://u:p@127.0.0.1:5433/x' },
      shadow: { mismatchLog: join(dir, 'mismatches.jsonl'), latencyFile: join(dir, 'latency.json') },
      verify: { reportDir: dir },
      tables: { patients: { sensitiveColumns: ['full_name'] } },
    });
    const redactor = createRedactor(config);
    const records = [0, 1, 2].map((i) =>
      toRecord(redactor, {
        source: 'shadow',
        table: 'patients',
        diff: {
          kind: DiffKind.Different,
          key: [i + 1],
          columns: [
            { column: 'status', authoritative: 'active', other: 'archived' },
            { column: 'full_name', authoritative: SECRET, other: `${SECRET} Jr` },
          ],
          authoritative: { id: i + 1, status: 'active', full_name: SECRET },
          other: { id: i + 1, status: 'archived', full_name: `${SECRET} Jr` },
        },
        authSide: 'mysql',
        fingerprint: 'abc123def456',
        shape: 'select * from patients where id = ?',
        context: { requestId: `req-${i}`, route: '/patients/:id' },
        rechecked: i === 2,
      }),
    );
    // A difference that went away once the outbox drained: evidence only, never counted.
    const lag = toRecord(redactor, {
      source: 'shadow',
      table: 'patients',
      diff: {
        kind: DiffKind.Different,
        key: [9],
        columns: [{ column: 'status', authoritative: 'archived', other: 'active' }],
        authoritative: { id: 9, status: 'archived' },
        other: { id: 9, status: 'active' },
      },
      authSide: 'mysql',
      fingerprint: 'abc123def456',
      shape: 'select * from patients where id = ?',
      context: null,
      rechecked: true,
      status: 'dismissed',
      reason: 'lag',
      evidence: { method: 'key-reread', reruns: 0, attempts: 1, pendingAtFirst: true },
      differences: 1,
    });
    await appendMismatches(config.shadow.mismatchLog, [...records, lag]);
    const book = new LatencyBook();
    for (let i = 1; i <= 100; i++) {
      book.recordPair('abc123def456', 'select * from patients where id = ?', 'patients', {
        mysql: i / 10,
        postgres: i / 8,
      });
    }
    await writeFile(
      config.shadow.latencyFile,
      JSON.stringify({
        at: new Date().toISOString(),
        shapes: book.snapshot(),
        stats: {
          checks: 500,
          repeated: 4,
          dismissed: { lag: 5, unsettled: 1, 'unordered-limit': 0 },
          skippedBy: { overload: 0, closed: 0, 'non-deterministic': 7 },
        },
      }),
    );
    const verification: VerifyResult = {
      at: '2026-01-02T03:04:05.000Z',
      clean: false,
      stage: 'shadow',
      authoritativeSide: 'mysql',
      durationMs: 1200,
      reportFile: null,
      pending: [],
      tables: [
        {
          table: 'visits',
          rowsCompared: 5000,
          authoritativeRows: 5000,
          otherRows: 4999,
          missing: 1,
          extra: 0,
          malformed: 0,
          pending: 0,
          different: 2,
          chunks: 5,
          differentChunks: 2,
          chunkRows: 1000,
          columns: [{ column: 'id', path: 'database' }],
          orphans: [],
          truncated: false,
          resumed: false,
          repair: null,
          examples: [
            toRecord(createRedactor(config), {
              source: 'verify',
              table: 'visits',
              diff: {
                kind: DiffKind.Missing,
                key: [77],
                columns: [],
                authoritative: { id: 77, reason: 'annual check' },
                other: null,
              },
              authSide: 'mysql',
              fingerprint: null,
              shape: null,
              context: null,
              rechecked: false,
            }),
          ],
          durationMs: 900,
        },
      ],
    };
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'verify-2026-01-02T03-04-05-000Z.json'), JSON.stringify(verification));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps mismatch records as JSON lines with sensitive values hashed', async () => {
    const text = await readFile(config.shadow.mismatchLog, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(4);
    expect(text).not.toContain(SECRET);
    const records = await readMismatches(config.shadow.mismatchLog);
    const name = records[0]?.columns.find((c) => c.column === 'full_name');
    expect(name?.authoritative).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(name?.authoritative).not.toBe(name?.other);
    expect(records[0]?.columns.find((c) => c.column === 'status')).toEqual({
      column: 'status',
      authoritative: 'active',
      other: 'archived',
    });
  });

  it('writes a self-contained HTML page that renders in headless Chromium', async () => {
    const { file, summary } = await writeReport({ config });
    expect(summary.totalMismatches).toBe(3);
    expect(summary.dismissed).toEqual({
      total: 13,
      byReason: { lag: 5, unsettled: 1, 'non-deterministic': 7 },
    });
    expect(summary.examples.every((m) => m.status === 'confirmed')).toBe(true);
    expect(summary.dismissedExamples.map((m) => m.key)).toEqual([[9]]);
    const html = await readFile(file, 'utf8');
    expect(html).not.toContain(SECRET);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/i);

    const browser = await openBrowser();
    try {
      const page = await browser.context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);
      expect(await page.title()).toBe('dualwrite report');
      const byColumn = await page.locator('#by-column').innerText();
      expect(byColumn).toContain('status');
      expect(byColumn).toContain('full_name');
      const examples = await page.locator('#examples').innerText();
      expect(examples).toContain('"active"');
      expect(examples).toContain('"archived"');
      expect(examples).toContain('req-2');
      expect(examples).toContain('re-checked after sync');
      expect(examples).not.toContain(SECRET);
      const dismissed = await page.locator('#dismissed').innerText();
      expect(dismissed).toMatch(/lag\s+5/);
      expect(dismissed).toMatch(/non-deterministic\s+7/);
      expect(dismissed).toContain('dismissed as lag');
      const latency = await page.locator('#latency').innerText();
      expect(latency).toContain('abc123def456');
      expect(latency).toContain('1.25');
      // 100 pairs, with the spread of each side and of the per-pair ratios.
      expect(latency).toMatch(/\b100\b/);
      expect(latency).toContain('2.50–7.50');
      const verification = await page.locator('#verification').innerText();
      expect(verification).toContain('visits');
      expect(verification).toContain('differences found');
      expect(verification).toContain('annual check');
      expect(verification).toContain('(no row)');
      expect(await page.locator('#over-time svg rect').count()).toBeGreaterThan(0);
      expect(requests.every((u) => u.startsWith('file:'))).toBe(true);
    } finally {
      await browser.close();
    }
  });

  it('prints the terminal summary and JSON from the CLI', async () => {
    const configFile = join(dir, 'dualwrite.json');
    await writeFile(
      configFile,
      JSON.stringify({
        mysql: { url: 'mysql://u:p@127.0.0.1:3307/x' },
        postgres: { url: 'postgres://u:p@127.0.0.1:5433/x' },
        shadow: { mismatchLog: config.shadow.mismatchLog, latencyFile: config.shadow.latencyFile },
        verify: { reportDir: dir },
      }),
    );
    const text = await run('./bin/dualwrite.js', ['report', '-c', configFile]);
    expect(text.stdout).toContain('Shadow mismatches (confirmed): 3');
    expect(text.stdout).toContain(
      'Not counted: 13 (lag 5, unsettled 1, non-deterministic 7) of 500 reads compared',
    );
    expect(text.stdout).toContain('Last verification: 2026-01-02T03:04:05.000Z DIFFERENCES');
    const json = await run('./bin/dualwrite.js', ['report', '-c', configFile, '--json']);
    const parsed = JSON.parse(json.stdout) as { totalMismatches: number; byTable: { table: string }[] };
    expect(parsed.totalMismatches).toBe(3);
    expect(parsed.byTable[0]?.table).toBe('patients');
  });
});
