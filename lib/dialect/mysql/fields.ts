import { FieldKind, type DriverResult, type ResultField } from '../fields.js';

/** The parts of a mysql2 FieldPacket read here. */
interface MysqlField {
  name: string;
  orgName?: string;
  orgTable?: string;
  columnType?: number;
  columnLength?: number;
  decimals?: number;
  characterSet?: number;
}

/** MySQL protocol column types (include/field_types.h). */
const TYPE = {
  decimal: 0,
  tiny: 1,
  short: 2,
  long: 3,
  float: 4,
  double: 5,
  timestamp: 7,
  longlong: 8,
  int24: 9,
  date: 10,
  time: 11,
  datetime: 12,
  year: 13,
  newdate: 14,
  varchar: 15,
  bit: 16,
  timestamp2: 17,
  datetime2: 18,
  time2: 19,
  json: 245,
  newdecimal: 246,
  enum: 247,
  set: 248,
  tinyBlob: 249,
  mediumBlob: 250,
  longBlob: 251,
  blob: 252,
  varString: 253,
  string: 254,
  geometry: 255,
} as const;

/** Character set number 63: the column holds bytes, not text. */
const BINARY_CHARSET = 63;
/** `decimals` of a column whose scale is not fixed (floating point, expressions). */
const NOT_FIXED_DEC = 31;

const STRINGS = new Set<number>([
  TYPE.varchar,
  TYPE.tinyBlob,
  TYPE.mediumBlob,
  TYPE.longBlob,
  TYPE.blob,
  TYPE.varString,
  TYPE.string,
]);

function kindOf(f: MysqlField): FieldKind {
  const t = f.columnType ?? -1;
  if (t === TYPE.json) return FieldKind.Json;
  if (t === TYPE.tiny && f.columnLength === 1) return FieldKind.Boolean;
  if (t === TYPE.bit) return f.columnLength === 1 ? FieldKind.Boolean : FieldKind.Binary;
  if ([TYPE.tiny, TYPE.short, TYPE.long, TYPE.longlong, TYPE.int24, TYPE.year].includes(t as 1))
    return FieldKind.Integer;
  if (t === TYPE.decimal || t === TYPE.newdecimal) return FieldKind.Decimal;
  if (t === TYPE.float || t === TYPE.double) return FieldKind.Float;
  if ([TYPE.timestamp, TYPE.datetime, TYPE.timestamp2, TYPE.datetime2].includes(t as 7))
    return FieldKind.DateTime;
  if (t === TYPE.date || t === TYPE.newdate) return FieldKind.Date;
  if (t === TYPE.time || t === TYPE.time2) return FieldKind.Time;
  if (STRINGS.has(t)) {
    if (f.characterSet === BINARY_CHARSET) return FieldKind.Binary;
    // CHAR is padded on disk but mysql2 receives it trimmed; either way trailing blanks carry no meaning.
    return t === TYPE.string ? FieldKind.PaddedText : FieldKind.Text;
  }
  if (t === TYPE.enum || t === TYPE.set) return FieldKind.Text;
  return FieldKind.Other;
}

function precisionOf(f: MysqlField, kind: FieldKind): number | null {
  const d = f.decimals;
  if (d === undefined || d === NOT_FIXED_DEC) return null;
  if (kind === FieldKind.DateTime || kind === FieldKind.Time) return Math.min(d, 6);
  if (kind === FieldKind.Decimal) return d;
  return null;
}

/**
 * Field metadata of a mysql2 result (`[rows, fields]`'s fields) in dualwrite's terms. MySQL names the
 * source of a column through aliases, joins, derived tables and CTEs; MariaDB names a derived table or
 * CTE by its alias. Null when the driver gave no fields.
 */
export function resultFields(fields: unknown): ResultField[] | null {
  if (!Array.isArray(fields)) return null;
  return (fields as MysqlField[]).map((f) => {
    const kind = kindOf(f);
    return {
      name: f.name,
      kind,
      precision: precisionOf(f, kind),
      source: f.orgTable && f.orgName ? { table: f.orgTable, column: f.orgName } : null,
      relation: null,
    };
  });
}

/** mysql2's response to a statement (`[rows, fields]`, for builders and raw alike) as rows and fields. */
export function driverResult(response: unknown): DriverResult {
  if (!Array.isArray(response)) return { rows: [], fields: null };
  const [rows, fields] = response as [unknown, unknown];
  return {
    rows: Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [],
    fields: resultFields(fields),
  };
}
