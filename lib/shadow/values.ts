import { FieldKind } from '../dialect/fields.js';
import { canonicalNumber } from '../translate/json.js';
import { normalizeJson } from '../translate/codecs/json.js';
import {
  dateToParts,
  formatDateTime,
  formatDuration,
  parseDateTime,
  parseDuration,
  type DateTimeParts,
} from '../translate/temporal.js';
import { canonicalJson } from './canonical.js';

/**
 * A value made comparable: `value` is its canonical image (equal values have equal canonical text), and
 * `alts` the other images a side may legitimately have given at the precision both sides hold (a time or
 * decimal rounded on one server and truncated on the other).
 */
export interface Cell {
  value: unknown;
  alts?: string[];
}

const NUMBER_TEXT = /^\s*-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*$/i;
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

function text(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'string' ? v : String(v);
}

/** A JSON document (object or array) by its own shape: text that starts like one and parses. */
function asJsonDocument(v: string): string | undefined {
  const t = v.trimStart();
  // Text that does not parse stays as it is (normalizeJson gives it back unchanged).
  return t[0] === '{' || t[0] === '[' ? normalizeJson(v) : undefined;
}

function json(v: unknown): Cell {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return { value: normalizeJson(v) };
  // A driver (or the app's typeCast) that parsed the document itself.
  return { value: normalizeJson(JSON.stringify(v) ?? 'null') };
}

/** `digits` fraction digits of a decimal text, rounded half away from zero (both servers' rule) or truncated. */
export function roundDecimal(canonical: string, digits: number, mode: 'round' | 'trunc'): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(canonical);
  if (!m) return canonical;
  const [, sign = '', int = '0', frac = ''] = m;
  if (frac.length <= digits) return canonical;
  let kept = int + frac.slice(0, digits);
  if (mode === 'round' && Number(frac[digits]) >= 5) {
    // Add one unit in the last kept place, carrying through the digits.
    const chars = kept.split('');
    let i = chars.length - 1;
    while (i >= 0) {
      if (chars[i] === '9') {
        chars[i] = '0';
        i -= 1;
      } else {
        chars[i] = String(Number(chars[i]) + 1);
        break;
      }
    }
    kept = (i < 0 ? '1' : '') + chars.join('');
  }
  const intLen = kept.length - digits;
  const out = digits > 0 ? `${kept.slice(0, intLen)}.${kept.slice(intLen)}` : kept;
  return canonicalNumber(`${sign}${out}`);
}

function decimalText(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? canonicalNumber(String(v)) : undefined;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string' && NUMBER_TEXT.test(v)) return canonicalNumber(v.trim());
  return undefined;
}

function decimal(v: unknown, precision: number | null): Cell {
  const t = decimalText(v);
  if (t === undefined) return { value: text(v) };
  if (precision === null) return { value: t };
  const rounded = roundDecimal(t, precision, 'round');
  const truncated = roundDecimal(t, precision, 'trunc');
  return rounded === truncated ? { value: rounded } : { value: rounded, alts: [truncated] };
}

/** Floating point: 12 significant digits (the servers print doubles differently and sum in other orders). */
function float(v: unknown): Cell {
  const n = typeof v === 'number' ? v : typeof v === 'string' && NUMBER_TEXT.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) return { value: text(v) };
  const at = (digits: number): string => canonicalNumber(String(Number(n.toPrecision(digits))));
  const value = at(12);
  const coarse = at(11);
  return coarse === value ? { value } : { value, alts: [coarse] };
}

function bool(v: unknown): Cell {
  if (typeof v === 'boolean') return { value: v };
  if (typeof v === 'number' || typeof v === 'bigint') return { value: Number(v) !== 0 };
  if (Buffer.isBuffer(v)) return { value: v.some((b) => b !== 0) };
  const t = text(v).trim().toLowerCase();
  if (['1', 't', 'true', 'y', 'yes', 'on'].includes(t)) return { value: true };
  if (['0', 'f', 'false', 'n', 'no', 'off'].includes(t)) return { value: false };
  return { value: text(v) };
}

function addSecond(p: DateTimeParts): DateTimeParts {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  d.setUTCHours(p.hour, p.minute, p.second + 1, 0);
  return { ...dateToParts(d), micros: 0, bc: p.bc };
}

