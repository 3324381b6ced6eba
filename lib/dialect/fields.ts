/** What a result column holds, as the driver's field metadata says; decides how its values are compared. */
export const FieldKind = {
  Json: 'json',
  DateTime: 'datetime',
  Date: 'date',
  Time: 'time',
  Integer: 'integer',
  Decimal: 'decimal',
  Float: 'float',
  Boolean: 'boolean',
  Binary: 'binary',
  Text: 'text',
  /** Blank-padded text (CHAR): trailing spaces carry no meaning. */
  PaddedText: 'padded-text',
  Other: 'other',
} as const;
export type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];

/** One column of a result, from the driver's field metadata (mysql2 FieldPacket, pg FieldDef). */
export interface ResultField {
  name: string;
  kind: FieldKind;
  /** Fraction digits the side holds (times: fractional seconds; decimals: scale); null when unbounded or unknown. */
  precision: number | null;
  /** Source table and column as the driver names them (MySQL's orgTable/orgName); null for expressions. */
  source: { table: string; column: string } | null;
  /** PostgreSQL's source relation oid and attribute number (null for expressions or on MySQL). */
  relation: { id: number; column: number } | null;
}

/** Rows and field metadata of a driver's response to one statement. */
export interface DriverResult {
  rows: Record<string, unknown>[];
  fields: ResultField[] | null;
}
