import type { Knex } from 'knex';
import { FieldKind, type DriverResult, type ResultField } from '../fields.js';

/** The parts of a pg FieldDef read here. */
interface PgField {
  name: string;
  tableID?: number;
  columnID?: number;
  dataTypeID?: number;
  dataTypeModifier?: number;
}

/** Type oids of pg_type (stable across PostgreSQL versions). */
const KINDS = new Map<number, FieldKind>([
  [16, FieldKind.Boolean],
  [17, FieldKind.Binary],
  [20, FieldKind.Integer],
  [21, FieldKind.Integer],
  [23, FieldKind.Integer],
  [26, FieldKind.Integer],
  [700, FieldKind.Float],
  [701, FieldKind.Float],
  [1700, FieldKind.Decimal],
  [114, FieldKind.Json],
  [3802, FieldKind.Json],
  [1082, FieldKind.Date],
  [1114, FieldKind.DateTime],
  [1184, FieldKind.DateTime],
  [1083, FieldKind.Time],
  [1266, FieldKind.Time],
  [25, FieldKind.Text],
  [1043, FieldKind.Text],
  [19, FieldKind.Text],
  [18, FieldKind.Text],
  [2950, FieldKind.Text],
  [1042, FieldKind.PaddedText],
]);
const NUMERIC = 1700;

function precisionOf(kind: FieldKind, oid: number, typmod: number): number | null {
  if (kind === FieldKind.DateTime || kind === FieldKind.Time) return typmod >= 0 ? Math.min(typmod, 6) : 6;
  // numeric(p, s): typmod = ((p << 16) | s) + 4; -1 when unconstrained.
  if (oid === NUMERIC) return typmod >= 4 ? (typmod - 4) & 0xffff : null;
  return null;
}

/**
 * Field metadata of a pg result (`result.fields`) in dualwrite's terms. PostgreSQL gives every column's
 * type, even of expressions, and the source relation and attribute through aliases, joins, sub-queries
 * and CTEs (resolved to names with relationColumns). Null when the driver gave no fields.
 */
export function resultFields(fields: unknown): ResultField[] | null {
  if (!Array.isArray(fields)) return null;
  return (fields as PgField[]).map((f) => {
    const oid = f.dataTypeID ?? 0;
    const kind = KINDS.get(oid) ?? FieldKind.Other;
    return {
      name: f.name,
      kind,
      precision: precisionOf(kind, oid, f.dataTypeModifier ?? -1),
      source: null,
      relation: f.tableID && f.columnID ? { id: f.tableID, column: f.columnID } : null,
    };
  });
}

/** A relation's name and its attribute numbers → column names. */
export interface RelationColumns {
  table: string;
  columns: ReadonlyMap<number, string>;
}

/** Names of relations (by oid) of the connection's current schema, with their columns by attribute number. */
export async function relationColumns(
  db: Knex,
  ids: readonly number[],
): Promise<Map<number, RelationColumns>> {
  const out = new Map<number, { table: string; columns: Map<number, string> }>();
  if (ids.length === 0) return out;
  const result = (await db.raw(
    `SELECT c.oid::int AS id, c.relname AS table_name, a.attnum AS attnum, a.attname AS column_name
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.oid = ANY(?::oid[])`,
    [[...ids]],
  )) as { rows: { id: number; table_name: string; attnum: number; column_name: string }[] };
  for (const r of result.rows) {
    let entry = out.get(r.id);
    if (!entry) {
      entry = { table: r.table_name, columns: new Map() };
      out.set(r.id, entry);
    }
    entry.columns.set(Number(r.attnum), r.column_name);
  }
  return out;
}

/** pg's response to a statement (a Result, for builders and raw alike) as rows and fields. */
export function driverResult(response: unknown): DriverResult {
  const r = (Array.isArray(response) ? response[response.length - 1] : response) as
    { rows?: unknown; fields?: unknown } | undefined;
  return {
    rows: Array.isArray(r?.rows) ? (r.rows as Record<string, unknown>[]) : [],
    fields: resultFields(r?.fields),
  };
}
