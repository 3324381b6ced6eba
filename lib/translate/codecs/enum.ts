import { parse as parsePgArray } from 'postgres-array';
import { ValueProblem } from '../../errors.js';
import { reject } from '../problem.js';
import type { CodecContext, ColumnCodec } from './types.js';
/** The member of `members` matching `value` as MySQL does (case-insensitively), or null. */
function memberOf(value: string, members: readonly string[]): string | null {
  if (members.includes(value)) return value;
  const lower = value.toLowerCase();
  return members.find((m) => m.toLowerCase() === lower) ?? null;
}

/** ENUM ↔ PostgreSQL enum type: values are matched case-insensitively, as MySQL does, then stored in their declared case. */
export function enumCodec({ mysql, pg }: CodecContext): ColumnCodec {
  const mMembers = mysql.enumValues ?? [];
  const pMembers = pg.dataType === 'enum' ? (pg.enumValues ?? []) : null;
  const toPg = (v: unknown): string => {
    const s = String(v);
    if (pMembers === null) return s;
    const member = memberOf(s, pMembers);
    if (member === null)
      reject(ValueProblem.InvalidEnumValue, `${JSON.stringify(s)} is not a member of ${pg.columnType}`);
    return member;
  };
  const toMysql = (v: unknown): string => {
    const s = String(v);
    const member = memberOf(s, mMembers);
    if (member === null)
      reject(ValueProblem.InvalidEnumValue, `${JSON.stringify(s)} is not a member of ${mysql.columnType}`);
    return member;
  };
  return {
    kind: 'enum',
    toPg,
    toMysql,
    normalize: (v) => memberOf(String(v), mMembers) ?? String(v),
    toApp: (v) => memberOf(String(v), mMembers) ?? String(v),
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : (memberOf(String(v), mMembers) ?? String(v))),
  };
}

/**
 * SET ↔ array of the enum type. Members are de-duplicated and kept in declaration order, as MySQL stores
 * them; the app and comparisons see MySQL's `'a,c'` text.
 */
export function setCodec({ mysql, pg }: CodecContext): ColumnCodec {
  const members = mysql.enumValues ?? [];
  const pgArray = pg.dataType === 'array';
  const items = (v: unknown): string[] => {
    if (Array.isArray(v)) return v.map(String);
    const s = String(v);
    if (s.startsWith('{') && s.endsWith('}')) return parsePgArray(s);
    return s === '' ? [] : s.split(',');
  };
  /** Declaration order, no duplicates; unknown members raise (strict) or are kept at the end (lenient). */
  const canonical = (v: unknown, strict: boolean): string[] => {
    const found = new Set<string>();
    const unknown: string[] = [];
    for (const item of items(v)) {
      const member = memberOf(item, members);
      if (member !== null) found.add(member);
      else if (strict)
        reject(
          ValueProblem.InvalidEnumValue,
          `${JSON.stringify(item)} is not a member of ${mysql.columnType}`,
        );
      else unknown.push(item);
    }
    return [...members.filter((m) => found.has(m)), ...[...new Set(unknown)].sort()];
  };
  const toPg = (v: unknown): string[] | string => {
    const list = canonical(v, true);
    return pgArray ? list : list.join(',');
  };
  return {
    kind: 'set',
    toPg,
    toMysql: (v) => canonical(v, true).join(','),
    normalize: (v) => canonical(v, false).join(','),
    toApp: (v) => canonical(v, false).join(','),
    prepare: (v, side) => (side === 'postgres' ? toPg(v) : canonical(v, false).join(',')),
  };
}
