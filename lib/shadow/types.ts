import type { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';
import type { ResultField } from '../dialect/fields.js';

export { FieldKind, type ResultField } from '../dialect/fields.js';

/** Request context the app attached through `db.withContext(...)`; carried into mismatch reports. */
export type RequestContext = Readonly<Record<string, string | number | boolean | null>>;

/** One run of a read on one side, timed around the database call only. */
export interface ReadRun {
  rows: readonly Row[];
  /** Field metadata of the result; null when the driver gave none. */
  fields: readonly ResultField[] | null;
  /** Time of the database call, ms (query building and shaping left out, the same way on both sides). */
  ms: number;
  /** SQL and bindings as run on that side (knex's `?` placeholders), for the mismatch record and replay. */
  sql: string;
  /** Positional (array) or named (object) bindings. */
  bindings: unknown;
}

/**
 * One read served by the handle in a stage with shadow reads. The handle passes it to the observer
 * after the authoritative result has been returned to the caller; the observer decides (sampling,
 * queue bound) whether to run it on the other side.
 */
export interface ReadObservation {
  /** Main table of the query (the builder's table, a raw read's declared table), or null. */
  table: string | null;
  /** SQL as compiled for the authoritative side, with placeholders (no values). */
  sql: string;
  /** Bindings of `sql` (positional array, or named object for raw reads). @default [] */
  bindings?: unknown;
  /** Side that served the read. */
  servedBy: Side;
  /** Rows of the authoritative side as the app received them (MySQL: exactly as its knex settings give them). */
  rows: readonly Row[];
  /** Field metadata of the served result. @default null (values are compared by their own shape) */
  fields?: readonly ResultField[] | null;
  /** Authoritative execution time as the app saw it, ms (not used for the latency comparison). */
  latencyMs: number;
  context: RequestContext | undefined;
  /** Runs the same query (compiled for that side's dialect, values translated) on `side`. */
  run(side: Side): Promise<ReadRun>;
  /** When the read happened (epoch ms). */
  at: number;
}

/** Receives reads to compare. Must never throw into the app and must return immediately. */
export interface ReadObserver {
  observe(observation: ReadObservation): void;
}
