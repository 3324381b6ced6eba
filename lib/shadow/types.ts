import type { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';

/** Request context the app attached through `db.withContext(...)`; carried into mismatch reports. */
export type RequestContext = Readonly<Record<string, string | number | boolean | null>>;

/**
 * One read served by the handle in a stage with shadow reads. The handle passes it to the observer
 * after the authoritative result has been returned to the caller; the observer decides (sampling,
 * queue bound) whether to run it on the other side.
 */
export interface ReadObservation {
  /** Main table of the query (the builder's table), or null for raw reads without a declared table. */
  table: string | null;
  /** SQL as compiled for the authoritative side, with placeholders (no values). */
  sql: string;
  /** Side that served the read. */
  servedBy: Side;
  /** Rows of the authoritative side as the app received them (MySQL: exactly as its knex settings give them). */
  rows: readonly Row[];
  /** Authoritative execution time, ms. */
  latencyMs: number;
  context: RequestContext | undefined;
  /** Runs the same query (compiled for the other dialect, values translated) on the other side. */
  runOnOther(): Promise<readonly Row[]>;
  /** When the read happened (epoch ms). */
  at: number;
}

/** Receives reads to compare. Must never throw into the app and must return immediately. */
export interface ReadObserver {
  observe(observation: ReadObservation): void;
}
