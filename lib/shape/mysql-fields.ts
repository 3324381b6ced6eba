import type { ColumnSchema, TableSchema } from '../schema/model.js';
import { FieldFlags, Types, type FieldSpec } from './mysql2-internals.js';

/**
 * Column metadata MySQL sends for a result column: from the introspected MySQL schema for a column of
 * a table, or, for a computed column, from the PostgreSQL type of the value (mapped to the type MySQL
 * gives the same expression). These drive mysql2's parser, the app's typeCast and raw `fields`.
 * The resolution is also what a type-aware comparison of app-shaped rows needs (one module for both).
 */
export interface ResultColumn {
  /** MySQL column definition values. */
  spec: FieldSpec;
  /** The MySQL column it is (when the value comes straight from a table column). */
  column?: ColumnSchema;
  /** Table of `column`. */
  table?: string;
}

/** Collation id of binary (non-text) values. */
const BINARY = 63;
const TEXT_TYPES: Record<string, number> = {
  char: Types['STRING']!,
  varchar: Types['VAR_STRING']!,
  tinytext: Types['BLOB']!,
  text: Types['BLOB']!,
  mediumtext: Types['BLOB']!,
  longtext: Types['BLOB']!,
  binary: Types['STRING']!,
  varbinary: Types['VAR_STRING']!,
  tinyblob: Types['BLOB']!,
  blob: Types['BLOB']!,
  mediumblob: Types['BLOB']!,
  longblob: Types['BLOB']!,
  enum: Types['STRING']!,
  set: Types['STRING']!,
};
const BLOB_LENGTHS: Record<string, number> = {
  tinytext: 255,
  text: 65535,
  mediumtext: 16777215,
  longtext: 4294967295,
  tinyblob: 255,
  blob: 65535,
  mediumblob: 16777215,
  longblob: 4294967295,
};
const INT_TYPES: Record<string, [number, number]> = {
  tinyint: [Types['TINY']!, 4],
  smallint: [Types['SHORT']!, 6],
  mediumint: [Types['INT24']!, 9],
  int: [Types['LONG']!, 11],
  integer: [Types['LONG']!, 11],
  bigint: [Types['LONGLONG']!, 20],
};
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** Bytes per character of the connection's result character set (utf8mb4). */
const MAX_BYTES_PER_CHAR = 4;

function fsp(col: ColumnSchema): number {
  return col.fsp ?? 0;
}

function flagsOf(col: ColumnSchema, table: TableSchema): number {
  let f = 0;
  if (!col.nullable) f |= FieldFlags['NOT_NULL']!;
  if (table.primaryKey.includes(col.name)) f |= FieldFlags['PRI_KEY']! | FieldFlags['PART_KEY']!;
  if (table.uniqueKeys.some((u) => u.columns[0] === col.name))
    f |= FieldFlags['UNIQUE_KEY']! | FieldFlags['PART_KEY']!;
  if (table.indexes.some((i) => i.columns[0] === col.name))
    f |= FieldFlags['MULTIPLE_KEY']! | FieldFlags['PART_KEY']!;
  if (col.unsigned) f |= FieldFlags['UNSIGNED']!;
  if (col.autoIncrement) f |= FieldFlags['AUTO_INCREMENT']!;
  if (col.onUpdateCurrentTimestamp) f |= FieldFlags['ON_UPDATE_NOW']!;
  const t = col.dataType;
  if (t in INT_TYPES || t === 'decimal' || t === 'float' || t === 'double' || t === 'year')
    f |= FieldFlags['NUM']!;
  if (t in BLOB_LENGTHS || col.isJson) f |= FieldFlags['BLOB']!;
  if (
    BINARY_TYPES.has(t) ||
    t in INT_TYPES ||
    t === 'decimal' ||
    t === 'float' ||
    t === 'double' ||
    t === 'year' ||
    t === 'date' ||
    t === 'datetime' ||
    t === 'timestamp' ||
    t === 'time' ||
    t === 'bit' ||
    (col.isJson && t === 'json')
  )
    f |= FieldFlags['BINARY']!;
  if (t === 'enum') f |= FieldFlags['ENUM']!;
  if (t === 'set') f |= FieldFlags['SET']!;
  if (t === 'timestamp') f |= FieldFlags['TIMESTAMP']!;
  if (col.defaultValue === null && !col.nullable && !col.autoIncrement) f |= FieldFlags['NO_DEFAULT_VALUE']!;
  return f;
}

/**
 * The definition MySQL sends for a table column. `textCollation` is the collation id of the
 * connection's result character set (mysql2's default UTF8MB4_UNICODE_CI).
 */
