import { ValueProblem } from '../../errors.js';
import { reject } from '../problem.js';
import type { CodecContext, ColumnCodec } from './types.js';

/** Byte limits of MySQL's TEXT/BLOB family (lengths of CHAR/VARCHAR/BINARY come from the schema). */
export const MYSQL_LOB_BYTES: Record<string, number> = {
  tinytext: 255,
  text: 65_535,
  mediumtext: 16_777_215,
  longtext: 4_294_967_295,
  tinyblob: 255,
  blob: 65_535,
  mediumblob: 16_777_215,
  longblob: 4_294_967_295,
};

const charCount = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

const ASTRAL = /[\u{10000}-\u{10FFFF}]/u;

function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/**
 * CHAR/VARCHAR/TEXT. MySQL keeps NUL bytes, PostgreSQL cannot: a NUL is rejected (or stripped with the
 * `strip-nul` transform). CHAR and PAD SPACE columns compare without trailing spaces.
 */
export function textCodec({ mysql, pg, override }: CodecContext): ColumnCodec {
  const transform = override?.transform;
  const isMysqlChar = mysql.dataType === 'char';
  const trimForCompare = isMysqlChar || mysql.padSpace === true || pg.padSpace === true;
  const mysqlChars = mysql.dataType === 'char' || mysql.dataType === 'varchar' ? mysql.length : null;
  const mysqlBytes = MYSQL_LOB_BYTES[mysql.dataType] ?? null;
  const pgChars = pg.dataType === 'varchar' || pg.dataType === 'char' ? pg.length : null;
  const utf8mb3 = mysql.charset === 'utf8mb3' || mysql.charset === 'utf8';

  const applyTransform = (s: string): string => {
    switch (transform) {
      case 'strip-nul':
        return s.replace(/\0/g, '');
      case 'lowercase':
        return s.toLowerCase();
      case 'trim':
        return s.trim();
      default:
        return s;
    }
  };
  const toPg = (v: unknown): string => {
    const s = applyTransform(asString(v));
    if (s.includes('\0')) reject(ValueProblem.NulByte, 'PostgreSQL text cannot hold a NUL (0x00) character');
    // A string has at least as many UTF-16 units as characters: short ones need no count.
    if (pgChars !== null && s.length > pgChars && charCount(s) > pgChars) {
      reject(ValueProblem.StringTooLong, `${charCount(s)} characters exceed PostgreSQL ${pg.columnType}`);
    }
    return s;
  };
  const toMysql = (v: unknown): string => {
    const s = asString(v);
    if (mysqlChars !== null && charCount(s) > mysqlChars) {
      reject(ValueProblem.StringTooLong, `${charCount(s)} characters exceed MySQL ${mysql.columnType}`);
    }
    if (mysqlBytes !== null && Buffer.byteLength(s) > mysqlBytes) {
      reject(ValueProblem.StringTooLong, `${Buffer.byteLength(s)} bytes exceed MySQL ${mysql.columnType}`);
    }
    if (utf8mb3 && ASTRAL.test(s))
      reject(ValueProblem.InvalidValue, 'utf8mb3 column cannot hold 4-byte characters');
    return s;
  };
  return {
    kind: 'text',
    toPg,
    toMysql,
    normalize: (v, side) => {
      let s = asString(v);
      if (side === 'mysql') s = applyTransform(s);
      return trimForCompare ? s.replace(/ +$/, '') : s;
    },
    // Keys stay exact: PostgreSQL would not find 'a ' by 'a', even where MySQL's PAD SPACE would.
    key: (v, side) => (side === 'mysql' ? applyTransform(asString(v)) : asString(v)),
    toApp: (v) => {
      const s = asString(v);
      return isMysqlChar ? s.replace(/ +$/, '') : s;
    },
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : typeof v === 'string' ? v : asString(v)),
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** A hyphenated UUID already in lower case (the common case, checked without a regular expression). */
function isLowerUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
      return false;
    }
  }
  return true;
}

/** UUIDs kept as text in MySQL and as `uuid` in PostgreSQL: hyphenated 8-4-4-4-12 only, lower-case on both sides. */
export function uuidCodec(_ctx: CodecContext): ColumnCodec {
  const valid = (v: unknown): string => {
    if (typeof v === 'string' && isLowerUuid(v)) return v;
    const s = asString(v);
    if (!UUID_RE.test(s)) reject(ValueProblem.InvalidUuid, `${JSON.stringify(s)} is not a UUID`);
    return s.toLowerCase();
  };
  return {
    kind: 'uuid',
    toPg: valid,
    toMysql: (v) => asString(v).toLowerCase(),
    normalize: (v) => asString(v).toLowerCase(),
    toApp: (v) => asString(v).toLowerCase(),
    prepare: (v, side) => {
      if (side === 'postgres') return valid(v);
      const s = asString(v);
      return UUID_RE.test(s) ? s.toLowerCase() : s;
    },
  };
}

/** Columns of types dualwrite has no rule for (spatial types...): passed through unchanged. */
export function passthroughCodec(_ctx: CodecContext): ColumnCodec {
  const normalize = (v: unknown): unknown => (Buffer.isBuffer(v) ? v.toString('hex') : v);
  return {
    kind: 'passthrough',
    toPg: (v) => v,
    toMysql: (v) => v,
    normalize,
    toApp: (v) => v,
    prepare: (v) => v,
  };
}
