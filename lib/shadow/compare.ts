import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator, TranslatorSet } from '../translate/types.js';
import { canonicalJson } from './canonical.js';
import type { ColumnPlan, ResultKey, ResultPlan } from './columns.js';
import { cellsEqual, normalizeCell, type Cell } from './values.js';

/** One column that differs, with the normalised value of each side. */
export interface ColumnDiff {
  column: string;
  /** The table column it comes from (`table.column`), when the metadata told. */
  source?: string;
  authoritative: unknown;
  other: unknown;
}

export const DiffKind = {
  /** The authoritative side has the row, the other side does not. */
  Missing: 'missing',
  /** The other side has a row the authoritative side does not. */
  Extra: 'extra',
  /** Both sides have the row with different values. */
  Different: 'different',
} as const;
export type DiffKind = (typeof DiffKind)[keyof typeof DiffKind];

export interface RowDiff {
  kind: DiffKind;
  /** Canonical primary key; null when rows were compared as a multiset (no key in the result). */
  key: KeyTuple | null;
  /** Table of `key`. @default the query's table */
  keyTable?: string | null;
  columns: ColumnDiff[];
  /** Normalised rows (null on the side that has none). */
  authoritative: Row | null;
  other: Row | null;
}

export interface CompareInput {
  plan: ResultPlan;
  /** Translators of both schemas: columns traced to a table column compare through its translator. */
  translators: TranslatorSet | undefined;
  authoritativeSide: Side;
  otherSide: Side;
  authoritativeRows: readonly Row[];
  otherRows: readonly Row[];
}

export interface CompareResult {
  /** The key rows were matched by; null: multiset comparison. */
  key: ResultKey | null;
  diffs: RowDiff[];
}

/** A normalised row: canonical values (compared and reported) and the other images a value may take. */
interface NormRow {
  values: Row;
  alts: Map<string, string[]>;
  text: string;
}

/**
 * Normalises one row read from `side`: columns traced to a table column through that table's translator
 * (the one normalisation sync and verify use), the others by the kind of the column at the precision both
 * sides hold. `fromOther` reads the row under the other side's column names.
 */
function normalizeResultRow(input: CompareInput, row: Row, side: Side, fromOther: boolean): NormRow {
  const values: Row = {};
  const alts = new Map<string, string[]>();
  const byTable = new Map<string, { plan: ColumnPlan; value: unknown }[]>();
  for (const c of input.plan.columns) {
    const value = row[fromOther ? c.otherName : c.name];
    if (c.source && input.translators?.has(c.source.table)) {
      const list = byTable.get(c.source.table) ?? [];
      list.push({ plan: c, value });
      byTable.set(c.source.table, list);
      continue;
    }
    const cell: Cell = normalizeCell(value, c.kind, c.precision);
    values[c.name] = cell.value;
    if (cell.alts) alts.set(c.name, cell.alts);
  }
  for (const [table, list] of byTable) {
    const translator = input.translators?.table(table);
    // One column may appear twice under two aliases: normalise each on its own.
    for (const { plan, value } of list) {
      const source = (plan.source as { column: string }).column;
      const normalized = translator?.normalize({ [source]: value }, side)[source];
      values[plan.name] = normalized === undefined ? null : normalized;
    }
  }
  return { values, alts, text: canonicalJson(values) };
}

function columnEqual(a: NormRow, b: NormRow, column: string): boolean {
  const x = a.values[column] ?? null;
  const y = b.values[column] ?? null;
  const ax = a.alts.get(column);
  const bx = b.alts.get(column);
  return cellsEqual(ax ? { value: x, alts: ax } : { value: x }, bx ? { value: y, alts: bx } : { value: y });
}

function diffColumns(plan: ResultPlan, a: NormRow, b: NormRow): ColumnDiff[] {
  if (a.text === b.text) return [];
  const out: ColumnDiff[] = [];
  for (const c of plan.columns) {
    if (columnEqual(a, b, c.name)) continue;
    out.push({
      column: c.name,
      ...(c.source ? { source: `${c.source.table}.${c.source.column}` } : {}),
      authoritative: a.values[c.name] ?? null,
      other: b.values[c.name] ?? null,
    });
  }
  return out;
}

/** Rows by canonical key, or undefined when a row lacks the key or a key repeats (joins). */
function byKey(
  input: CompareInput,
  key: ResultKey,
  rows: readonly Row[],
  side: Side,
  fromOther: boolean,
): Map<string, Row> | undefined {
  const translator = input.translators?.table(key.table);
  if (!translator) return undefined;
  const names = key.columns.map((n) =>
    fromOther ? (input.plan.columns.find((c) => c.name === n)?.otherName ?? n) : n,
  );
  const map = new Map<string, Row>();
  for (const row of rows) {
    const values = names.map((n) => row[n]);
    if (values.some((v) => v === undefined || v === null)) return undefined;
    const text = JSON.stringify(translator.canonicalKey(values, side));
    if (map.has(text)) return undefined;
    map.set(text, row);
  }
  return map;
}

