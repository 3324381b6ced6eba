import type { Knex } from 'knex';

/**
 * The parts of knex's query builder state that dualwrite reads. They are not in knex's typings but
 * have been stable across knex 0.x–3.x; every read of them goes through this module.
 */
export interface BuilderStatement {
  grouping: string;
  type: string;
  column?: unknown;
  operator?: string;
  value?: unknown;
  not?: boolean;
  bool?: string;
  asColumn?: boolean;
}

export interface BuilderInternals {
  _method: string;
  _single: {
    table?: unknown;
    insert?: unknown;
    update?: Record<string, unknown>;
    counter?: Record<string, number>;
    returning?: unknown;
    onConflict?: unknown;
    merge?: { updates?: unknown };
    ignore?: boolean;
    pluck?: string;
    limit?: number;
    lock?: string;
  };
  _statements: BuilderStatement[];
}

export function internals(builder: Knex.QueryBuilder): BuilderInternals {
  return builder as unknown as BuilderInternals;
}

export function isKnexRaw(value: unknown): value is Knex.Raw {
  return Boolean(value && typeof value === 'object' && (value as { isRawInstance?: boolean }).isRawInstance);
}

/** `users as u` → { name: 'users', alias: 'u' }; `users` → alias = name. */
export function parseTableRef(ref: unknown): { name: string; alias: string } | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /^\s*([\w$.]+)(?:\s+as\s+([\w$]+))?\s*$/i.exec(ref);
  if (!m?.[1]) return undefined;
  const name = m[1].includes('.') ? (m[1].split('.').pop() ?? m[1]) : m[1];
  return { name, alias: m[2] ?? name };
}

/** Column reference `u.id` / `users.id` / `id` → `id` when it names the table (or has no qualifier). */
export function bareColumn(column: unknown, table: { name: string; alias: string }): string | undefined {
  if (typeof column !== 'string') return undefined;
  const parts = column.split('.');
  if (parts.length === 1) return column;
  if (parts.length === 2 && (parts[0] === table.alias || parts[0] === table.name)) return parts[1];
  return undefined;
}

/**
 * Calls `listener` with the driver's own response to the query (mysql2's `[rows, fields]`, pg's Result):
 * the field metadata knex drops from builder results. knex passes it as the query object's `response`
 * of its `query-response` event.
 */
export function onDriverResponse(
  query: Knex.QueryBuilder | Knex.Raw,
  listener: (response: unknown) => void,
): void {
  (query as unknown as NodeJS.EventEmitter).on(
    'query-response',
    (_result: unknown, obj: { response?: unknown }) => listener(obj.response),
  );
}

/**
 * Runs a query and returns its result, the driver's response (field metadata) and the time of the
 * database call alone: from knex's `query` event (emitted once a pooled connection is held) to its
 * `query-response`, so waiting for a connection of a busy pool is not counted, ms.
 */
export async function runObserved(
  query: Knex.QueryBuilder | Knex.Raw,
): Promise<{ result: unknown; response: unknown; ms: number }> {
  let sent: number | undefined;
  let received: number | undefined;
  let response: unknown;
  const emitter = query as unknown as NodeJS.EventEmitter;
  emitter.on('query', () => (sent = performance.now()));
  emitter.on('query-response', (_result: unknown, obj: { response?: unknown }) => {
    received = performance.now();
    response = obj.response;
  });
  const started = performance.now();
  const result: unknown = await query;
  const ended = performance.now();
  return { result, response, ms: (received ?? ended) - (sent ?? started) };
}
