import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DualWriteConfig } from '../config/schema.js';
import type { ShapeLatency } from '../shadow/latency.js';
import type { ShadowStats } from '../shadow/reader.js';
import type { VerifyResult } from '../verify/verify.js';
import { isConfirmed, readMismatches, type DismissReason, type MismatchRecord } from './records.js';

/** The shadow reader's counts saved with the latency snapshot. */
export type SavedShadowStats = Omit<ShadowStats, 'latency'>;

/** Everything a report shows, read from the files shadow reads and verification write. */
export interface ReportData {
  generatedAt: string;
  mismatches: MismatchRecord[];
  latency: { at: string; shapes: ShapeLatency[]; stats?: SavedShadowStats } | null;
  verification: VerifyResult | null;
}

export interface ReportSummary {
  generatedAt: string;
  /** Confirmed mismatches (each difference once): what the flip's safety check counts. */
  totalMismatches: number;
  /**
   * Differences not counted, by reason: reads dismissed as lag or unsettled (from the reader's counts,
   * else the examples in the log), and reads not compared because they are non-deterministic.
   */
  dismissed: { total: number; byReason: Partial<Record<DismissReason | 'non-deterministic', number>> };
  /** Reads compared and confirmed differences seen again, from the reader's counts (null: none saved). */
  checks: number | null;
  repeated: number | null;
  /** Examples of dismissed differences, newest first. */
  dismissedExamples: MismatchRecord[];
  firstAt: string | null;
  lastAt: string | null;
  /** Mismatches per time bucket (bucket start ISO), oldest first. */
  overTime: { start: string; count: number }[];
  bucketMs: number;
  byTable: { table: string; count: number }[];
  byColumn: { table: string; column: string; count: number }[];
  /** Most recent mismatches, newest first. */
  examples: MismatchRecord[];
  latency: ShapeLatency[];
  latencyAt: string | null;
  verification: VerifyResult | null;
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The newest `verify-*.json` of the report directory. */
export async function latestVerification(dir: string): Promise<VerifyResult | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const newest = names
    .filter((n) => /^verify-.*\.json$/.test(n))
    .sort()
    .pop();
  return newest ? readJson<VerifyResult>(join(dir, newest)) : null;
}

export async function loadReportData(config: Readonly<DualWriteConfig>): Promise<ReportData> {
  return {
    generatedAt: new Date().toISOString(),
    mismatches: await readMismatches(config.shadow.mismatchLog),
    latency: await readJson(config.shadow.latencyFile),
    verification: await latestVerification(config.verify.reportDir),
  };
}

const BUCKETS = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000];

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const map = new Map<string, number>();
  for (const item of items) map.set(key(item), (map.get(key(item)) ?? 0) + 1);
  return map;
}

export function summarize(data: ReportData, options: { examples?: number } = {}): ReportSummary {
  const shadow = data.mismatches.filter(isConfirmed);
  const dismissedRecords = data.mismatches.filter((m) => !isConfirmed(m));
  const stats = data.latency?.stats;
  const byReason: ReportSummary['dismissed']['byReason'] = {};
  if (stats) {
    for (const [reason, n] of Object.entries(stats.dismissed))
      if (n > 0) byReason[reason as DismissReason] = n;
    if (stats.skippedBy['non-deterministic'] > 0)
      byReason['non-deterministic'] = stats.skippedBy['non-deterministic'];
  } else {
    for (const m of dismissedRecords) if (m.reason) byReason[m.reason] = (byReason[m.reason] ?? 0) + 1;
  }
  const times = shadow.map((m) => Date.parse(m.at)).filter((t) => Number.isFinite(t));
  // A loop, not Math.min(...times): a long log would overflow the call stack.
  let first: number | null = null;
  let last: number | null = null;
  for (const t of times) {
    if (first === null || t < first) first = t;
    if (last === null || t > last) last = t;
  }
  // The smallest bucket that keeps the chart at 60 bars or fewer.
  const span = first !== null && last !== null ? last - first : 0;
  const bucketMs = BUCKETS.find((b) => span / b <= 60) ?? 86_400_000;
  const overTime: ReportSummary['overTime'] = [];
  if (first !== null && last !== null) {
    const start = Math.floor(first / bucketMs) * bucketMs;
    const counts = countBy(times, (t) => String(Math.floor((t - start) / bucketMs)));
    for (let i = 0; start + i * bucketMs <= last; i++) {
      overTime.push({
        start: new Date(start + i * bucketMs).toISOString(),
        count: counts.get(String(i)) ?? 0,
      });
    }
  }
  const byTable = [...countBy(shadow, (m) => m.table ?? '(raw)')]
    .map(([table, count]) => ({ table, count }))
    .sort((a, b) => b.count - a.count);
  const columnHits = shadow.flatMap((m) =>
    m.columns.length > 0
      ? m.columns.map((c) => ({ table: m.table ?? '(raw)', column: c.column }))
      : [{ table: m.table ?? '(raw)', column: `(row ${m.kind})` }],
  );
  const byColumn = [...countBy(columnHits, (h) => `${h.table}\u0000${h.column}`)]
    .map(([k, count]) => {
      const [table = '', column = ''] = k.split('\u0000');
      return { table, column, count };
    })
    .sort((a, b) => b.count - a.count);
  return {
    generatedAt: data.generatedAt,
    totalMismatches: shadow.length,
    dismissed: { total: Object.values(byReason).reduce((a, b) => a + (b ?? 0), 0), byReason },
    checks: stats?.checks ?? null,
    repeated: stats?.repeated ?? null,
    dismissedExamples: [...dismissedRecords].reverse().slice(0, options.examples ?? 20),
    firstAt: first === null ? null : new Date(first).toISOString(),
    lastAt: last === null ? null : new Date(last).toISOString(),
    overTime,
    bucketMs,
    byTable,
    byColumn,
    examples: [...shadow].reverse().slice(0, options.examples ?? 20),
    latency: [...(data.latency?.shapes ?? [])].sort(
      (a, b) =>
        (b.mysql?.count ?? 0) + (b.postgres?.count ?? 0) - (a.mysql?.count ?? 0) - (a.postgres?.count ?? 0),
    ),
    latencyAt: data.latency?.at ?? null,
    verification: data.verification,
  };
}
