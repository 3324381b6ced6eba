import type { Knex } from 'knex';
import type { DatabaseSchema } from '../schema/model.js';
import type { CanonicalForm, CanonicalSql, SqlFragment } from './canonical.js';
import type { Side } from './side.js';

/**
 * What one database can do, as the rest of dualwrite needs to know it. Each flag says which way the
 * code goes; none names a database.
 */
export interface DialectCapabilities {
  /** Bulk writes through `COPY … FROM STDIN` (the Syncer's fast path for large batches). @default false */
  readonly copy: boolean;
  /** Writes return rows (`RETURNING`), so a write reports the keys it touched in the same statement. @default false */
  readonly returning: boolean;
  /** A lock wait can be bounded for one transaction only (`SET LOCAL lock_timeout`). @default false */
  readonly transactionLockTimeout: boolean;
  /** DDL commits or rolls back with the transaction it runs in. @default false */
  readonly transactionalDdl: boolean;
  /**
   * Key lookups compare text by the column's collation, so a case-insensitive key also finds `'ABC'`
   * for `'abc'`: rows read by key are filtered to the canonical keys asked for, and deletes take the
   * values as stored. @default false
   */
  readonly collationAwareKeyLookups: boolean;
  /**
   * An upsert updates the row of whichever unique key conflicts (`ON DUPLICATE KEY UPDATE`), not only
   * the key it names: rows swallowed by another unique key must be checked for after the upsert.
   * @default false
   */
  readonly upsertOnAnyUniqueKey: boolean;
  /**
   * The id generator moves past explicit ids written into its column (InnoDB's AUTO_INCREMENT does; a
   * sequence does not), so moving it is an optimisation rather than a requirement. @default false
   */
  readonly identityFollowsExplicitIds: boolean;
  /** Identity columns refuse explicit values unless told (`OVERRIDING SYSTEM VALUE`). @default false */
  readonly identityOverride: boolean;
}

/** A key column as a key-set statement needs it. */
export interface KeyColumn {
  name: string;
  /** The column's type as the database formats it (`integer`, `character varying(40)`, `varchar`). */
  type: string;
  /** The COLLATE clause that compares the column's text exactly, where the side needs one; else null. */
  exact: string | null;
}

/** A statement and its bindings. */
export interface KeySetStatement {
  sql: string;
  bindings: unknown[];
}

/** SQL over sets of keys of any size (composite keys, thousands at once). */
export interface KeySetSql {
  /** The key columns of `table` (in `columns` order) with their types, from the catalog. */
  keyColumns(db: Knex, table: string, columns: readonly string[]): Promise<KeyColumn[]>;
  /**
   * Statements reading (`select` the given columns; `lock`: for update) or deleting the rows of
   * `keys` (values in this side's form, one per key column). Keys must be distinct.
   */
  keySetStatements(
    op: 'select' | 'delete',
    table: string,
    key: readonly KeyColumn[],
    keys: readonly (readonly unknown[])[],
    columns?: readonly string[],
    lock?: boolean,
  ): KeySetStatement[];
  /**
   * `key > after` over `n` key columns, with `??` for the columns and `?` for the values: a row-value
   * comparison where the planner walks the index with it, else the expanded `a > ? OR (a = ? AND b > ?)`.
   */
  keysetAfter(n: number): {
    sql: string;
    bindings: (cols: readonly string[], after: readonly unknown[]) => unknown[];
  };
}

/** What this side's server errors mean, by their codes. */
export interface DialectErrors {
  /** The statement named a table that does not exist. */
  isMissingTable(error: unknown): boolean;
  /** The transaction was chosen as a deadlock victim (retry it). */
  isDeadlock(error: unknown): boolean;
  /** A unique key refused the row. */
  isUniqueViolation(error: unknown): boolean;
  /** Server error codes that mean unreachable, shutting down or overloaded, not "the data is wrong". */
  readonly unavailableCodes: readonly string[];
}