export function tableColumnSpec(
  col: ColumnSchema,
  table: TableSchema,
  names: { schema: string; table: string; name: string },
  textCollation: number,
): FieldSpec {
  const t = col.dataType;
  let columnType: number;
  let columnLength: number;
  let decimals = 0;
  let characterSet = BINARY;
  if (t in INT_TYPES) {
    const [type, width] = INT_TYPES[t]!;
    columnType = type;
    columnLength =
      t === 'tinyint' && /^tinyint\(1\)/.test(col.columnType)
        ? 1
        : width - (col.unsigned && t !== 'bigint' ? 1 : 0);
  } else if (t === 'decimal' || t === 'numeric') {
    columnType = Types['NEWDECIMAL']!;
    decimals = col.scale ?? 0;
    columnLength = (col.precision ?? 10) + (decimals > 0 ? 1 : 0) + (col.unsigned ? 0 : 1);
  } else if (t === 'float') {
    columnType = Types['FLOAT']!;
    columnLength = 12;
    decimals = 31;
  } else if (t === 'double' || t === 'real') {
    columnType = Types['DOUBLE']!;
    columnLength = 22;
    decimals = 31;
  } else if (t === 'date') {
    columnType = Types['DATE']!;
    columnLength = 10;
  } else if (t === 'datetime' || t === 'timestamp') {
    columnType = t === 'datetime' ? Types['DATETIME']! : Types['TIMESTAMP']!;
    decimals = fsp(col);
    columnLength = 19 + (decimals > 0 ? decimals + 1 : 0);
  } else if (t === 'time') {
    columnType = Types['TIME']!;
    decimals = fsp(col);
    columnLength = 10 + (decimals > 0 ? decimals + 1 : 0);
  } else if (t === 'year') {
    columnType = Types['YEAR']!;
    columnLength = 4;
  } else if (t === 'bit') {
    columnType = Types['BIT']!;
    columnLength = col.length ?? 1;
  } else if (col.isJson && t === 'json') {
    columnType = Types['JSON']!;
    columnLength = 4294967295;
  } else if (t in TEXT_TYPES || col.isJson) {
    columnType = col.isJson ? Types['BLOB']! : TEXT_TYPES[t]!;
    const binary = BINARY_TYPES.has(t);
    characterSet = binary ? BINARY : textCollation;
    const chars =
      BLOB_LENGTHS[col.isJson ? 'longtext' : t] ??
      (t === 'enum' || t === 'set'
        ? Math.max(0, ...(col.enumValues ?? []).map((v) => v.length)) *
          (t === 'set' ? (col.enumValues?.length ?? 1) : 1)
        : (col.length ?? 0));
    columnLength = t in BLOB_LENGTHS || col.isJson ? chars : binary ? chars : chars * MAX_BYTES_PER_CHAR;
  } else if (t === 'geometry' || t === 'point' || t === 'linestring' || t === 'polygon') {
    columnType = Types['GEOMETRY']!;
    columnLength = 4294967295;
  } else {
    columnType = Types['VAR_STRING']!;
    characterSet = textCollation;
    columnLength = (col.length ?? 255) * MAX_BYTES_PER_CHAR;
  }
  return {
    schema: names.schema,
    table: names.table,
    orgTable: table.name,
    name: names.name,
    orgName: col.name,
    characterSet,
    columnLength,
    columnType,
    flags: flagsOf(col, table),
    decimals,
  };
}

/** What MySQL says of a computed column, from the PostgreSQL type OID of its values. */
export function computedSpec(
  name: string,
  pgType: number,
  typeModifier: number,
  textCollation: number,
  json: 'json' | 'text',
): FieldSpec {
  const base = { schema: '', table: '', orgTable: '', name, orgName: '', flags: FieldFlags['BINARY']! };
  switch (pgType) {
    case 16: // bool: MySQL's comparisons are integers
    case 20: // int8
    case 21: // int2
    case 23: // int4
      return { ...base, characterSet: BINARY, columnLength: 21, columnType: Types['LONGLONG']!, decimals: 0 };
    case 1700: {
      const scale = typeModifier >= 4 ? (typeModifier - 4) & 0xffff : 4;
      return {
        ...base,
        characterSet: BINARY,
        columnLength: 67,
        columnType: Types['NEWDECIMAL']!,
        decimals: scale,
      };
    }
    case 700:
    case 701:
      return { ...base, characterSet: BINARY, columnLength: 23, columnType: Types['DOUBLE']!, decimals: 31 };
    case 1082:
      return { ...base, characterSet: BINARY, columnLength: 10, columnType: Types['DATE']!, decimals: 0 };
    case 1114:
    case 1184: {
      const digits = typeModifier >= 0 ? typeModifier : 0;
      return {
        ...base,
        characterSet: BINARY,
        columnLength: 19 + (digits ? digits + 1 : 0),
        columnType: Types['DATETIME']!,
        decimals: digits,
      };
    }
    case 1083:
    case 1186:
      return { ...base, characterSet: BINARY, columnLength: 10, columnType: Types['TIME']!, decimals: 0 };
    case 17:
      return {
        ...base,
        characterSet: BINARY,
        columnLength: 4294967295,
        columnType: Types['BLOB']!,
        decimals: 0,
      };
    case 114:
    case 3802:
      return json === 'json'
        ? { ...base, characterSet: BINARY, columnLength: 4294967295, columnType: Types['JSON']!, decimals: 0 }
        : {
            ...base,
            flags: 0,
            characterSet: textCollation,
            columnLength: 4294967295,
            columnType: Types['BLOB']!,
            decimals: 0,
          };
    default:
      return {
        ...base,
        flags: 0,
        characterSet: textCollation,
        columnLength: 1020,
        columnType: Types['VAR_STRING']!,
        decimals: 0,
      };
  }
}
