import { createHash } from 'node:crypto';

export interface QueryShape {
  /** Short stable id of the shape: the first 12 hex of sha1(normalised SQL). */
  fingerprint: string;
  /** The SQL with literals and placeholders replaced by `?`, lists collapsed, identifiers unquoted, lower case. */
  shape: string;
}

/**
 * Normalises SQL so that the same query with other values (or compiled for the other dialect) has the
 * same shape: `$1`/`?`/literals become `?`, `in (?, ?, ?)` becomes `in (?+)`, quotes and case are dropped.
 */
export function normalizeSql(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.|'')*'/g, '?')
    .replace(/\$\d+/g, '?')
    .replace(/[`"]/g, '')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
    .replace(/\(\s*\?(?:\s*,\s*\?)*\s*\)/g, '(?+)');
}

const cache = new Map<string, QueryShape>();
const CACHE_MAX = 5000;

export function queryShape(sql: string): QueryShape {
  const hit = cache.get(sql);
  if (hit) return hit;
  const shape = normalizeSql(sql);
  const result = { fingerprint: createHash('sha1').update(shape).digest('hex').slice(0, 12), shape };
  // Apps build a bounded set of query texts, but raw SQL with inlined values is unbounded.
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(sql, result);
  return result;
}

/** Identifiers of a query outside string literals and comments (quoted ones unquoted). */
export function identifiersOf(sql: string): Set<string> {
  const code = sql
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^'\\]|\\.|'')*'/g, ' ')
    .replace(/[`"]/g, '');
  return new Set(code.match(/[A-Za-z_][\w$]*/g) ?? []);
}

/** The tables of `known` a query names (in FROM, JOIN, sub-queries and CTEs alike). */
export function tablesNamed(sql: string, known: readonly string[]): string[] {
  const ids = identifiersOf(sql);
  const lower = new Set([...ids].map((i) => i.toLowerCase()));
  return known.filter((t) => ids.has(t) || lower.has(t.toLowerCase()));
}
