import { createHash } from 'node:crypto';
import type { DualWriteConfig } from '../config/schema.js';
import type { Row } from '../translate/types.js';

/** How a sensitive value appears in reports and logs. */
export const SensitiveMode = { Hash: 'hash', Redact: 'redact' } as const;
export type SensitiveMode = (typeof SensitiveMode)[keyof typeof SensitiveMode];

export const REDACTED = '[redacted]';

/**
 * Hides the values of sensitive columns (this is clinical data). Every report, log line and
 * mismatch record goes through one of these, so a sensitive value is never written anywhere.
 * `hash` keeps equal values recognisably equal (`sha256:` + 16 hex) without revealing them.
 */
export interface Redactor {
  isSensitive(table: string | null, column: string): boolean;
  value(table: string | null, column: string, value: unknown): unknown;
  row(table: string | null, row: Row): Row;
}

type RedactConfig = Pick<DualWriteConfig, 'sensitiveMode'> & {
  tables: Readonly<Record<string, { sensitiveColumns?: readonly string[] | undefined }>>;
};

export function hashValue(value: unknown): string {
  const text = Buffer.isBuffer(value)
    ? value.toString('hex')
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

export function createRedactor(config: RedactConfig): Redactor {
  const byTable = new Map<string, Set<string>>();
  // A column named sensitive in any table is also hidden where the table is unknown (raw reads, joins).
  const anywhere = new Set<string>();
  for (const [table, options] of Object.entries(config.tables)) {
    const columns = new Set((options.sensitiveColumns ?? []).map((c) => c.toLowerCase()));
    byTable.set(table, columns);
    for (const c of columns) anywhere.add(c);
  }
  const isSensitive = (table: string | null, column: string): boolean => {
    const c = column.toLowerCase();
    return (table !== null && byTable.get(table)?.has(c) === true) || anywhere.has(c);
  };
  const value = (table: string | null, column: string, v: unknown): unknown => {
    if (v === null || v === undefined || !isSensitive(table, column)) return v;
    return config.sensitiveMode === SensitiveMode.Redact ? REDACTED : hashValue(v);
  };
  return {
    isSensitive,
    value,
    row(table, row) {
      const out: Row = {};
      for (const [k, v] of Object.entries(row)) out[k] = value(table, k, v);
      return out;
    },
  };
}
