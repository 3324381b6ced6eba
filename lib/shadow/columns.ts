import type { Knex } from 'knex';
import { FieldKind, type ResultField } from '../dialect/fields.js';
import { relationColumns, type RelationColumns } from '../dialect/postgres/fields.js';
import type { Row, TranslatorSet } from '../translate/types.js';

/** A result column traced back to a table column a translator knows. */
export interface ColumnSource {
  table: string;
  column: string;
}

/** How one column of a result is compared. */
export interface ColumnPlan {
  /** Name on the authoritative side: rows are compared and reported under it. */
  name: string;
  /** Name of the same column on the other side (differs for unaliased expressions of raw reads). */
  otherName: string;
  /** The table column it comes from: compared through that table's translator. */
  source: ColumnSource | null;
  /** Otherwise: the kind both sides' metadata give (null: no metadata, compared by the values' shape)... */
  kind: FieldKind | null;
  /** ...at the fraction digits both sides hold. */
  precision: number | null;
}

/** A primary key carried by a result: the table and the result columns holding it, in key order. */
export interface ResultKey {
  table: string;
  columns: readonly string[];
}

export interface ResultPlan {
  columns: ColumnPlan[];
  /** Keys the rows may carry, the query's own table first; the first unique on both sides is used. */
  keys: ResultKey[];
}

export interface SideResult {
  rows: readonly Row[];
  fields: readonly ResultField[] | null;
}

export interface PlanInput {
  authoritative: SideResult;
  other: SideResult;
  /** The query's table (builder table, declared table of a raw read). */
  table: string | null;
  translators: TranslatorSet | undefined;
  /** PostgreSQL relation oids resolved to names (RelationNames). */
  relations: ReadonlyMap<number, RelationColumns>;
  /** Columns left out of comparisons (`ignoreInCompare`), by source table (or the query's table) and column. */
  ignored(table: string | null, column: string): boolean;
}

function namesOf(result: SideResult): string[] {
  const first = result.rows[0];
  if (first) return Object.keys(first);
  return [...new Set((result.fields ?? []).map((f) => f.name))];
}

/** Each row key's field: by name (the last of a repeated name: its value is the one kept), else by position. */
function fieldsByName(
  names: readonly string[],
  fields: readonly ResultField[] | null,
): (ResultField | null)[] {
  if (!fields) return names.map(() => null);
  const byName = new Map<string, ResultField>();
  for (const f of fields) byName.set(f.name, f);
  const positional = fields.length === names.length;
  return names.map((n, i) => byName.get(n) ?? (positional ? (fields[i] ?? null) : null));
}

/** Pairs the authoritative side's columns with the other side's: by name, leftovers in order when as many. */
function pairColumns(auth: readonly string[], other: readonly string[]): [string | null, string | null][] {
  const otherSet = new Set(other);
  const authSet = new Set(auth);
  const authLeft = auth.filter((n) => !otherSet.has(n));
  const otherLeft = other.filter((n) => !authSet.has(n));
  const pairs: [string | null, string | null][] = [];
  const paired = authLeft.length === otherLeft.length;
  for (const n of auth) {
    if (otherSet.has(n)) pairs.push([n, n]);
    else pairs.push([n, paired ? (otherLeft[authLeft.indexOf(n)] ?? null) : null]);
  }
  if (!paired) for (const n of otherLeft) pairs.push([null, n]);
  return pairs;
}

function sourceOf(fields: readonly (ResultField | null)[], input: PlanInput): ColumnSource | null {
  const known = (table: string, column: string): ColumnSource | null =>
    input.translators?.has(table) && input.translators.table(table).columns.includes(column)
      ? { table, column }
      : null;
  // PostgreSQL's relation ids resolve through CTEs and derived tables on every server: preferred.
  for (const f of fields) {
    if (!f?.relation) continue;
    const rel = input.relations.get(f.relation.id);
    const column = rel?.columns.get(f.relation.column);
    const s = rel && column ? known(rel.table, column) : null;
    if (s) return s;
  }
  for (const f of fields) {
    const s = f?.source ? known(f.source.table, f.source.column) : null;
    if (s) return s;
  }
  return null;
}

const NUMERIC = new Set<FieldKind>([FieldKind.Integer, FieldKind.Decimal, FieldKind.Float]);

