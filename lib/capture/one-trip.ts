import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { Side } from '../stage/stage.js';
import { keyText } from '../sync/buckets.js';
import type { KeyTuple, Row } from '../translate/types.js';
import { quoteIdent } from '../sync/sql.js';
import { internals } from '../handle/knex-internals.js';
import type { CapturedWrite, CaptureTarget } from './capture.js';
import { looseLookup, movedKeys, movesGeneratedKey } from './capture.js';
import { generatedKeyOf } from './generated-keys.js';
import { insertRows } from './insert.js';
import {
  canonicalKeys,
  conflictColumns,
  isKeyValue,
  keyOfRow,
  keysFromLookup,
  returnKeysToo,
  sameColumns,
  type KeyValue,
} from './keys.js';

/** How the outbox learns the keys of a one-trip write. */
export type OneTripKeys =
  | { kind: 'known'; keys: KeyValue[][] }
  /** A one-row insert into a table whose single key column is generated (LAST_INSERT_ID(), RETURNING). */
  | { kind: 'generated' };

/** Results of the MySQL multi-statement query: START TRANSACTION, the write, the outbox insert, COMMIT. */
const WRITE_RESULT = 1;

const q = (name: string): string => quoteIdent('postgres', name);

/**
 * Whether a write can be captured in one round trip, and with which keys: the keys must be known
 * before the statement runs (given in the inserted rows, or a key lookup in the WHERE), or be the one
 * generated id of a one-row insert.
 */
export function oneTripKeys(builder: Knex.QueryBuilder, target: CaptureTarget): OneTripKeys | undefined {
  const b = internals(builder);
  const pk = target.translator.primaryKey;
  if (pk.length === 0) return undefined;
  // PostgreSQL gets the outbox insert as a WITH of the statement: one that has its own keeps the
  // transaction path.
  if (target.side === Side.Postgres && b._statements.some((st) => st.grouping === 'with')) return undefined;
  // A key the server computes from other columns: the transaction path evaluates it.
  if (Object.keys(generatedKeyOf(target.translator)).length > 0) {
    if (b._method === 'insert' || movesGeneratedKey(b, target)) return undefined;
  }
  if (b._method === 'insert') {
    const rows = insertRows(b._single.insert);
    if (rows.length === 0) return undefined;
    // An upsert naming other conflict columns updates a row the values need not name: the transaction
    // path looks its key up.
    // So does one on a MySQL table with other unique keys: MySQL updates the row of whichever conflicts.
    const upsert = Boolean(b._single.merge || b._single.ignore);
    const mysqlOtherKeys = target.side === Side.Mysql && (target.uniqueKeys?.length ?? 1) > 0;
    if (upsert && (!sameColumns(conflictColumns(b._single.onConflict), pk) || mysqlOtherKeys))
      return undefined;
    const given = rows.map((r) => keyOfRow(r, pk));
    if (given.every((k) => k !== undefined)) return { kind: 'known', keys: given };
    const only = rows[0];
    if (
      !b._single.merge &&
      !b._single.ignore &&
      rows.length === 1 &&
      pk.length === 1 &&
      only &&
      !isKeyValue(only[pk[0] as string])
    ) {
      return { kind: 'generated' };
    }
    return undefined;
  }
  if (b._method === 'update' || b._method === 'counter' || b._method === 'del') {
    const before = keysFromLookup(b._statements, pk, target.table, looseLookup(target));
    if (!before) return undefined;
    const after = b._method === 'del' ? [] : movedKeys(b, target, before);
    return { kind: 'known', keys: [...before, ...after] };
  }
  return undefined;
}

/**
 * Runs the app's write and records its keys in the outbox in one round trip: on MySQL through
 * `mysqlWrites` (a pool allowing multiple statements), on PostgreSQL as one statement on `pg`.
 */
export function runOneTrip(
  pools: { mysqlWrites: Knex; pg: Knex },
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  return target.side === Side.Mysql
    ? runMysqlOneTrip(pools.mysqlWrites, builder, target, plan)
    : runPostgresOneTrip(pools.pg, builder, target, plan);
}

/**
 * MySQL: `START TRANSACTION; <write>; INSERT INTO outbox ...; COMMIT` as one query. MySQL stops at the
 * first failing statement; the transaction is then rolled back before the connection goes back to the
 * pool, so a failed write leaves neither the row nor its keys. Results come in knex's shapes.
 */
async function runMysqlOneTrip(
  writes: Knex,
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  const write = builder.toSQL();
  const outbox = mysqlOutboxInsert(target, plan);
  // No keys (an IN list of nothing): the write alone, as autocommit.
  const [sql, bindings, writeResult] = outbox
    ? [
        `START TRANSACTION; ${write.sql}; ${outbox.sql}; COMMIT`,
        [...write.bindings, ...outbox.bindings],
        WRITE_RESULT,
      ]
    : [write.sql, [...write.bindings], -1];
  const client = writes.client as Knex.Client;
  const conn: unknown = await client.acquireConnection();
  let response: unknown;
  try {
    const obj = (await client.query(conn, { sql, bindings })) as { response: [unknown, unknown] };
    response = obj.response[0];
  } catch (error) {
    if (outbox) await rollback(client, conn);
    throw asAppError(error, builder, sql);
  } finally {
    await client.releaseConnection(conn);
  }
  const header = (writeResult < 0 ? response : (response as unknown[])[writeResult]) as {
    insertId?: number | string;
    affectedRows?: number;
  };
  if (internals(builder)._method !== 'insert') {
    return { result: header.affectedRows ?? 0, insert: undefined, keys: outbox?.keys ?? [] };
  }
  const keys =
    plan.kind === 'generated'
      ? canonicalKeys(target.translator, [[header.insertId as KeyValue]], target.side)
      : (outbox?.keys ?? []);
  return { result: [header.insertId ?? 0], insert: undefined, keys };
}