/**
 * Compares one query's results from both sides: by a primary key when every row carries one, unique
 * (row order never matters: the collations sort differently), otherwise as multisets of normalised rows.
 */
export function compareResults(input: CompareInput): CompareResult {
  const { authoritativeSide: authSide, otherSide } = input;
  for (const key of input.plan.keys) {
    const authMap = byKey(input, key, input.authoritativeRows, authSide, false);
    const otherMap = authMap && byKey(input, key, input.otherRows, otherSide, true);
    if (!authMap || !otherMap) continue;
    const diffs: RowDiff[] = [];
    const base = { keyTable: key.table };
    for (const [text, row] of authMap) {
      const k = JSON.parse(text) as KeyTuple;
      const a = normalizeResultRow(input, row, authSide, false);
      const otherRow = otherMap.get(text);
      if (!otherRow) {
        diffs.push({
          ...base,
          kind: DiffKind.Missing,
          key: k,
          columns: [],
          authoritative: a.values,
          other: null,
        });
        continue;
      }
      const o = normalizeResultRow(input, otherRow, otherSide, true);
      const columns = diffColumns(input.plan, a, o);
      if (columns.length > 0)
        diffs.push({
          ...base,
          kind: DiffKind.Different,
          key: k,
          columns,
          authoritative: a.values,
          other: o.values,
        });
    }
    for (const [text, row] of otherMap) {
      if (authMap.has(text)) continue;
      const o = normalizeResultRow(input, row, otherSide, true);
      diffs.push({
        ...base,
        kind: DiffKind.Extra,
        key: JSON.parse(text) as KeyTuple,
        columns: [],
        authoritative: null,
        other: o.values,
      });
    }
    return { key, diffs };
  }
  return {
    key: null,
    diffs: multisetDiff(
      input.plan,
      input.authoritativeRows.map((r) => normalizeResultRow(input, r, authSide, false)),
      input.otherRows.map((r) => normalizeResultRow(input, r, otherSide, true)),
    ),
  };
}

/** Leftover rows paired for the report beyond this many are reported as missing and extra. */
const PAIRING_LIMIT = 200;

function multisetDiff(plan: ResultPlan, auth: NormRow[], other: NormRow[]): RowDiff[] {
  // Exact matches first (cheap, by canonical text), then matches at the precision both sides hold.
  const counts = new Map<string, number>();
  for (const o of other) counts.set(o.text, (counts.get(o.text) ?? 0) + 1);
  const unmatched: NormRow[] = [];
  for (const a of auth) {
    const n = counts.get(a.text) ?? 0;
    if (n > 0) counts.set(a.text, n - 1);
    else unmatched.push(a);
  }
  // What is left of the counts are the other side's rows no authoritative row matched exactly.
  const remaining = other.filter((o) => {
    const n = counts.get(o.text) ?? 0;
    if (n === 0) return false;
    counts.set(o.text, n - 1);
    return true;
  });
  const missing: NormRow[] = [];
  for (const a of unmatched) {
    const index = remaining.findIndex((o) => diffColumns(plan, a, o).length === 0);
    if (index >= 0) remaining.splice(index, 1);
    else missing.push(a);
  }
  const diffs: RowDiff[] = [];
  const base = { key: null, keyTable: null };
  // Pair leftovers so the report shows which columns differ: each with the row it differs least from,
  // as long as they share a value (a single row each side is a changed row too).
  if (missing.length <= PAIRING_LIMIT && remaining.length <= PAIRING_LIMIT) {
    const single = missing.length === 1 && remaining.length === 1;
    for (let i = 0; i < missing.length;) {
      const a = missing[i] as NormRow;
      let best = -1;
      let bestColumns: ColumnDiff[] = [];
      remaining.forEach((o, j) => {
        const columns = diffColumns(plan, a, o);
        if (
          (single || columns.length < plan.columns.length) &&
          (best < 0 || columns.length < bestColumns.length)
        ) {
          best = j;
          bestColumns = columns;
        }
      });
      if (best < 0) {
        i += 1;
        continue;
      }
      const o = remaining.splice(best, 1)[0] as NormRow;
      missing.splice(i, 1);
      diffs.push({
        ...base,
        kind: DiffKind.Different,
        columns: bestColumns,
        authoritative: a.values,
        other: o.values,
      });
    }
  }
  for (const a of missing)
    diffs.push({ ...base, kind: DiffKind.Missing, columns: [], authoritative: a.values, other: null });
  for (const o of remaining)
    diffs.push({ ...base, kind: DiffKind.Extra, columns: [], authoritative: null, other: o.values });
  return diffs;
}

/** A table's row read from `side` through its translator (verification's chunks); ignored columns left out. */
export function normalizeRow(
  translator: RowTranslator,
  row: Row,
  side: Side,
  ignore: ReadonlySet<string>,
): Row {
  const own: Row = {};
  for (const [k, v] of Object.entries(row)) if (!ignore.has(k)) own[k] = v;
  return translator.normalize(own, side);
}
