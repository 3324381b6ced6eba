import { dialectFor } from '../dialect/dialects.js';
import type { Side } from '../dialect/side.js';

// Transitional: callers not yet asking the dialect directly.
export { chunks, placeholders } from '../dialect/sql.js';
export { pgArrayLiteral } from '../dialect/postgres/sql.js';

/** Quotes an identifier for `side` (see Dialect.quoteIdent). */
export function quoteIdent(side: Side, name: string): string {
  return dialectFor(side).quoteIdent(name);
}

/** A binding for `side` (see Dialect.bindValue). */
export function bindValue(value: unknown, side: Side): unknown {
  return dialectFor(side).bindValue(value);
}
