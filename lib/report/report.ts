import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { DualWriteConfig } from '../config/schema.js';
import { loadReportData, summarize, type ReportSummary } from './data.js';
import { renderHtml } from './html.js';

export interface WriteReportOptions {
  config: Readonly<DualWriteConfig>;
  /** Path of the HTML page. @default `<config.verify.reportDir>/report.html` */
  out?: string;
  /** Mismatch examples shown. @default 20 */
  examples?: number;
}

/** Reads the mismatch log, latency snapshot and last verification, and writes the HTML page. */
export async function writeReport(
  options: WriteReportOptions,
): Promise<{ file: string; summary: ReportSummary }> {
  const data = await loadReportData(options.config);
  const summary = summarize(data, { examples: options.examples ?? 20 });
  const file = options.out ?? join(options.config.verify.reportDir, 'report.html');
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, renderHtml(summary));
  return { file, summary };
}

const range = (l: { p25: number; p75: number } | null | undefined): string =>
  l && l.p25 !== undefined ? `${l.p25.toFixed(2)}–${l.p75.toFixed(2)}` : '-';

/** The terminal summary of `dualwrite report`. */
export function formatSummary(s: ReportSummary): string {
  const lines: string[] = [];
  lines.push(
    `Shadow mismatches (confirmed): ${s.totalMismatches}${s.lastAt ? ` (first ${s.firstAt}, last ${s.lastAt})` : ''}${s.repeated ? `, seen again ${s.repeated} times` : ''}`,
  );
  const reasons = Object.entries(s.dismissed.byReason);
  lines.push(
    `Not counted: ${s.dismissed.total}${reasons.length ? ` (${reasons.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}${s.checks !== null ? ` of ${s.checks} reads compared` : ''}`,
  );
  if (s.byColumn.length > 0) {
    const t = new Table({ head: ['table', 'column', 'mismatches'] });
    for (const c of s.byColumn.slice(0, 15)) t.push([c.table, c.column, c.count]);
    lines.push(t.toString());
  }
  if (s.latency.length > 0) {
    const t = new Table({
      head: [
        'query shape',
        'pairs',
        'mysql p50',
        'pg p50',
        'mysql p25–p75',
        'pg p25–p75',
        'pg/mysql',
        'pair ratio p25–p75',
      ],
    });
    for (const l of s.latency.slice(0, 15)) {
      t.push([
        `${l.fingerprint} ${l.shape.slice(0, 50)}`,
        l.pairs ?? Math.min(l.mysql?.count ?? 0, l.postgres?.count ?? 0),
        l.mysql?.p50.toFixed(2) ?? '-',
        l.postgres?.p50.toFixed(2) ?? '-',
        range(l.mysql),
        range(l.postgres),
        l.p50Ratio?.toFixed(2) ?? '-',
        range(l.ratioSpread),
      ]);
    }
    lines.push(
      'Latency per query shape (ms; both sides timed back to back, alternating which runs first):',
      t.toString(),
    );
  }
  const v = s.verification;
  lines.push(
    v
      ? `Last verification: ${v.at} ${v.clean ? 'clean' : 'DIFFERENCES'} (${v.tables.length} tables)`
      : 'Last verification: none',
  );
  return lines.join('\n');
}