/** The kind to compare by when the two sides' metadata differ (MariaDB gives JSON expressions as text, say). */
function mergeKinds(
  a: ResultField | null,
  b: ResultField | null,
): { kind: FieldKind | null; precision: number | null } {
  const kinds = [a, b].filter((f): f is ResultField => f !== null);
  if (kinds.length === 0) return { kind: null, precision: null };
  const has = (k: FieldKind): boolean => kinds.some((f) => f.kind === k);
  const minPrecision = (which: (k: FieldKind) => boolean): number | null => {
    const ps = kinds.filter((f) => which(f.kind) && f.precision !== null).map((f) => f.precision as number);
    return ps.length > 0 ? Math.min(...ps) : null;
  };
  if (has(FieldKind.Json)) return { kind: FieldKind.Json, precision: null };
  for (const k of [FieldKind.DateTime, FieldKind.Time]) {
    if (has(k)) return { kind: k, precision: minPrecision((x) => x === k) };
  }
  if (has(FieldKind.Date)) return { kind: FieldKind.Date, precision: null };
  if (has(FieldKind.Boolean) && kinds.every((f) => f.kind === FieldKind.Boolean || NUMERIC.has(f.kind)))
    return { kind: FieldKind.Boolean, precision: null };
  if (has(FieldKind.Float)) return { kind: FieldKind.Float, precision: null };
  if (has(FieldKind.Decimal) || has(FieldKind.Integer)) {
    // A scale known on one side only (MySQL's AVG has 4 more digits, PostgreSQL's numeric is unbounded).
    return { kind: FieldKind.Decimal, precision: minPrecision((x) => x === FieldKind.Decimal) };
  }
  if (has(FieldKind.Binary) && kinds.every((f) => f.kind === FieldKind.Binary))
    return { kind: FieldKind.Binary, precision: null };
  if (has(FieldKind.PaddedText)) return { kind: FieldKind.PaddedText, precision: null };
  return { kind: FieldKind.Text, precision: null };
}

/**
 * How to compare the columns of one read's two results: each column traced to the table column it comes
 * from when either side's metadata can say (joined tables, aliases, CTEs and derived tables included),
 * else compared by the kind the metadata give; and the primary keys the rows may carry.
 */
export function planResult(input: PlanInput): ResultPlan {
  const authNames = namesOf(input.authoritative);
  const otherNames = namesOf(input.other);
  const authFields = new Map(
    authNames.map((n, i) => [n, fieldsByName(authNames, input.authoritative.fields)[i] ?? null]),
  );
  const otherFields = new Map(
    otherNames.map((n, i) => [n, fieldsByName(otherNames, input.other.fields)[i] ?? null]),
  );
  const columns: ColumnPlan[] = [];
  for (const [a, o] of pairColumns(authNames, otherNames)) {
    const fa = a === null ? null : (authFields.get(a) ?? null);
    const fo = o === null ? null : (otherFields.get(o) ?? null);
    const source = sourceOf([fo, fa], input);
    const name = (a ?? o) as string;
    if (source ? input.ignored(source.table, source.column) : input.ignored(input.table, name)) continue;
    columns.push({
      name,
      otherName: o ?? name,
      source,
      ...(source ? { kind: null, precision: null } : mergeKinds(fa, fo)),
    });
  }
  return { columns, keys: resultKeys(columns, input) };
}

function resultKeys(columns: readonly ColumnPlan[], input: PlanInput): ResultKey[] {
  const { translators, table } = input;
  if (!translators) return [];
  const tables = [
    ...new Set([table, ...columns.map((c) => c.source?.table)].filter((t): t is string => !!t)),
  ];
  const keys: ResultKey[] = [];
  for (const t of tables) {
    if (!translators.has(t)) continue;
    const pk = translators.table(t).primaryKey;
    if (pk.length === 0) continue;
    const found = pk.map(
      (c) =>
        columns.find((p) => p.source?.table === t && p.source.column === c) ??
        // Without metadata a column named like the key of the query's own table is taken as its key.
        (t === table ? columns.find((p) => p.source === null && p.kind === null && p.name === c) : undefined),
    );
    if (found.every((p) => p !== undefined)) keys.push({ table: t, columns: found.map((p) => p.name) });
  }
  return keys;
}

/** The plan of rows read from a table by key (re-checks): every column is that table's own. */
export function tablePlan(table: string, columns: readonly string[]): ResultPlan {
  return {
    columns: columns.map((c) => ({
      name: c,
      otherName: c,
      source: { table, column: c },
      kind: null,
      precision: null,
    })),
    keys: [],
  };
}

/** PostgreSQL relation oids → names, looked up once per oid (a recreated table gets a new oid). */
export class RelationNames {
  readonly #known = new Map<number, RelationColumns>();
  // Oids that are not tables of the current schema (views' columns resolve to their tables).
  readonly #unknown = new Set<number>();

  get map(): ReadonlyMap<number, RelationColumns> {
    return this.#known;
  }

  /** Looks up the oids of these fields not seen yet. */
  async load(pg: Knex, fields: readonly (readonly ResultField[] | null)[]): Promise<void> {
    const ids = new Set<number>();
    for (const list of fields) {
      for (const f of list ?? []) {
        const id = f.relation?.id;
        if (id !== undefined && !this.#known.has(id) && !this.#unknown.has(id)) ids.add(id);
      }
    }
    if (ids.size === 0) return;
    const found = await relationColumns(pg, [...ids]);
    for (const id of ids) {
      const r = found.get(id);
      if (r) this.#known.set(id, r);
      else this.#unknown.add(id);
    }
  }
}
