import { ValueProblem } from '../../errors.js';
import type { Side } from '../../stage/stage.js';
import { reject } from '../problem.js';
import {
  compareParts,
  dateToParts,
  formatDate,
  formatDateTime,
  formatDuration,
  isInfinity,
  isZeroDate,
  parseDateTime,
  parseDuration,
  type DateTimeParts,
} from '../temporal.js';
import type { CodecContext, ColumnCodec } from './types.js';

function partsOf(v: unknown): DateTimeParts {
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) reject(ValueProblem.InvalidValue, 'Invalid Date');
    return dateToParts(v);
  }
  const text = String(v);
  if (isInfinity(text)) reject(ValueProblem.DateOutOfRange, `${text} cannot be stored in MySQL`);
  const parts = parseDateTime(text);
  if (!parts) return reject(ValueProblem.InvalidValue, `${JSON.stringify(text)} is not a date`);
  return parts;
}

/** MySQL DATE/DATETIME hold years 0001..9999 (AD only). */
function checkMysqlYears(p: DateTimeParts, text: unknown): void {
  if (p.bc || p.year < 1 || p.year > 9999) {
    reject(ValueProblem.DateOutOfRange, `${String(text)} is outside MySQL's date range`);
  }
}

const TIMESTAMP_MIN = parseDateTime('1970-01-01 00:00:01') as DateTimeParts;
const TIMESTAMP_MAX = parseDateTime('2038-01-19 03:14:07.999999') as DateTimeParts;

/** The normalised text of a temporal value that does not parse (kept so comparisons still see it). */
function rawText(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

/**
 * DATE, DATETIME(fsp) → timestamp(fsp) and TIMESTAMP(fsp) → timestamptz(fsp), as UTC text.
 * Zero dates become NULL or are rejected (per-column `zeroDate`, default reject); values MySQL cannot
 * hold (infinity, BC, year > 9999, TIMESTAMP outside 1970..2038) are rejected towards MySQL.
 */
export function dateTimeCodec({ mysql, override }: CodecContext): ColumnCodec {
  const kind = mysql.dataType === 'date' ? 'date' : mysql.dataType === 'timestamp' ? 'timestamp' : 'datetime';
  const fsp = mysql.fsp ?? 0;
  const zeroToNull = override?.zeroDate === 'null';
  const format = (p: DateTimeParts, digits: number): string =>
    kind === 'date' ? formatDate(p) : formatDateTime(p, digits);
  const zero = (v: unknown): null => {
    if (zeroToNull) return null;
    return reject(ValueProblem.ZeroDate, `zero date ${String(v)} cannot be stored in PostgreSQL`);
  };
  // The text MySQL returns for this column, already in the form written below (no zero parts): kept as is.
  const canonical = new RegExp(
    kind === 'date'
      ? '^\\d{4}-\\d{2}-\\d{2}$'
      : `^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}${fsp > 0 ? `\\.\\d{${fsp}}` : ''}$`,
  );
  const toPg = (v: unknown): string | null => {
    if (
      typeof v === 'string' &&
      canonical.test(v) &&
      !v.startsWith('0000') &&
      v.slice(5, 7) !== '00' &&
      v.slice(8, 10) !== '00'
    ) {
      return kind === 'timestamp' ? `${v}+00` : v;
    }
    const p = partsOf(v);
    if (isZeroDate(p)) return zero(v);
    const text = format(p, fsp) + (p.bc ? ' BC' : '');
    return kind === 'timestamp' ? `${text}+00` : text;
  };
  const toMysql = (v: unknown): string => {
    const p = partsOf(v);
    checkMysqlYears(p, v);
    if (kind === 'timestamp' && (compareParts(p, TIMESTAMP_MIN) < 0 || compareParts(p, TIMESTAMP_MAX) > 0)) {
      reject(ValueProblem.DateOutOfRange, `${String(v)} is outside MySQL TIMESTAMP's range (1970..2038)`);
    }
    return format(p, fsp);
  };
  const view = (v: unknown, digits: number): string | null => {
    if (typeof v === 'string' && isInfinity(v)) return v.trim().toLowerCase();
    const p = v instanceof Date ? dateToParts(v) : parseDateTime(String(v));
    if (!p) return rawText(v);
    if (isZeroDate(p)) return null;
    return format(p, digits) + (p.bc ? ' BC' : '');
  };
  return {
    kind,
    toPg,
    toMysql,
    normalize: (v) => view(v, 6),
    toApp: (v) => view(v, fsp),
    prepare: (v: unknown, side: Side) => {
      if (side === 'postgres') return toPg(v);
      const p = partsOf(v);
      return isZeroDate(p) ? String(v) : format(p, fsp);
    },
  };
}

const MYSQL_TIME_MAX = (838 * 3600 + 59 * 60 + 59) * 1_000_000;
const DAY = 86_400_000_000;

/** TIME → interval (or `time` when overridden): durations of ±838:59:59 as MySQL prints them. */
export function timeCodec({ mysql, pg }: CodecContext): ColumnCodec {
  const fsp = mysql.fsp ?? 0;
  const pgIsTimeOfDay = pg.dataType === 'time' || pg.dataType === 'timetz';
  const micros = (v: unknown): number => {
    const m = parseDuration(String(v));
    if (m === null)
      return reject(ValueProblem.DateOutOfRange, `${String(v)} is not a fixed duration MySQL TIME can hold`);
    return m;
  };
  const toPg = (v: unknown): string => {
    const m = micros(v);
    if (pgIsTimeOfDay && (m < 0 || m >= DAY)) {
      reject(ValueProblem.DateOutOfRange, `${String(v)} is not a time of day`);
    }
    return formatDuration(m, 6);
  };
  const toMysql = (v: unknown): string => {
    const m = micros(v);
    if (Math.abs(m) > MYSQL_TIME_MAX)
      reject(ValueProblem.DateOutOfRange, `${String(v)} is outside MySQL TIME's range`);
    return formatDuration(m, fsp);
  };
  const view = (v: unknown, digits: number): string => {
    const m = parseDuration(String(v));
    return m === null ? String(v) : formatDuration(m, digits);
  };
  return {
    kind: 'time',
    toPg,
    toMysql,
    normalize: (v) => view(v, 6),
    toApp: (v) => view(v, fsp),
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : toMysql(v)),
  };
}
