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

/** The terminal summary of `dualwrite report`. */
export function formatSummary(s: ReportSummary): string {
  const lines: string[] = [];
  lines.push(
    `Shadow mismatches: ${s.totalMismatches}${s.lastAt ? ` (first ${s.firstAt}, last ${s.lastAt})` : ''}`,
  );
  if (s.byColumn.length > 0) {
    const t = new Table({ head: ['table', 'column', 'mismatches'] });
    for (const c of s.byColumn.slice(0, 15)) t.push([c.table, c.column, c.count]);
    lines.push(t.toString());
  }
  if (s.latency.length > 0) {
    const t = new Table({
      head: ['query shape', 'reads', 'mysql p50', 'pg p50', 'mysql p99', 'pg p99', 'pg/mysql'],
    });
    for (const l of s.latency.slice(0, 15)) {
      t.push([
        `${l.fingerprint} ${l.shape.slice(0, 50)}`,
        (l.mysql?.count ?? 0) + (l.postgres?.count ?? 0),
        l.mysql?.p50.toFixed(2) ?? '-',
        l.postgres?.p50.toFixed(2) ?? '-',
        l.mysql?.p99.toFixed(2) ?? '-',
        l.postgres?.p99.toFixed(2) ?? '-',
        l.p50Ratio?.toFixed(2) ?? '-',
      ]);
    }
    lines.push('Latency per query shape (ms):', t.toString());
  }
  const v = s.verification;
  lines.push(
    v
      ? `Last verification: ${v.at} ${v.clean ? 'clean' : 'DIFFERENCES'} (${v.tables.length} tables)`
      : 'Last verification: none',
  );
  return lines.join('\n');
}
