import type { DualWriteConfig } from '../config/schema.js';
import type { DismissReason, MismatchRecord, RecordedQuery } from '../report/records.js';
import type { Redactor } from '../report/redact.js';
import type { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';
import { reportable } from './canonical.js';
import type { RowDiff } from './compare.js';
import type { Evidence } from './confirm.js';

/** Columns of `table` left out of comparisons (ignoreInCompare). */
export function ignoredColumns(cfg: Readonly<DualWriteConfig>, table: string | null): Set<string> {
  const columns = table ? cfg.tables[table]?.columns : undefined;
  return new Set(
    Object.entries(columns ?? {})
      .filter(([, o]) => o.ignoreInCompare)
      .map(([c]) => c),
  );
}

export interface RecordInput {
  source: MismatchRecord['source'];
  table: string | null;
  diff: RowDiff;
  authSide: Side;
  fingerprint: string | null;
  shape: string | null;
  context: Record<string, unknown> | null;
  rechecked: boolean;
  /** @default 'confirmed' */
  status?: 'confirmed' | 'dismissed';
  reason?: DismissReason;
  evidence?: Evidence | null;
  differences?: number;
  query?: Partial<Record<Side, RecordedQuery>> | null;
  /** Source column (`table.column`) of result columns, so joined tables' sensitive columns are hidden too. */
  sources?: ReadonlyMap<string, string>;
}

/** A sentence saying why a difference is believed (or was set aside). */
export function evidenceSummary(
  e: Evidence,
  status: 'confirmed' | 'dismissed',
  reason?: DismissReason,
): string {
  const what =
    e.method === 'key-reread' ? 'the keys re-read on both sides' : 'the read run again on both sides';
  const pending = e.pendingAtFirst
    ? 'pending in an outbox when first seen, waited for until synced'
    : 'nothing pending in either outbox when first seen';
  if (status === 'confirmed')
    return `confirmed: the same difference in ${e.reruns} of ${e.attempts} re-runs (${what}), each with nothing pending in either outbox before and after and the authoritative answer unchanged; ${pending}`;
  if (reason === 'lag') return `dismissed as lag: ${what} matched after the outboxes drained; ${pending}`;
  if (reason === 'unordered-limit')
    return 'dismissed: LIMIT without ORDER BY and no key in the result, each server picks its own rows';
  return `dismissed as unsettled: ${e.attempts} re-runs (${what}) raced writes or stayed pending; ${pending}`;
}

/** A mismatch record with every value of a sensitive column hashed or redacted. */
export function toRecord(redactor: Redactor, input: RecordInput): MismatchRecord {
  const { table, diff } = input;
  const hide = (column: string, v: unknown): unknown => {
    const source = input.sources?.get(column);
    if (source) {
      const [t = '', c = ''] = source.split('.');
      if (redactor.isSensitive(t, c)) return reportable(redactor.value(t, c, v));
    }
    return reportable(redactor.value(table, column, v));
  };
  const side = (row: Row | null): Row | null => {
    if (!row) return null;
    const out: Row = {};
    for (const [k, v] of Object.entries(row)) out[k] = hide(k, v);
    return out;
  };
  const status = input.status ?? 'confirmed';
  return {
    at: new Date().toISOString(),
    source: input.source,
    table,
    key: diff.key,
    kind: diff.kind,
    columns: diff.columns.map(({ source, ...c }) => ({
      ...c,
      // The source is only worth saying when it is not the query's table's own column of that name.
      ...(source && source !== `${table}.${c.column}` ? { source } : {}),
      authoritative: hide(c.column, c.authoritative),
      other: hide(c.column, c.other),
    })),
    rows: { authoritative: side(diff.authoritative), other: side(diff.other) },
    authoritativeSide: input.authSide,
    fingerprint: input.fingerprint,
    shape: input.shape,
    context: input.context,
    rechecked: input.rechecked,
    status,
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.evidence
      ? { evidence: { ...input.evidence, summary: evidenceSummary(input.evidence, status, input.reason) } }
      : {}),
    ...(input.differences !== undefined ? { differences: input.differences } : {}),
    ...(diff.keyTable && diff.keyTable !== table ? { keyTable: diff.keyTable } : {}),
    ...(input.query !== undefined ? { query: input.query } : {}),
  };
}

/** Bindings as JSON (Buffers, dates and big integers kept exactly), for the record. */
export function encodeBindings(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { $hex: value.toString('hex') };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (Array.isArray(value)) return value.map(encodeBindings);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeBindings(v)]));
  }
  return value;
}

/** The bindings encodeBindings wrote, as values to bind again. */
export function decodeBindings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeBindings);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o['$hex'] === 'string') return Buffer.from(o['$hex'], 'hex');
    if (typeof o['$date'] === 'string') return new Date(o['$date']);
    if (typeof o['$bigint'] === 'string') return BigInt(o['$bigint']);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decodeBindings(v)]));
  }
  return value;
}
