/** Parsing and formatting of the date/time texts both drivers return (dualwrite keeps them as text). */

export interface DateTimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Fraction of the second in microseconds (digits beyond 6 are truncated). */
  micros: number;
  /** Year before Christ (PostgreSQL `BC` suffix). */
  bc: boolean;
}

const DATETIME_RE =
  /^(\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)?(\s+BC)?$/i;

/** `infinity` / `-infinity` (PostgreSQL) — no MySQL type can hold them. */
export function isInfinity(text: string): boolean {
  return /^-?infinity$/i.test(text.trim());
}

/**
 * Parses `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][offset][ BC]`; an offset (Z, +00, +05:30) is applied so the
 * result is UTC. Returns null for text that is not a date.
 */
export function parseDateTime(text: string): DateTimeParts | null {
  const m = DATETIME_RE.exec(text.trim());
  if (!m) return null;
  const parts: DateTimeParts = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
    micros: Number(((m[7] ?? '') + '000000').slice(0, 6)),
    bc: Boolean(m[9]),
  };
  const offset = m[8];
  if (offset && offset.toUpperCase() !== 'Z') {
    const om = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?$/.exec(offset);
    if (om) {
      const sign = om[1] === '-' ? -1 : 1;
      const seconds = sign * (Number(om[2]) * 3600 + Number(om[3] ?? 0) * 60 + Number(om[4] ?? 0));
      if (seconds !== 0) return shiftSeconds(parts, -seconds);
    }
  }
  return parts;
}

function shiftSeconds(p: DateTimeParts, seconds: number): DateTimeParts {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  d.setUTCHours(p.hour, p.minute, p.second + seconds, 0);
  return {
    ...p,
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** A JS Date as UTC parts (millisecond precision). */
export function dateToParts(date: Date): DateTimeParts {
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    micros: date.getUTCMilliseconds() * 1000,
    bc: false,
  };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export function formatDate(p: DateTimeParts): string {
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

/** `YYYY-MM-DD HH:MM:SS` plus `digits` fraction digits (truncated, never rounded: MariaDB truncates). */
export function formatDateTime(p: DateTimeParts, digits: number): string {
  const base = `${formatDate(p)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  return digits > 0 ? `${base}.${pad(p.micros, 6).slice(0, digits)}` : base;
}

/** Zero dates or zero parts (`0000-00-00`, `2024-02-00`) that MariaDB's lax modes store and PostgreSQL rejects. */
export function isZeroDate(p: DateTimeParts): boolean {
  return p.year === 0 || p.month === 0 || p.day === 0;
}

/** Compares two UTC instants given as parts (year..micros); BC dates sort first. */
export function compareParts(a: DateTimeParts, b: DateTimeParts): number {
  if (a.bc !== b.bc) return a.bc ? -1 : 1;
  const fields: (keyof DateTimeParts)[] = ['year', 'month', 'day', 'hour', 'minute', 'second', 'micros'];
  for (const f of fields) {
    const d = (a[f] as number) - (b[f] as number);
    if (d !== 0) return a.bc ? -d : d;
  }
  return 0;
}

/**
 * A time-of-day or duration in microseconds from MySQL TIME text (`-838:59:59.5`) or PostgreSQL
 * `time`/`interval` text in IntervalStyle postgres (`1 day -02:00:00`). Null when the text carries months or
 * years (not a fixed duration) or cannot be read.
 */
export function parseDuration(text: string): number | null {
  let rest = text.trim();
  let total = 0;
  const dayRe = /^([+-]?\d+)\s+days?\s*/i;
  const dm = dayRe.exec(rest);
  if (dm) {
    total += Number(dm[1]) * 86_400_000_000;
    rest = rest.slice(dm[0].length);
  }
  if (/mon|year/i.test(rest)) return null;
  if (rest === '') return total;
  const tm = /^([+-])?(\d+):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(rest);
  if (!tm) return null;
  const sign = tm[1] === '-' ? -1 : 1;
  const micros =
    (Number(tm[2]) * 3600 + Number(tm[3]) * 60 + Number(tm[4] ?? 0)) * 1_000_000 +
    Number(((tm[5] ?? '') + '000000').slice(0, 6));
  return total + sign * micros;
}

/** `[-]HH:MM:SS` plus `digits` fraction digits; hours grow past 24 as in MySQL TIME. */
export function formatDuration(micros: number, digits: number): string {
  const sign = micros < 0 ? '-' : '';
  let rest = Math.abs(micros);
  const frac = rest % 1_000_000;
  rest = (rest - frac) / 1_000_000;
  const s = rest % 60;
  rest = (rest - s) / 60;
  const m = rest % 60;
  const h = (rest - m) / 60;
  const base = `${sign}${pad(h)}:${pad(m)}:${pad(s)}`;
  return digits > 0 ? `${base}.${pad(frac, 6).slice(0, digits)}` : base;
}
