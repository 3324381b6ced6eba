import type { Knex } from 'knex';
import type { Dialect } from '../dialect.js';
import { Side } from '../side.js';
import * as authority from './authority.js';
import * as digest from './digest.js';
import { introspectPostgres } from './introspect.js';
import { keyColumns, keySetStatements } from './keys.js';
import { affectedRows, bindValue, quoteIdent, rows } from './sql.js';

const errorCode = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** `(a, b) > (?, ?)`: PostgreSQL compares row values and walks a composite index with them. */
function keysetAfter(n: number): ReturnType<Dialect['keys']['keysetAfter']> {
  if (n === 1) return { sql: '(?? > ?)', bindings: (cols, after) => [cols[0], after[0]] };
  const list = Array.from({ length: n }, () => '??').join(', ');
  const vals = Array.from({ length: n }, () => '?').join(', ');
  return { sql: `((${list}) > (${vals}))`, bindings: (cols, after) => [...cols, ...after] };
}

/** PostgreSQL 15. */
export const postgresDialect: Dialect = {
  side: Side.Postgres,
  label: 'PostgreSQL',
  capabilities: {
    copy: true,
    returning: true,
    transactionLockTimeout: true,
    transactionalDdl: true,
    collationAwareKeyLookups: false,
    upsertOnAnyUniqueKey: false,
    identityFollowsExplicitIds: false,
    identityOverride: true,
  },
  quoteIdent,
  bindValue,
  rows,
  affectedRows,
  // clock_timestamp(), not now(): the time the statement reads it, not the transaction's start.
  clock: 'clock_timestamp()',
  ageMs: (column) => `EXTRACT(EPOCH FROM (clock_timestamp() - ${column})) * 1000`,
  clockPlusMs: (knex: Knex, ms: number) =>
    knex.raw("clock_timestamp() + (? * interval '1 millisecond')", [ms]),
  lockClause: (mode) => (mode === 'exclusive' ? 'FOR UPDATE' : 'FOR SHARE'),
  claimSource: (table) => quoteIdent(table),
  // Transaction-local settings: nothing outlives the transaction. One round trip for both.
  syncSession: {
    begin: async (trx, lockTimeoutMs) => {
      await (lockTimeoutMs > 0
        ? trx.raw("SELECT set_config('dualwrite.sync', '1', true), set_config('lock_timeout', ?, true)", [
            String(Math.floor(lockTimeoutMs)),
          ])
        : trx.raw("SELECT set_config('dualwrite.sync', '1', true)"));
    },
    end: async () => undefined,
  },
  rowEstimatesSql:
    "SELECT relname AS name, reltuples AS n FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace = current_schema()::regnamespace",
  upsertSql(table, columns, primaryKey) {
    const q = quoteIdent;
    const nonKey = columns.filter((c) => !primaryKey.includes(c));
    const conflict = `ON CONFLICT (${primaryKey.map(q).join(', ')})`;
    return {
      head: `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) OVERRIDING SYSTEM VALUE VALUES `,
      tail:
        nonKey.length === 0
          ? ` ${conflict} DO NOTHING`
          : ` ${conflict} DO UPDATE SET ${nonKey.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}`,
    };
  },
  errors: {
    isMissingTable: (e) => errorCode(e) === '42P01',
    isDeadlock: (e) => errorCode(e) === '40P01',
    isUniqueViolation: (e) => errorCode(e) === '23505',
    unavailableCodes: [
      '57P01', // admin_shutdown
      '57P02', // crash_shutdown
      '57P03', // cannot_connect_now
      '53300', // too_many_connections
      '55P03', // lock_not_available (lock_timeout): a busy target, retried without counting
    ],
  },
  keys: { keyColumns, keySetStatements, keysetAfter },
  authority: {
    guardSql: authority.AUTHORITY_GUARD_SQL,
    readSql: authority.AUTHORITY_READ_SQL,
    isNotAuthoritative: authority.isNotAuthoritative,
    isLockTimeout: authority.isLockTimeout,
    boundLockWaits: authority.boundLockWaits,
    identityColumns: authority.identityColumns,
    identityHigh: authority.identityHigh,
    moveIdentityPast: authority.moveIdentityPast,
    withBoundedDdlWait: authority.withBoundedDdlWait,
  },
  digest: {
    canonicalText: (form, column) => digest.canonicalText(form, column),
    rowHash: digest.rowHash,
    textBytes: digest.textBytes,
  },
  introspect: (knex) => introspectPostgres(knex),
};