/** A date-time at `digits` fraction digits, truncated and rounded (MariaDB truncates, MySQL and PostgreSQL round). */
function dateTime(v: unknown, digits: number): Cell {
  const parts = v instanceof Date ? dateToParts(v) : parseDateTime(text(v));
  if (!parts) return { value: text(v).trim() };
  const unit = 10 ** (6 - digits);
  const truncated = formatDateTime({ ...parts, micros: Math.floor(parts.micros / unit) * unit }, digits);
  let up = Math.round(parts.micros / unit) * unit;
  let p = parts;
  if (up >= 1_000_000) {
    p = addSecond(parts);
    up = 0;
  }
  const rounded = formatDateTime({ ...p, micros: up }, digits);
  const bc = parts.bc ? ' BC' : '';
  return rounded === truncated ? { value: truncated + bc } : { value: truncated + bc, alts: [rounded + bc] };
}

function time(v: unknown, digits: number): Cell {
  const micros = parseDuration(text(v));
  if (micros === null) return { value: text(v).trim() };
  const unit = 10 ** (6 - digits);
  const truncated = formatDuration(Math.trunc(micros / unit) * unit, digits);
  const rounded = formatDuration(Math.round(micros / unit) * unit, digits);
  return rounded === truncated ? { value: truncated } : { value: truncated, alts: [rounded] };
}

/** Values whose column type is not known (no field metadata): compared by their own shape. */
function byShape(v: unknown, padded: boolean): Cell {
  if (typeof v === 'number' || typeof v === 'bigint') return { value: decimalText(v) ?? String(v) };
  if (typeof v === 'boolean') return { value: v };
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { value: `0x${Buffer.from(v).toString('hex')}` };
  if (v instanceof Date) return dateTime(v, 3);
  if (typeof v === 'object') return json(v);
  const s = padded ? text(v).replace(/ +$/, '') : text(v);
  const doc = asJsonDocument(s);
  return { value: doc ?? s };
}

/** Like byShape, plus what only the text can tell when nothing else is known: times and numbers written as text. */
function unknownKind(v: unknown): Cell {
  if (typeof v === 'string') {
    const s = v.replace(/ +$/, '');
    if (TIMESTAMP_TEXT.test(s)) {
      const digits = /\.(\d+)/.exec(s)?.[1]?.replace(/0+$/, '').length ?? 0;
      return dateTime(s, Math.min(digits, 6));
    }
    if (NUMBER_TEXT.test(s)) return { value: canonicalNumber(s.trim()) };
    return byShape(s, true);
  }
  return byShape(v, true);
}

/**
 * The comparable cell of a value whose column is not a known table column: by the kind both sides'
 * field metadata agree on (`null`: no metadata), at the precision both sides hold.
 */
export function normalizeCell(v: unknown, kind: FieldKind | null, precision: number | null): Cell {
  if (v === null || v === undefined) return { value: null };
  switch (kind) {
    case FieldKind.Json:
      return json(v);
    case FieldKind.DateTime:
      return dateTime(v, precision ?? 6);
    case FieldKind.Time:
      return time(v, precision ?? 6);
    case FieldKind.Date:
      return { value: v instanceof Date ? v.toISOString().slice(0, 10) : text(v).trim() };
    case FieldKind.Integer:
    case FieldKind.Decimal:
      return decimal(v, precision);
    case FieldKind.Float:
      return float(v);
    case FieldKind.Boolean:
      return bool(v);
    case FieldKind.Binary:
      return Buffer.isBuffer(v) ? { value: `0x${v.toString('hex')}` } : byShape(v, false);
    case FieldKind.PaddedText:
      return byShape(v, true);
    case FieldKind.Text:
    case FieldKind.Other:
      return byShape(v, false);
    case null:
      return unknownKind(v);
  }
}

/** Whether two cells hold the same value at the precision both sides hold. */
export function cellsEqual(a: Cell, b: Cell): boolean {
  const x = canonicalJson(a.value);
  const y = canonicalJson(b.value);
  if (x === y) return true;
  if (!a.alts && !b.alts) return false;
  const xs = [x, ...(a.alts ?? []).map((t) => canonicalJson(t))];
  const ys = new Set([y, ...(b.alts ?? []).map((t) => canonicalJson(t))]);
  return xs.some((t) => ys.has(t));
}
