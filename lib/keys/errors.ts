import { KeyQueryError } from '../errors.js';
import { describeKeys } from './codec.js';

/** Characters of a failed statement shown in a message. */
const SHOWN_SQL_CHARS = 200;

const STATEMENT_START = /^\s*(select|insert|update|delete|with|copy|create|alter|set|truncate|lock)\b/i;

/**
 * knex prefixes a driver error's message with the statement, bindings interpolated (`<sql> - <message>`):
 * hundreds of KB for a large key set. Splits it back into the database's message and the statement.
 */
export function splitDriverMessage(message: string): { message: string; sql: string | null } {
  if (!STATEMENT_START.test(message)) return { message, sql: null };
  const at = message.lastIndexOf(' - ');
  if (at < 0) return { message, sql: null };
  return { message: message.slice(at + 3), sql: message.slice(0, at) };
}

/** A statement cut to a readable length, with its full length when cut. */
export function shortSql(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length <= SHOWN_SQL_CHARS
    ? flat
    : `${flat.slice(0, SHOWN_SQL_CHARS)}… (${flat.length.toLocaleString('en-US')} characters)`;
}

/** The driver's SQLSTATE / error code of `error` or of one of its causes. */
export function sqlStateOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    if (e instanceof KeyQueryError) return e.sqlState;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('DW_')) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Wraps a failed statement over keys of `table` in a KeyQueryError:
 * `PlaylistTrack: look up target keys (8000 keys from [1,1] to [8,3503]) failed: stack depth limit
 * exceeded [54001]; SQL: SELECT … (412,331 characters)`. A KeyQueryError passes through unchanged.
 */
export function keyQueryError(
  table: string,
  operation: string,
  keys: readonly (readonly unknown[])[],
  error: unknown,
): unknown {
  if (error instanceof KeyQueryError || !(error instanceof Error)) return error;
  const { message, sql } = splitDriverMessage(error.message);
  const state = sqlStateOf(error);
  const text =
    `${table}: ${operation} (${describeKeys(keys)}) failed: ${message}` +
    (state ? ` [${state}]` : '') +
    (sql ? `; SQL: ${shortSql(sql)}` : '');
  return new KeyQueryError(text, { table, operation, sqlState: state, cause: error });
}

/** Runs `step`, turning its failure into a KeyQueryError naming table, operation and keys. */
export async function keyStep<T>(
  table: string,
  operation: string,
  keys: readonly (readonly unknown[])[],
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw keyQueryError(table, operation, keys, error);
  }
}
