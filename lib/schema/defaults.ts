import { isUuid } from '../translate/codecs/text.js';
import type { ColumnSchema } from './model.js';
import { quoteLiteral } from './names.js';

export interface DefaultConversion {
  /** The PostgreSQL DEFAULT expression, or null for none. */
  expression: string | null;
  warning?: string;
}

/** Unquotes a MariaDB-style literal default (`'a''b'` → `a'b`); null when it is not a quoted literal. */
function unquote(value: string): string | null {
  const m = /^'((?:[^']|'')*)'$/s.exec(value);
  return m ? (m[1] as string).replace(/''/g, "'").replace(/\\\\/g, '\\') : null;
}

const ZERO_DATE = /^0000-00-00|^\d{4}-00-|^\d{4}-\d{2}-00/;

/**
 * Converts a column default (as introspectMysql reports it) for the converted PostgreSQL type.
 * CURRENT_TIMESTAMP keeps its precision; boolean 1/0 become true/false (PostgreSQL rejects DEFAULT 1 on a
 * boolean); b'0' becomes a bit string or boolean; zero-date defaults are dropped with a warning.
 */
export function convertDefault(col: ColumnSchema, pgType: string): DefaultConversion {
  // MySQL 8 writes expression defaults in parentheses: `(uuid())`, `(curdate())`.
  const raw = col.defaultValue?.replace(/^\((.*)\)$/s, '$1') ?? null;
  if (raw === null || col.autoIncrement) return { expression: null };
  if (/^(curdate|current_date)(\(\))?$/i.test(raw)) {
    return {
      expression: pgType === 'date' ? "((CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date)" : 'CURRENT_DATE',
    };
  }
  if (/^uuid\(\)$/i.test(raw) && pgType !== 'uuid') return { expression: 'gen_random_uuid()::text' };
  const literal = unquote(raw);
  const now = /^current_timestamp(?:\((\d?)\))?$|^now\((\d?)\)$|^localtimestamp/i.exec(raw);
  if (now) {
    const p = now[1] ?? now[2];
    const ts = p ? `CURRENT_TIMESTAMP(${p})` : 'CURRENT_TIMESTAMP';
    // timestamp without time zone holds UTC, as the MySQL side's sessions run in UTC.
    return { expression: pgType.startsWith('timestamptz') ? ts : `(${ts} AT TIME ZONE 'UTC')` };
  }
  if (pgType === 'boolean') {
    const bit = /^b'([01]+)'$/i.exec(raw);
    const v = bit ? bit[1] : (literal ?? raw);
    return { expression: /^(0+|false)$/i.test(v ?? '') ? 'false' : 'true' };
  }
  if (/^bit\(/.test(pgType)) {
    const bit = /^b'([01]*)'$/i.exec(raw);
    const n = Number(/\d+/.exec(pgType)?.[0] ?? 1);
    const bits = bit ? (bit[1] as string) : BigInt(literal ?? raw).toString(2);
    return { expression: `B'${bits.padStart(n, '0')}'` };
  }
  if (/^(date|timestamp)/.test(pgType) && literal !== null && ZERO_DATE.test(literal)) {
    return { expression: null, warning: `zero-date default ${raw} dropped (PostgreSQL cannot hold it)` };
  }
  if (pgType === 'uuid') {
    if (/^uuid\(\)$/i.test(raw)) return { expression: 'gen_random_uuid()' };
    if (literal !== null && isUuid(literal))
      return { expression: `${quoteLiteral(literal.toLowerCase())}::uuid` };
    return { expression: null, warning: `default ${raw} is not a UUID: dropped` };
  }
  if (pgType.endsWith('[]') && literal !== null) {
    const members = literal === '' ? [] : literal.split(',');
    return {
      expression: `${quoteLiteral(`{${members.map((m) => `"${m.replace(/["\\]/g, '\\$&')}"`).join(',')}}`)}::${pgType}`,
    };
  }
  if (pgType === 'bytea' && literal !== null) {
    return { expression: `'\\x${Buffer.from(literal, 'utf8').toString('hex')}'::bytea` };
  }
  if (literal !== null && pgType.startsWith('timestamptz')) {
    // A TIMESTAMP literal is UTC (dualwrite's MySQL sessions run in UTC), whatever the inserting session's zone.
    return { expression: `${quoteLiteral(`${literal}+00`)}::timestamptz` };
  }
  if (literal !== null) {
    return { expression: pgType === 'jsonb' ? `${quoteLiteral(literal)}::jsonb` : quoteLiteral(literal) };
  }
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) return { expression: raw };
  if (/^NULL$/i.test(raw)) return { expression: null };
  return { expression: null, warning: `default expression ${raw} not converted: dropped` };
}
