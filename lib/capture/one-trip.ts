import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { Side } from '../stage/stage.js';
import { keyText } from '../sync/buckets.js';
import type { KeyTuple } from '../translate/types.js';
import { internals } from '../handle/knex-internals.js';
import type { CapturedWrite, CaptureTarget } from './capture.js';
import { movedKeys } from './capture.js';
import { insertRows } from './insert.js';
import { canonicalKeys, isKeyValue, keyOfRow, keysFromLookup, type KeyValue } from './keys.js';

/** How the outbox learns the keys of a one-trip write. */
type OneTripKeys =
  | { kind: 'known'; keys: KeyValue[][] }
  /** A one-row insert into a table whose single key column is generated: LAST_INSERT_ID() names it. */
  | { kind: 'generated' };

/** Results of the multi-statement query: START TRANSACTION, the write, the outbox insert, COMMIT. */
const WRITE_RESULT = 1;

/**
 * Whether a MySQL write can be captured in one round trip, and with which keys: the keys must be known
 * before the statement runs (given in the inserted rows, or a key lookup in the WHERE), or be the one
 * generated id of a one-row insert.
 */
export function oneTripKeys(builder: Knex.QueryBuilder, target: CaptureTarget): OneTripKeys | undefined {
  if (target.side !== Side.Mysql) return undefined;
  const b = internals(builder);
  const pk = target.translator.primaryKey;
  if (pk.length === 0) return undefined;
  if (b._method === 'insert') {
    const rows = insertRows(b._single.insert);
    if (rows.length === 0) return undefined;
    // An upsert naming other conflict columns updates a row the values need not name: the transaction
    // path looks its key up.
    if ((b._single.merge || b._single.ignore) && !conflictsOnKey(b._single.onConflict, pk)) return undefined;
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
    const before = keysFromLookup(b._statements, pk, target.table);
    if (!before) return undefined;
    const after = b._method === 'del' ? [] : movedKeys(b, target, before);
    return { kind: 'known', keys: [...before, ...after] };
  }
  return undefined;
}

function conflictsOnKey(onConflict: unknown, pk: readonly string[]): boolean {
  const cols = Array.isArray(onConflict) ? onConflict : onConflict === undefined ? [] : [onConflict];
  return cols.length === pk.length && pk.every((c) => cols.includes(c));
}

/**
 * Runs the app's write and records its keys in the outbox in ONE round trip on `writes` (a MySQL pool
 * with multiple statements allowed): `START TRANSACTION; <write>; INSERT INTO outbox ...; COMMIT`.
 * MySQL stops at the first failing statement; the transaction is then rolled back before the
 * connection goes back to the pool, so a failed write leaves neither the row nor its keys.
 * Returns the result in the shape knex gives for the statement.
 */
export async function runOneTrip(
  writes: Knex,
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  const write = builder.toSQL().toNative();
  const outbox = outboxInsert(target, plan);
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
    throw asAppError(error, builder);
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

function outboxInsert(
  target: CaptureTarget,
  plan: OneTripKeys,
): { sql: string; bindings: unknown[]; keys: KeyTuple[] } | undefined {
  const head = `INSERT INTO ${META_TABLES.outbox} (table_name, pk) VALUES `;
  if (plan.kind === 'generated') {
    // The key text of a one-column integer key, as trigger capture writes it; the worker canonicalises.
    return { sql: `${head}(?, CONCAT('[', LAST_INSERT_ID(), ']'))`, bindings: [target.table.name], keys: [] };
  }
  const keys = canonicalKeys(target.translator, plan.keys, target.side);
  if (keys.length === 0) return undefined;
  const bindings: unknown[] = [];
  for (const k of keys) bindings.push(target.table.name, keyText(k));
  return { sql: head + keys.map(() => '(?, ?)').join(', '), bindings, keys };
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

/** knex names the failing statement in the message: name the app's, not the whole round trip. */
function asAppError(error: unknown, builder: Knex.QueryBuilder): unknown {
  const sqlMessage = (error as { sqlMessage?: unknown }).sqlMessage;
  if (error instanceof Error && typeof sqlMessage === 'string') {
    error.message = `${builder.toString()} - ${sqlMessage}`;
  }
  return error;
}
