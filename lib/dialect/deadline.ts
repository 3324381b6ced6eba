import { DualWriteError, ErrorCode } from '../errors.js';

/** Time limits of a database connection; the defaults apply to every pool dualwrite opens. */
export interface ConnectionTimeouts {
  /** Establishing a connection (TCP, TLS, authentication), ms. @default 10000 */
  connectMs?: number;
  /** Waiting for a free connection of the pool, ms. @default 10000 */
  acquireMs?: number;
  /**
   * One statement: the server cancels it after this long (PostgreSQL `statement_timeout`, MariaDB
   * `max_statement_time`, MySQL `max_execution_time` for reads), and a connection whose server does not
   * answer within it and one more second is destroyed (the pool opens a new one). @default 30000
   */
  statementMs?: number;
  /** Idle time before TCP keepalive probes start, ms. @default 10000 */
  keepAliveMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<ConnectionTimeouts> = {
  connectMs: 10_000,
  acquireMs: 10_000,
  statementMs: 30_000,
  keepAliveMs: 10_000,
};

/** Margin of the client-side bound over the server-side one: the server normally answers first. */
const CLIENT_MARGIN_MS = 1000;

type QueryFn = (...args: unknown[]) => unknown;

/**
 * Wraps `conn.query` so a statement with no answer within `statementMs` (a connection stuck in the
 * network: the server never saw it, or its answer never came back) fails with a Timeout error and
 * the connection is destroyed. Streamed queries (no callback) are left alone.
 */
export function boundStatements(conn: { query: QueryFn }, statementMs: number, destroy: () => void): void {
  const original = conn.query.bind(conn) as QueryFn;
  const limit = statementMs + CLIENT_MARGIN_MS;
  conn.query = (...args: unknown[]) => {
    const at = args.findIndex((a) => typeof a === 'function');
    if (at < 0) return original(...args);
    const callback = args[at] as (...result: unknown[]) => void;
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      answered = true;
      callback(
        new DualWriteError(
          ErrorCode.Timeout,
          `database did not answer within ${limit} ms: the connection is closed and replaced`,
        ),
      );
      destroy();
    }, limit);
    args[at] = (...result: unknown[]) => {
      clearTimeout(timer);
      if (answered) return;
      answered = true;
      callback(...result);
    };
    return original(...args);
  };
}
