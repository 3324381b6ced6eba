import type { DualWriteConfig } from '../config/schema.js';
import type { MismatchRecord } from '../report/records.js';
import type { Redactor } from '../report/redact.js';
import type { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';
import { reportable } from './canonical.js';
import type { RowDiff } from './compare.js';

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
}

/** A mismatch record with every value of a sensitive column hashed or redacted. */
export function toRecord(redactor: Redactor, input: RecordInput): MismatchRecord {
  const { table, diff } = input;
  const side = (row: Row | null): Row | null => {
    if (!row) return null;
    const out: Row = {};
    for (const [k, v] of Object.entries(row)) out[k] = reportable(redactor.value(table, k, v));
    return out;
  };
  return {
    at: new Date().toISOString(),
    source: input.source,
    table,
    key: diff.key,
    kind: diff.kind,
    columns: diff.columns.map((c) => ({
      column: c.column,
      authoritative: reportable(redactor.value(table, c.column, c.authoritative)),
      other: reportable(redactor.value(table, c.column, c.other)),
    })),
    rows: { authoritative: side(diff.authoritative), other: side(diff.other) },
    authoritativeSide: input.authSide,
    fingerprint: input.fingerprint,
    shape: input.shape,
    context: input.context,
    rechecked: input.rechecked,
  };
}
