import type { ColumnOverride } from '../config/schema.js';
import type { ColumnSchema } from './model.js';
import { quoteIdent, type NameAllocator } from './names.js';

/** How one MySQL column becomes a PostgreSQL column. */
export interface ColumnTypeConversion {
  /** PostgreSQL type as written in DDL (enum types quoted). */
  type: string;
  /** CHECK expressions that keep MySQL's range (unsigned, TINYINT, YEAR...). */
  checks: string[];
  /** An enum type to create first (ENUM and SET columns). */
  enumType?: { name: string; values: string[] };
  /** The column is converted to an identity column (AUTO_INCREMENT). */
  identity: boolean;
  warnings: string[];
}

export interface TypeContext {
  table: string;
  /** The column holds UUIDs (decided from the data or by config). */
  uuid: boolean;
  override: ColumnOverride | undefined;
  names: NameAllocator;
}

const INT_RANGES: Record<
  string,
  { signed: [string, string]; unsigned: string; pg: string; pgUnsigned: string }
> = {
  tinyint: { signed: ['-128', '127'], unsigned: '255', pg: 'smallint', pgUnsigned: 'smallint' },
  smallint: { signed: ['-32768', '32767'], unsigned: '65535', pg: 'smallint', pgUnsigned: 'integer' },
  mediumint: { signed: ['-8388608', '8388607'], unsigned: '16777215', pg: 'integer', pgUnsigned: 'integer' },
  int: { signed: ['-2147483648', '2147483647'], unsigned: '4294967295', pg: 'integer', pgUnsigned: 'bigint' },
  integer: {
    signed: ['-2147483648', '2147483647'],
    unsigned: '4294967295',
    pg: 'integer',
    pgUnsigned: 'bigint',
  },
  bigint: {
    signed: ['-9223372036854775808', '9223372036854775807'],
    unsigned: '18446744073709551615',
    pg: 'bigint',
    pgUnsigned: 'numeric(20,0)',
  },
};

const TEXT_TYPES = new Set(['tinytext', 'text', 'mediumtext', 'longtext']);
const BLOB_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
/** MySQL spatial types (stored as bytea; see docs/type-mapping.md). */
export const SPATIAL_TYPES: ReadonlySet<string> = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);

const fspOf = (col: ColumnSchema): string => (col.fsp === null ? '' : `(${col.fsp})`);

/** Whether a MySQL column is TINYINT(1)/BOOLEAN. */
export function isTinyintBoolean(col: ColumnSchema): boolean {
  return col.dataType === 'tinyint' && /^tinyint\(1\)/.test(col.columnType);
}

/** The PostgreSQL type of a MySQL column (see docs/type-mapping.md for each choice and why). */
export function convertColumnType(col: ColumnSchema, ctx: TypeContext): ColumnTypeConversion {
  const out: ColumnTypeConversion = { type: 'text', checks: [], identity: false, warnings: [] };
  const c = quoteIdent(col.name);
  const t = col.dataType;
  const ranged = INT_RANGES[t];
  if (col.isJson) out.type = 'jsonb';
  else if (ctx.uuid && (t === 'char' || t === 'varchar')) out.type = 'uuid';
  else if (isTinyintBoolean(col) || (t === 'bit' && col.length === 1)) out.type = 'boolean';
  else if (ranged) {
    out.type = col.unsigned ? ranged.pgUnsigned : ranged.pg;
    // Keep MySQL's range where the PostgreSQL type is wider, so both sides refuse the same values.
    if (col.unsigned) out.checks.push(`${c} BETWEEN 0 AND ${ranged.unsigned}`);
    else if (t === 'tinyint' || t === 'mediumint')
      out.checks.push(`${c} BETWEEN ${ranged.signed[0]} AND ${ranged.signed[1]}`);
  } else if (t === 'decimal' || t === 'numeric') {
    out.type = `numeric(${col.precision ?? 10},${col.scale ?? 0})`;
    if (col.unsigned) out.checks.push(`${c} >= 0`);
  } else if (t === 'float') {
    out.type = 'real';
    if (col.unsigned) out.checks.push(`${c} >= 0`);
  } else if (t === 'double' || t === 'real') {
    out.type = 'double precision';
    if (col.unsigned) out.checks.push(`${c} >= 0`);
  } else if (t === 'char' || t === 'varchar') out.type = `varchar(${col.length ?? 255})`;
  else if (TEXT_TYPES.has(t)) out.type = 'text';
  else if (BLOB_TYPES.has(t)) out.type = 'bytea';
  else if (t === 'bit') out.type = `bit(${col.length ?? 1})`;
  else if (t === 'enum' || t === 'set') {
    const name = ctx.names.allocate(`${ctx.table}_${col.name}_t`);
    out.enumType = { name, values: col.enumValues ?? [] };
    out.type = t === 'set' ? `${quoteIdent(name)}[]` : quoteIdent(name);
  } else if (t === 'date') out.type = 'date';
  else if (t === 'datetime') out.type = `timestamp${fspOf(col)}`;
  else if (t === 'timestamp') out.type = `timestamptz${fspOf(col)}`;
  else if (t === 'time') out.type = `interval(${col.fsp ?? 0})`;
  else if (t === 'year') {
    out.type = 'smallint';
    out.checks.push(`${c} = 0 OR ${c} BETWEEN 1901 AND 2155`);
  } else if (SPATIAL_TYPES.has(t)) {
    out.type = 'bytea';
    out.warnings.push(
      `${t} stored as bytea holding MySQL's internal geometry bytes (SRID + WKB); no PostGIS type`,
    );
  } else {
    out.warnings.push(`no rule for MySQL type ${col.columnType}: stored as text`);
  }

  if (col.autoIncrement) {
    if (out.type === 'smallint' || out.type === 'integer' || out.type === 'bigint') out.identity = true;
    else {
      out.type = 'bigint';
      out.identity = true;
      out.warnings.push(
        'AUTO_INCREMENT BIGINT UNSIGNED became a bigint identity (values above 2^63-1 cannot be held)',
      );
    }
  }
  if (ctx.override?.type) {
    out.warnings.push(`type overridden by config: ${out.type} → ${ctx.override.type}`);
    out.type = ctx.override.type;
    out.checks = [];
    if (!/^(smallint|integer|bigint)$/i.test(out.type)) out.identity = false;
  }
  return out;
}