const OUTBOX_INSERT = `INSERT INTO ${META_TABLES.outbox} (table_name, pk)`;

/** `VALUES (?, ?), ...` of known keys; undefined when there are none. */
function outboxValues(
  target: CaptureTarget,
  keys: readonly KeyValue[][],
): { sql: string; bindings: unknown[]; keys: KeyTuple[] } | undefined {
  const canonical = canonicalKeys(target.translator, keys, target.side);
  if (canonical.length === 0) return undefined;
  const bindings: unknown[] = [];
  for (const k of canonical) bindings.push(target.table.name, keyText(k));
  return { sql: `VALUES ${canonical.map(() => '(?, ?)').join(', ')}`, bindings, keys: canonical };
}

function mysqlOutboxInsert(
  target: CaptureTarget,
  plan: OneTripKeys,
): { sql: string; bindings: unknown[]; keys: KeyTuple[] } | undefined {
  if (plan.kind === 'generated') {
    // The key text of a one-column integer key, as trigger capture writes it; the worker canonicalises.
    return {
      sql: `${OUTBOX_INSERT} VALUES (?, CONCAT('[', LAST_INSERT_ID(), ']'))`,
      bindings: [target.table.name],
      keys: [],
    };
  }
  const values = outboxValues(target, plan.keys);
  return values && { ...values, sql: `${OUTBOX_INSERT} ${values.sql}` };
}

/**
 * PostgreSQL: the outbox insert rides on the app's statement as a data-modifying WITH, so both commit
 * or fail together in one statement: `WITH dw_outbox AS (INSERT ... VALUES ...) <write>`, or for a
 * generated key `WITH dw_write AS (<insert> RETURNING ...), dw_outbox AS (INSERT ... SELECT ... FROM
 * dw_write) SELECT * FROM dw_write`.
 */
async function runPostgresOneTrip(
  pg: Knex,
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  const b = internals(builder);
  const pk = target.translator.primaryKey;
  const appReturning = b._single.returning;
  const addedReturning = plan.kind === 'generated' && appReturning === undefined;
  let sql: string;
  let bindings: unknown[];
  let keys: KeyTuple[] = [];
  let toApp = (rows: Row[]): Row[] => rows;
  if (plan.kind === 'generated') {
    toApp = returnKeysToo(builder, pk).toApp;
    const write = builder.toSQL();
    sql = `WITH dw_write AS (${write.sql}), dw_outbox AS (${OUTBOX_INSERT} SELECT ?, json_build_array(${pk.map(q).join(', ')})::text FROM dw_write) SELECT * FROM dw_write`;
    bindings = [...write.bindings, target.table.name];
  } else {
    const write = builder.toSQL();
    const values = outboxValues(target, plan.keys);
    sql = values ? `WITH dw_outbox AS (${OUTBOX_INSERT} ${values.sql}) ${write.sql}` : write.sql;
    bindings = [...(values?.bindings ?? []), ...write.bindings];
    keys = values?.keys ?? [];
  }
  const client = pg.client as Knex.Client;
  const conn: unknown = await client.acquireConnection();
  let resp: { rows: Row[]; rowCount: number | null };
  try {
    resp = ((await client.query(conn, { sql, bindings })) as { response: typeof resp }).response;
  } catch (error) {
    throw asAppError(error, builder, client.positionBindings(sql));
  } finally {
    await client.releaseConnection(conn);
  }
  if (b._method !== 'insert') {
    const result = appReturning === undefined ? (resp.rowCount ?? 0) : resp.rows;
    return { result, insert: undefined, keys };
  }
  if (plan.kind === 'generated') {
    keys = canonicalKeys(
      target.translator,
      resp.rows.map((r) => keyOfRow(r, pk)).filter((k): k is KeyValue[] => k !== undefined),
      target.side,
    );
  }
  const first = resp.rows[0];
  const firstId = plan.kind === 'generated' && first ? (first[pk[0] as string] ?? 0) : 0;
  const result = appReturning === undefined && !addedReturning ? resp : toApp(resp.rows);
  return { result, insert: { result, keys: [], firstId, addedReturning }, keys };
}

/** After a failed statement the transaction may still be open on the connection: end it. */
async function rollback(client: Knex.Client, conn: unknown): Promise<void> {
  try {
    await client.query(conn, { sql: 'ROLLBACK', bindings: [] });
  } catch {
    // A connection that cannot roll back is broken: close it so the pool's validation drops it.
    (conn as { destroy?: () => void }).destroy?.();
  }
}

/**
 * knex names the failing statement in the message: name the app's, not the whole round trip. `sent`
 * is the SQL as knex sent it (knex prefixed it to the message of a PostgreSQL error).
 */
function asAppError(error: unknown, builder: Knex.QueryBuilder, sent: string): unknown {
  if (!(error instanceof Error)) return error;
  const sqlMessage = (error as { sqlMessage?: unknown }).sqlMessage;
  let server = typeof sqlMessage === 'string' ? sqlMessage : error.message;
  if (server.startsWith(`${sent} - `)) server = server.slice(sent.length + 3);
  error.message = `${builder.toString()} - ${server}`;
  return error;
}
