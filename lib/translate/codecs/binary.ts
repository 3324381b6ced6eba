import { ValueProblem } from '../../errors.js';
import { reject } from '../problem.js';
import { MYSQL_LOB_BYTES } from './text.js';
import type { CodecContext, ColumnCodec } from './types.js';

function toBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  const s = String(v);
  if (/^\\x[0-9a-f]*$/i.test(s)) return Buffer.from(s.slice(2), 'hex');
  return Buffer.from(s, 'utf8');
}

/** BINARY/VARBINARY/BLOB ↔ bytea. BINARY(n) is padded with 0x00 to n bytes, as MySQL stores it. */
export function binaryCodec({ mysql }: CodecContext): ColumnCodec {
  const fixed = mysql.dataType === 'binary' ? mysql.length : null;
  const max =
    mysql.dataType === 'binary' || mysql.dataType === 'varbinary'
      ? mysql.length
      : (MYSQL_LOB_BYTES[mysql.dataType] ?? null);
  const padded = (v: unknown): Buffer => {
    const b = toBuffer(v);
    return fixed !== null && b.length < fixed ? Buffer.concat([b, Buffer.alloc(fixed - b.length)]) : b;
  };
  const toMysql = (v: unknown): Buffer => {
    const b = toBuffer(v);
    if (max !== null && b.length > max)
      reject(ValueProblem.StringTooLong, `${b.length} bytes exceed MySQL ${mysql.columnType}`);
    return b;
  };
  return {
    kind: 'binary',
    toPg: padded,
    toMysql,
    normalize: (v) => padded(v).toString('hex'),
    // `\x…` hex: canonical text that prepare() (keyForSide) turns back into the same bytes.
    key: (v) => `\\x${padded(v).toString('hex')}`,
    toApp: padded,
    prepare: (v, side) => (side === 'postgres' ? padded(v) : toBuffer(v)),
  };
}

/** BIT(n>1) ↔ bit(n): a bit string `'0101'` on PostgreSQL, a big-endian Buffer on MySQL. */
export function bitsCodec({ mysql, pg }: CodecContext): ColumnCodec {
  const n = mysql.length ?? 1;
  const bytes = Math.ceil(n / 8);
  const pgIsBits = pg.dataType === 'bit' || pg.dataType === 'varbit';
  const bits = (v: unknown): string => {
    let value: bigint;
    if (Buffer.isBuffer(v)) value = v.length === 0 ? 0n : BigInt(`0x${v.toString('hex')}`);
    else if (typeof v === 'string' && /^[01]+$/.test(v)) value = BigInt(`0b${v}`);
    else if (typeof v === 'number' || typeof v === 'bigint' || /^\d+$/.test(String(v)))
      value = BigInt(v as number);
    else return reject(ValueProblem.InvalidValue, `${JSON.stringify(v)} is not a bit value`);
    if (value < 0n || value >= 1n << BigInt(n))
      reject(ValueProblem.NumberOutOfRange, `${value} does not fit BIT(${n})`);
    return value.toString(2).padStart(n, '0');
  };
  const buffer = (v: unknown): Buffer =>
    Buffer.from(
      BigInt(`0b${bits(v)}`)
        .toString(16)
        .padStart(bytes * 2, '0'),
      'hex',
    );
  const toPg = (v: unknown): string | number | string => {
    const b = bits(v);
    if (pgIsBits) return b;
    const value = BigInt(`0b${b}`);
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  };
  return {
    kind: 'bit',
    toPg,
    toMysql: buffer,
    normalize: (v) => {
      try {
        return bits(v);
      } catch {
        return String(v);
      }
    },
    toApp: buffer,
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : buffer(v)),
  };
}

/** A boolean from whatever the app or a driver hands over: true/false, 0/1 (any non-zero is true), '0'/'1', a BIT Buffer. */
export function toBoolean(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v !== 0 && v !== 0n;
  if (Buffer.isBuffer(v)) return v.some((b) => b !== 0);
  const s = String(v).trim().toLowerCase();
  if (['1', 't', 'true', 'y', 'yes', 'on'].includes(s)) return true;
  if (['0', 'f', 'false', 'n', 'no', 'off', ''].includes(s)) return false;
  if (/^-?\d+$/.test(s)) return s.replace(/^-/, '').replace(/^0+/, '') !== '';
  return reject(ValueProblem.InvalidValue, `${JSON.stringify(v)} is not a boolean`);
}

/** TINYINT(1)/BOOLEAN/BIT(1) ↔ boolean (or ↔ a PostgreSQL integer when overridden). */
export function boolCodec({ pg }: CodecContext): ColumnCodec {
  const pgIsBool = pg.dataType === 'boolean';
  const toPg = (v: unknown): boolean | number => (pgIsBool ? toBoolean(v) : toBoolean(v) ? 1 : 0);
  const safe = (v: unknown): unknown => {
    try {
      return toBoolean(v);
    } catch {
      return String(v);
    }
  };
  return {
    kind: 'boolean',
    toPg,
    toMysql: toBoolean,
    normalize: safe,
    toApp: safe,
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : toBoolean(v)),
  };
}
