import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';
import { canonicalJson } from './canonical.js';

/** One column that differs, with the normalised value of each side. */
export interface ColumnDiff {
  column: string;
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
  columns: ColumnDiff[];
  /** Normalised rows (null on the side that has none). */
  authoritative: Row | null;
  other: Row | null;
}

export interface CompareInput {
  /** Translator of the query's table; without it every column is compared with the generic normaliser. */
  translator: RowTranslator | undefined;
  authoritativeSide: Side;
  otherSide: Side;
  authoritativeRows: readonly Row[];
  otherRows: readonly Row[];
  /** Columns left out (ignoreInCompare). */
  ignore: ReadonlySet<string>;
}

export interface CompareResult {
  /** Whether rows were matched by primary key (false: multiset comparison). */
  keyed: boolean;
  diffs: RowDiff[];
}

/**
 * Normalises a row read from `side`: the table's columns through the translator (the single source of
 * truth for type-aware comparison), any other column (aggregates, joined or computed columns) through
 * the generic normaliser. Ignored columns are dropped.
 */
export function normalizeRow(
  translator: RowTranslator | undefined,
  row: Row,
  side: Side,
  ignore: ReadonlySet<string>,
): Row {
  const known: Row = {};
  const out: Row = {};
  const columns = translator ? new Set(translator.columns) : undefined;
  for (const [k, v] of Object.entries(row)) {
    if (ignore.has(k)) continue;
    if (columns?.has(k)) known[k] = v;
    else out[k] = genericNormalize(v);
  }
  if (translator && Object.keys(known).length > 0) {
    const normalized = translator.normalize(known, side);
    for (const k of Object.keys(known)) out[k] = normalized[k];
  }
  return out;
}

const NUMERIC = /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(?:Z|[+-]00(?::?00)?)?$/;

/** Normalisation for values no translator knows: text for temporal values, trimmed strings, hex for bytes. */
export function genericNormalize(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date)
    return value
      .toISOString()
      .replace('T', ' ')
      .replace(/\.?0*Z$/, '');
  if (typeof value === 'string') {
    const trimmed = value.replace(/ +$/, '');
    const ts = TIMESTAMP.exec(trimmed);
    if (ts) return `${ts[1]} ${ts[2]}${(ts[3] ?? '').replace(/\.?0+$/, '')}`;
    return trimmed;
  }
  return value;
}

/** Aggregates differ in scale between the servers (AVG: 2.3333 vs 2.3333333333333333): compare numerically. */
const RELATIVE_TOLERANCE = 1e-4;

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return undefined;
}

export function valuesEqual(a: unknown, b: unknown, tolerant: boolean): boolean {
  if (canonicalJson(a) === canonicalJson(b)) return true;
  if (!tolerant) return false;
  const x = asNumber(a);
  const y = asNumber(b);
  if (x === undefined || y === undefined) return false;
  return Math.abs(x - y) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y));
}

/** Columns whose values differ between two normalised rows (union of both rows' columns). */
export function diffColumns(auth: Row, other: Row, known: ReadonlySet<string> | undefined): ColumnDiff[] {
  const out: ColumnDiff[] = [];
  for (const column of new Set([...Object.keys(auth), ...Object.keys(other)])) {
    const a = auth[column] ?? null;
    const o = other[column] ?? null;
    if (!valuesEqual(a, o, !known?.has(column))) out.push({ column, authoritative: a, other: o });
  }
  return out;
}

function keyOf(translator: RowTranslator, row: Row, side: Side): KeyTuple | undefined {
  const values: unknown[] = [];
  for (const c of translator.primaryKey) {
    if (!(c in row)) return undefined;
    values.push(row[c]);
  }
  return translator.canonicalKey(values, side);
}

