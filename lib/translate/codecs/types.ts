import type { ColumnOverride } from '../../config/schema.js';
import type { ColumnSchema } from '../../schema/model.js';
import type { Side } from '../../stage/stage.js';

/**
 * How the values of one column move between the two databases. Codecs never see null/undefined (the table
 * translator keeps NULL as NULL) and throw ValueRejection for a value the target cannot hold.
 */
export interface ColumnCodec {
  /** A short name of the translation family, e.g. `uuid`, `datetime`, `set` (shown in reports). */
  readonly kind: string;
  /** A value read from MySQL (or prepared for it) → the value to write to PostgreSQL. */
  toPg(value: unknown): unknown;
  /** A value read from PostgreSQL (or prepared for it) → the value to write to MySQL. */
  toMysql(value: unknown): unknown;
  /** The canonical, comparable form of a value read from `side`. Never throws. */
  normalize(value: unknown, side: Side): unknown;
  /** The canonical primary-key part of a value read from `side` (exact: no trimming). @default normalize */
  key?(value: unknown, side: Side): unknown;
  /** The app-facing form of a value read from `side`. */
  toApp(value: unknown, side: Side): unknown;
  /** An app-written value made fit to write on `side`; throws only when `side` cannot hold it. */
  prepare(value: unknown, side: Side): unknown;
}

export interface CodecContext {
  mysql: ColumnSchema;
  pg: ColumnSchema;
  override: ColumnOverride | undefined;
}