/** The authority protocol's per-side SQL (lib/stage/authority.ts). */
export interface AuthoritySql {
  /** Reads this side's authority row with a share lock held to the end of the transaction. */
  readonly guardSql: string;
  /** This side's authority row with the age of its last change, ms, by the server's clock. */
  readonly readSql: string;
  /** The outbox trigger refused a captured write: this side is not the authoritative one now. */
  isNotAuthoritative(error: unknown): boolean;
  /** A lock wait ran out (the statement failed; the transaction is still open). */
  isLockTimeout(error: unknown): boolean;
  /** Bounds the lock waits of the following statements of `trx`; returns the undo. */
  boundLockWaits(trx: Knex.Transaction, ms: number): Promise<() => Promise<void>>;
  /** Columns of `table` that take generated ids. */
  identityColumns(knex: Knex, table: string): Promise<string[]>;
  /** The largest id `table` holds or its generator handed out; undefined when nothing generates ids. */
  identityHigh(knex: Knex, table: string, columns: readonly string[]): Promise<bigint | undefined>;
  /** Moves the id generator of `table` past `value` (never backwards). */
  moveIdentityPast(knex: Knex, table: string, columns: readonly string[], value: bigint): Promise<void>;
  /** Runs `body` in a transaction whose lock waits (DDL, table locks) are bounded by `ms`. */
  withBoundedDdlWait<T>(knex: Knex, ms: number, body: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
}

/** Canonical column text and row hashes in SQL, for verification digests (lib/verify). */
export interface DigestSql {
  /** The canonical text of a column (see CanonicalForm), or why this side cannot render it. */
  canonicalText(
    form: CanonicalForm,
    column: DatabaseSchema['tables'][number]['columns'][number],
    flavour: string,
  ): CanonicalSql;
  /** A row's hash over its canonical fields. */
  rowHash(fields: readonly SqlFragment[]): SqlFragment;
  /** The bytes of a text column, for hashing in Node. */
  textBytes(name: string): SqlFragment;
}

/**
 * Every SQL difference between the two databases dualwrite talks to. Code outside `lib/dialect/`
 * asks the dialect of a side (`dialectFor(side)`) instead of branching on the side.
 */
export interface Dialect {
  readonly side: Side;
  /** `MySQL` or `PostgreSQL`, for messages. */
  readonly label: string;
  readonly capabilities: DialectCapabilities;

  /** An identifier quoted for this side. */
  quoteIdent(name: string): string;
  /** A value as a raw-SQL binding this side's driver passes through (arrays, objects, undefined). */
  bindValue(value: unknown): unknown;
  /** The rows of a `knex.raw()` result. */
  rows(result: unknown): Record<string, unknown>[];
  /** How many rows a write affected, from a `knex.raw()` result. */
  affectedRows(result: unknown): number;

  /** The server's clock at microsecond precision, read when the statement runs (not at its start). */
  readonly clock: string;
  /** Milliseconds from `column` (a timestamp) to the clock, as an SQL expression. */
  ageMs(column: string): string;
  /** The clock plus `ms`, as a raw value for an update. */
  clockPlusMs(knex: Knex, ms: number): Knex.Raw;
  /** The row-lock clause for reads: exclusive, or shared (blocks exclusive holders only). */
  lockClause(mode: 'exclusive' | 'shared'): string;
  /** The FROM source of outbox claims (a hint that makes concurrent claims lock rows in one order). */
  claimSource(table: string): string;
  /**
   * The session of the Syncer's writes: flagged so capture triggers (and ON UPDATE triggers) skip its
   * writes, lock waits bounded by `lockTimeoutMs` where the side can bound them per transaction.
   * `end` clears what outlives the transaction.
   */
  readonly syncSession: {
    begin(trx: Knex.Transaction, lockTimeoutMs: number): Promise<void>;
    end(trx: Knex.Transaction): Promise<void>;
  };
  /** Statistics-based row estimates of the current schema's tables (`name`, `n`). */
  readonly rowEstimatesSql: string;

  /**
   * The parts of an upsert of rows with `columns` keyed by `primaryKey`: `head` (up to VALUES) and
   * `tail` (the conflict clause). `generated` gives key columns the database computes, by expression.
   */
  upsertSql(
    table: string,
    columns: readonly string[],
    primaryKey: readonly string[],
    generated?: Readonly<Record<string, string>>,
  ): { head: string; tail: string };

  readonly errors: DialectErrors;
  readonly keys: KeySetSql;
  readonly authority: AuthoritySql;
  readonly digest: DigestSql;

  /** Reads the schema of the connection's database (dualwrite_* tables left out). */
  introspect(knex: Knex): Promise<DatabaseSchema>;
}