/** Rows by canonical key, or undefined when a row lacks the key or a key repeats (joins). */
function byKey(translator: RowTranslator, rows: readonly Row[], side: Side): Map<string, Row> | undefined {
  if (translator.primaryKey.length === 0) return undefined;
  const map = new Map<string, Row>();
  for (const row of rows) {
    const key = keyOf(translator, row, side);
    if (key === undefined) return undefined;
    const text = JSON.stringify(key);
    if (map.has(text)) return undefined;
    map.set(text, row);
  }
  return map;
}

/**
 * Compares one query's results from both sides: by primary key when every row carries it (order does
 * not matter: collations sort differently), otherwise as multisets of normalised rows.
 */
export function compareResults(input: CompareInput): CompareResult {
  const { translator, authoritativeSide, otherSide, ignore } = input;
  const known = translator ? new Set(translator.columns) : undefined;
  const authMap = translator ? byKey(translator, input.authoritativeRows, authoritativeSide) : undefined;
  const otherMap = translator ? byKey(translator, input.otherRows, otherSide) : undefined;
  const norm = (row: Row, side: Side): Row => normalizeRow(translator, row, side, ignore);

  if (authMap && otherMap) {
    const diffs: RowDiff[] = [];
    for (const [text, row] of authMap) {
      const key = JSON.parse(text) as KeyTuple;
      const a = norm(row, authoritativeSide);
      const otherRow = otherMap.get(text);
      if (!otherRow) {
        diffs.push({ kind: DiffKind.Missing, key, columns: [], authoritative: a, other: null });
        continue;
      }
      const o = norm(otherRow, otherSide);
      const columns = diffColumns(a, o, known);
      if (columns.length > 0)
        diffs.push({ kind: DiffKind.Different, key, columns, authoritative: a, other: o });
    }
    for (const [text, row] of otherMap) {
      if (authMap.has(text)) continue;
      const o = norm(row, otherSide);
      diffs.push({
        kind: DiffKind.Extra,
        key: JSON.parse(text) as KeyTuple,
        columns: [],
        authoritative: null,
        other: o,
      });
    }
    return { keyed: true, diffs };
  }
  return {
    keyed: false,
    diffs: multisetDiff(
      input.authoritativeRows.map((r) => norm(r, authoritativeSide)),
      input.otherRows.map((r) => norm(r, otherSide)),
      known,
    ),
  };
}

function multisetDiff(auth: Row[], other: Row[], known: ReadonlySet<string> | undefined): RowDiff[] {
  // Exact matches first (cheap, by canonical text), then tolerant matching among the leftovers.
  const counts = new Map<string, number>();
  for (const o of other) {
    const t = canonicalJson(o);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const unmatched: Row[] = [];
  for (const a of auth) {
    const t = canonicalJson(a);
    const n = counts.get(t) ?? 0;
    if (n > 0) counts.set(t, n - 1);
    else unmatched.push(a);
  }
  const remaining = other.filter((o) => {
    const t = canonicalJson(o);
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      counts.set(t, n - 1);
      return true;
    }
    return false;
  });
  const missing: Row[] = [];
  for (const a of unmatched) {
    const index = remaining.findIndex((o) => diffColumns(a, o, known).length === 0);
    if (index >= 0) remaining.splice(index, 1);
    else missing.push(a);
  }
  const diffs: RowDiff[] = [];
  // Pair leftovers so the report can show which columns differ, as a keyed comparison would.
  const pairs = Math.min(missing.length, remaining.length);
  for (let i = 0; i < pairs; i++) {
    const a = missing[i] as Row;
    const o = remaining[i] as Row;
    diffs.push({
      kind: DiffKind.Different,
      key: null,
      columns: diffColumns(a, o, known),
      authoritative: a,
      other: o,
    });
  }
  for (const a of missing.slice(pairs))
    diffs.push({ kind: DiffKind.Missing, key: null, columns: [], authoritative: a, other: null });
  for (const o of remaining.slice(pairs))
    diffs.push({ kind: DiffKind.Extra, key: null, columns: [], authoritative: null, other: o });
  return diffs;
}
