import knexFactory, { type Knex } from 'knex';

/**
 * Every part of knex that dualwrite reads or writes beyond knex's typings lives here: builder state,
 * the dialect client classes it extends, the client's driver-level query methods, and knex's own
 * implementations it reuses for the handle (batchInsert, transactionProvider, migrations, seeds).
 * test/handle/knex-internals.test.ts is the contract: it fails when a knex upgrade changes any of it
 * (package.json pins knex to the minor range it passed on).
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
  method?: string;
  alias?: unknown;
  aggregateDistinct?: boolean;
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
    columnInfo?: string;
    limit?: number;
    lock?: string;
  };
  _statements: BuilderStatement[];
  /** Set by `.connection(conn)`: the runner uses it instead of acquiring one. */
  _connection?: unknown;
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

/** A compiled statement as knex hands it to the client (`toSQL()` output, plus what the runner adds). */
export interface CompiledQuery {
  sql: string;
  bindings?: readonly unknown[];
  method?: string;
  options?: Record<string, unknown>;
  returning?: unknown;
  pluck?: string;
  /** Set by the driver method: the driver's raw response. */
  response?: unknown;
  output?: (...args: unknown[]) => unknown;
  queryContext?: unknown;
}

/** The driver-level methods of a knex dialect client that dualwrite's app-facing clients override. */
export interface DriverClient {
  _query(connection: unknown, obj: CompiledQuery): Promise<CompiledQuery>;
  _stream(
    connection: unknown,
    obj: CompiledQuery,
    stream: NodeJS.WritableStream,
    options: unknown,
  ): Promise<unknown>;
  processResponse(obj: CompiledQuery, runner: unknown): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  config: Knex.Config;
}

export type DriverClientClass = new (config: Knex.Config) => DriverClient;

const dialectClasses = new Map<string, DriverClientClass>();

/** knex's client class of a dialect (`mysql2`, `pg`), found from an instance without a connection. */
export function dialectClientClass(dialect: 'mysql2' | 'pg'): DriverClientClass {
  let cls = dialectClasses.get(dialect);
  if (!cls) {
    const probe = knexFactory({ client: dialect });
    cls = (probe.client as object).constructor as DriverClientClass;
    dialectClasses.set(dialect, cls);
  }
  return cls;
}

/**
 * Names of the public methods of knex's query builder (its prototype chain, EventEmitter's
 * included). A method knex adds in a new version appears here, so the handle's builder can refuse
 * what it does not know instead of letting it run uncaptured.
 */
export function queryBuilderMethods(knex: Knex): Set<string> {
  const names = new Set<string>();
  let proto: object | null = Object.getPrototypeOf(knex.queryBuilder()) as object | null;
  while (proto && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && !name.startsWith('_') && typeof d?.value === 'function') names.add(name);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return names;
}

/** Methods knex's Raw has (the handle's raw objects answer the same). */
export function rawMethods(knex: Knex): Set<string> {
  const names = new Set<string>();
  let proto: object | null = Object.getPrototypeOf(knex.raw('select 1')) as object | null;
  while (proto && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && !name.startsWith('_') && typeof d?.value === 'function') names.add(name);
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return names;
}

/** What a knex instance has on top of its query-starting methods (knex's own property list). */
export function instanceMembers(knex: Knex): Set<string> {
  return new Set(Object.getOwnPropertyNames(knex).filter((n) => !n.startsWith('_')));
}

/** knex's `context` object, whose methods take the instance they run for as `this`. */
interface KnexContext {
  batchInsert(this: unknown, table: string, rows: readonly unknown[], chunkSize?: number): unknown;
  transactionProvider(this: unknown, config?: unknown): () => Promise<unknown>;
}

function contextOf(knex: Knex): KnexContext {
  return (knex as unknown as { context: KnexContext }).context;
}

/** knex's batchInsert, running its chunks through `target`'s transaction() and builders. */
export function batchInsertThrough(
  knex: Knex,
  target: unknown,
  table: string,
  rows: readonly unknown[],
  chunkSize?: number,
): unknown {
  return contextOf(knex).batchInsert.call(target, table, rows, chunkSize);
}

/** knex's transactionProvider over `target`'s transaction(). */
export function transactionProviderThrough(
  knex: Knex,
  target: unknown,
  config?: unknown,
): () => Promise<unknown> {
  return contextOf(knex).transactionProvider.call(target, config);
}

type Constructor<T> = new (knex: unknown) => T;

/** knex's Migrator, driving `target` (the handle: migrations' statements go through it). */
export function migratorFor(knex: Knex, target: unknown): Knex.Migrator {
  const ctor = (knex.migrate as object).constructor as Constructor<Knex.Migrator>;
  return new ctor(target);
}

/** knex's Seeder, driving `target`. */
export function seederFor(knex: Knex, target: unknown): Knex.Seeder {
  const ctor = (knex.seed as object).constructor as Constructor<Knex.Seeder>;
  return new ctor(target);
}

/** The client's connection handling, for statements dualwrite sends itself on a pool or a transaction. */
export interface ConnectionClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
  query(connection: unknown, obj: CompiledQuery): Promise<CompiledQuery>;
  positionBindings(sql: string): string;
}

export function connectionClient(knex: Knex | Knex.Transaction): ConnectionClient {
  return knex.client as unknown as ConnectionClient;
}

/** A transaction's knex (its client says so). */
export function isKnexTransaction(value: unknown): value is Knex.Transaction {
  return Boolean(
    value &&
    typeof value === 'function' &&
    (value as { isTransaction?: boolean }).isTransaction === true &&
    (value as { client?: { transacting?: boolean } }).client?.transacting === true,
  );
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
