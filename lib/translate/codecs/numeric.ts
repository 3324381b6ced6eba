import { ValueProblem } from '../../errors.js';
import type { ColumnSchema } from '../../schema/model.js';
import { canonicalNumber } from '../json.js';
import { reject } from '../problem.js';
import type { CodecContext, ColumnCodec } from './types.js';

const MYSQL_INT_BITS: Record<string, number> = {
  tinyint: 8,
  smallint: 16,
  mediumint: 24,
  int: 32,
  integer: 32,
  bigint: 64,
};
const PG_INT_BITS: Record<string, number> = { smallint: 16, integer: 32, bigint: 64 };

type Range = readonly [bigint, bigint] | null;

function mysqlIntRange(col: ColumnSchema): Range {
  if (col.dataType === 'year') return null; // checked separately: 0 or 1901..2155
  const bits = MYSQL_INT_BITS[col.dataType];
  if (bits === undefined) return null;
  if (col.unsigned) return [0n, (1n << BigInt(bits)) - 1n];
  return [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
}

function pgIntRange(col: ColumnSchema): Range {
  const bits = PG_INT_BITS[col.dataType];
  if (bits !== undefined) return [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
  if (col.dataType === 'numeric' && col.precision !== null) {
    const max = 10n ** BigInt(col.precision - (col.scale ?? 0)) - 1n;
    return [-max, max];
  }
  return null;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Integers up to 2^53 as numbers, larger ones as exact decimal strings. */
export function intOut(b: bigint): number | string {
  return b <= SAFE && b >= -SAFE ? Number(b) : b.toString();
}

export function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) reject(ValueProblem.InvalidValue, `${value} is not an integer`);
    return BigInt(value);
  }
  const text = String(value).trim();
  if (/^[+-]?\d+$/.test(text)) return BigInt(text);
  if (/^[+-]?\d+\.0*$/.test(text)) return BigInt(text.replace(/\.0*$/, ''));
  return reject(ValueProblem.InvalidValue, `${JSON.stringify(text)} is not an integer`);
}

function inRange(b: bigint, range: Range, target: string): bigint {
  if (range && (b < range[0] || b > range[1])) {
    reject(ValueProblem.NumberOutOfRange, `${b} is outside ${target}'s range ${range[0]}..${range[1]}`);
  }
  return b;
}

function checkYear(b: bigint): bigint {
  if (b !== 0n && (b < 1901n || b > 2155n)) reject(ValueProblem.NumberOutOfRange, `${b} is not a MySQL YEAR`);
  return b;
}

/** TINYINT..BIGINT (signed or unsigned) and YEAR, whatever integer type PostgreSQL holds them in. */
export function intCodec({ mysql, pg }: CodecContext): ColumnCodec {
  const mRange = mysqlIntRange(mysql);
  const pRange = pgIntRange(pg);
  const toMysql = (v: unknown): number | string => {
    const b = inRange(toBigInt(v), mRange, `MySQL ${mysql.columnType}`);
    return intOut(mysql.dataType === 'year' ? checkYear(b) : b);
  };
  const toPg = (v: unknown): number | string =>
    intOut(inRange(toBigInt(v), pRange, `PostgreSQL ${pg.columnType}`));
  const normalize = (v: unknown): unknown => {
    try {
      return intOut(toBigInt(v));
    } catch {
      return String(v);
    }
  };
  return {
    kind: mysql.dataType === 'year' ? 'year' : 'integer',
    toPg,
    toMysql,
    normalize,
    toApp: (v) => intOut(toBigInt(v)),
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : intOut(toBigInt(v))),
  };
}

/** A decimal as an exact canonical string (`'1.50'` → `'1.5'`). */
export function canonicalDecimal(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : String(value).trim();
  if (/^nan$/i.test(text) || /infinity/i.test(text)) {
    reject(ValueProblem.NumberOutOfRange, `${text} cannot be stored in a MySQL DECIMAL`);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    reject(ValueProblem.InvalidValue, `${JSON.stringify(text)} is not a number`);
  }
  const unsigned = text.replace(/^\+/, '');
  const fixed = unsigned.replace(/^(-?)\./, '$10.').replace(/\.(?=$|[eE])/, '');
  return canonicalNumber(fixed);
}

function integerDigits(canonical: string): number {
  const int = canonical.replace(/^-/, '').split('.')[0] as string;
  return int === '0' ? 0 : int.length;
}

/** Pads a canonical decimal to `scale` fraction digits, as both servers print DECIMAL(p,s). */
export function withScale(canonical: string, scale: number | null): string {
  if (!scale) return canonical;
  const [int, frac = ''] = canonical.split('.');
  return `${int}.${frac.padEnd(scale, '0')}`;
}

/** DECIMAL/NUMERIC: exact strings, the integer part checked against each side's precision. */
export function decimalCodec({ mysql, pg }: CodecContext): ColumnCodec {
  const check = (v: unknown, col: ColumnSchema, target: string): string => {
    const c = canonicalDecimal(v);
    if (col.precision !== null && integerDigits(c) > col.precision - (col.scale ?? 0)) {
      reject(ValueProblem.NumberOutOfRange, `${c} does not fit ${target} ${col.columnType}`);
    }
    return c;
  };
  return {
    kind: 'decimal',
    toPg: (v) => check(v, pg, 'PostgreSQL'),
    toMysql: (v) => check(v, mysql, 'MySQL'),
    normalize: (v) => {
      try {
        return canonicalDecimal(v);
      } catch {
        return String(v);
      }
    },
    toApp: (v) => {
      try {
        return withScale(canonicalDecimal(v), mysql.scale);
      } catch {
        return String(v);
      }
    },
    prepare: (v, side) => (side === 'postgres' ? check(v, pg, 'PostgreSQL') : canonicalDecimal(v)),
  };
}

const FLOAT32_MAX = 3.4028234663852886e38;

function toFiniteNumber(v: unknown, single: boolean): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (Number.isNaN(n) && !/^nan$/i.test(String(v).trim())) {
    reject(ValueProblem.InvalidValue, `${JSON.stringify(v)} is not a number`);
  }
  if (!Number.isFinite(n)) reject(ValueProblem.NumberOutOfRange, `${String(v)} cannot be stored in MySQL`);
  if (single && Math.abs(n) > FLOAT32_MAX)
    reject(ValueProblem.NumberOutOfRange, `${n} is outside FLOAT's range`);
  return n;
}

/**
 * FLOAT (single) and DOUBLE. FLOAT compares at 6 significant digits: MySQL's text protocol prints FLOAT
 * with 6 digits while PostgreSQL prints real's shortest form (`123457` vs `123456.79`).
 */
export function floatCodec({ mysql }: CodecContext): ColumnCodec {
  const single = mysql.dataType === 'float';
  const normalize = (v: unknown): unknown => {
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) return String(v);
    const r = single ? Number(n.toPrecision(6)) : n;
    return r === 0 ? 0 : r;
  };
  return {
    kind: single ? 'float' : 'double',
    toPg: (v) => toFiniteNumber(v, single),
    toMysql: (v) => toFiniteNumber(v, single),
    normalize,
    // The app sees FLOAT at MySQL's 6 digits whichever side served it.
    toApp: (v) => {
      const n = typeof v === 'number' ? v : Number(v);
      return single && Number.isFinite(n) ? Number(n.toPrecision(6)) : n;
    },
    prepare: (v) => toFiniteNumber(v, single),
  };
}
