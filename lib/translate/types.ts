import type { Side } from '../stage/stage.js';

/** A row as a driver returns it or a caller writes it. */
export type Row = Record<string, unknown>;

/** Primary-key values in primary-key column order, in their canonical form (see RowTranslator.canonicalKey). */
export type KeyTuple = readonly (string | number)[];

/**
 * Value translation for one table, built from both databases' introspected schemas.
 * The single source of truth that sync, backfill, shadow reads and verification all use.
 * Every method throws TranslationError (errors.ts) for a value the target cannot hold.
 */
export interface RowTranslator {
  readonly table: string;
  /**
   * The key columns rows are identified by, in key order: the primary key, or for a table without one
   * its first NOT NULL unique key or the key declared in the config (see schema/sync-key).
   */
  readonly primaryKey: readonly string[];
  /**
   * True when a MySQL WHERE on the key can find a row whose stored key differs from the values asked
   * for (a text key part under a case- or accent-insensitive collation): the keys an app's write
   * touched must then be read from the rows, not taken from its WHERE. @default false
   */
  readonly looseKeyLookup?: boolean;
  /**
   * Key columns MySQL computes (generated columns), with their MySQL expressions: a write's key is then
   * computed from the columns they read (see capture/generated-keys). @default none
   */
  readonly generatedKey?: Readonly<Record<string, string>>;
  /** Columns present on both sides (the ones synced and compared). */
  readonly columns: readonly string[];
  /**
   * Row read from (or written for) `from`, turned into values to write on the other side. Only shared
   * columns are kept; NULL stays NULL; generated columns of the target are left out.
   */
  translate(row: Row, from: Side): Row;
  /**
   * A comparable, canonical image of a row read from `side`: equal rows normalise to deep-equal objects
   * (see docs/type-mapping.md, "Comparison"). Never throws; `ignoreInCompare` columns are left out.
   */
  normalize(row: Row, side: Side): Row;
  /** Canonical key of a row or key values read from either side (e.g. uuid lower-case, integers as numbers). */
  canonicalKey(values: readonly unknown[], side: Side): KeyTuple;
  /** Key tuple → values bound in a WHERE on `side`. */
  keyForSide(key: KeyTuple, side: Side): unknown[];
  /**
   * Values an app wrote (e.g. `is_active: 1`, a Date, an object for JSON) made fit to write on `side`.
   * Partial rows are fine; unknown columns and knex expressions pass through. Throws only towards
   * PostgreSQL; towards MySQL values it cannot read are left for MySQL to accept or refuse.
   */
  prepareWrite(values: Row, side: Side): Row;
  /** A row read from `side` in the shape the app expects, the same whichever side served it (docs/type-mapping.md). */
  toApp(row: Row, side: Side): Row;
  /** Translation family of each shared column (`uuid`, `datetime`, `set`...): reports, verify's digest plan. */
  columnKinds?(): Record<string, string>;
}

export interface TranslatorSet {
  /** Throws DualWriteError(UnknownTable) for a table that is not on both sides. */
  table(name: string): RowTranslator;
  has(name: string): boolean;
  tableNames(): string[];
}
