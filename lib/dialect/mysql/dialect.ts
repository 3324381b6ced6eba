import type { Knex } from 'knex';
import type { Dialect } from '../dialect.js';
import { Side } from '../side.js';
import * as authority from './authority.js';
import * as digest from './digest.js';
import { introspectMysql } from './introspect.js';
import { keyColumns, keySetStatements } from './keys.js';
import { affectedRows, bindValue, quoteIdent, rows } from './sql.js';

const errorCode = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/** A MySQL generation expression over an upsert's inserted values: each column `c` read as VALUES(`c`). */
function overValues(expression: string): string {
  return expression.replace(/`((?:[^`]|``)+)`/g, (column) => `VALUES(${column})`);
}

/**
 * `a > ? OR (a = ? AND b > ?)`: MySQL/MariaDB's range optimiser handles the expanded form of a
 * composite key's keyset predicate (row values `(a, b) > (?, ?)` are not always turned into a range).
 */
function keysetAfter(n: number): ReturnType<Dialect['keys']['keysetAfter']> {
  if (n === 1) return { sql: '(?? > ?)', bindings: (cols, after) => [cols[0], after[0]] };
  const terms: string[] = [];
  for (let i = 0; i < n; i++) {
    const eqs = Array.from({ length: i }, () => '?? = ?');
    terms.push(`(${[...eqs, '?? > ?'].join(' AND ')})`);
  }
  return {
    sql: `(${terms.join(' OR ')})`,
    bindings: (cols, after) => {
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) out.push(cols[j], after[j]);
        out.push(cols[i], after[i]);
      }
      return out;
    },
  };
}

/** MySQL 8.0+ / MariaDB 10.11 (InnoDB). */
export const mysqlDialect: Dialect = {
  side: Side.Mysql,
  label: 'MySQL',
  capabilities: {
    copy: false,
    returning: false,
    transactionLockTimeout: false,
    transactionalDdl: false,
    collationAwareKeyLookups: true,
    upsertOnAnyUniqueKey: true,
    identityFollowsExplicitIds: true,
    identityOverride: false,
  },
  quoteIdent,
  bindValue,
  rows,
  affectedRows,
  clock: 'NOW(6)',
  ageMs: (column) => `TIMESTAMPDIFF(MICROSECOND, ${column}, NOW(6)) / 1000`,
  clockPlusMs: (knex: Knex, ms: number) =>
    knex.raw('DATE_ADD(NOW(6), INTERVAL ? MICROSECOND)', [Math.round(ms * 1000)]),
  lockClause: (mode) => (mode === 'exclusive' ? 'FOR UPDATE' : 'LOCK IN SHARE MODE'),
  // InnoDB: claims walk the primary key, as the deletes do, so concurrent workers lock rows in one
  // order (a claim through the available_at index locked index entries first and deadlocked deletes).
  claimSource: (table) => `${quoteIdent(table)} FORCE INDEX (PRIMARY)`,
  // User variables outlive the transaction: reset before the pooled connection is reused. Lock waits
  // are bounded per session (innodb_lock_wait_timeout), not per transaction.
  syncSession: {
    begin: async (trx) => {
      await trx.raw('SET @dualwrite_sync = 1');
    },
    end: async (trx) => {
      await trx.raw('SET @dualwrite_sync = NULL');
    },
  },
  rowEstimatesSql:
    'SELECT TABLE_NAME AS name, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  upsertSql(table, columns, primaryKey, generated = {}) {
    const q = quoteIdent;
    const nonKey = columns.filter((c) => !primaryKey.includes(c));
    // A generated key column is not inserted: its incoming value is its expression over the inserted values.
    const incoming = (c: string): string =>
      !columns.includes(c) && generated[c] ? `(${overValues(generated[c])})` : `VALUES(${q(c)})`;
    // MySQL updates the row of whichever unique key conflicts: only a row of the same key takes the values.
    const samePk = primaryKey.map((c) => `${q(c)} <=> ${incoming(c)}`).join(' AND ');
    const updated = [...nonKey, ...primaryKey.filter((c) => columns.includes(c))];
    return {
      head: `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES `,
      tail: ` ON DUPLICATE KEY UPDATE ${updated.map((c) => `${q(c)} = IF(${samePk}, VALUES(${q(c)}), ${q(c)})`).join(', ')}`,
    };
  },
  errors: {
    isMissingTable: (e) => errorCode(e) === 'ER_NO_SUCH_TABLE',
    isDeadlock: (e) => (e as { errno?: unknown } | null)?.errno === 1213,
    isUniqueViolation: (e) => (e as { errno?: unknown } | null)?.errno === 1062,
    unavailableCodes: [
      'ER_CON_COUNT_ERROR',
      'ER_SERVER_SHUTDOWN',
      'PROTOCOL_CONNECTION_LOST',
      'PROTOCOL_SEQUENCE_TIMEOUT',
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
    canonicalText: (form, column, flavour) =>
      digest.canonicalText(form, column, flavour === 'mariadb' ? 'mariadb' : 'mysql'),
    rowHash: digest.rowHash,
    textBytes: digest.textBytes,
  },
  introspect: (knex) => introspectMysql(knex),
};
