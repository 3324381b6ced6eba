import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { Side } from '../stage/stage.js';
import { keyText } from '../sync/buckets.js';
import type { KeyTuple, Row } from '../translate/types.js';
import { quoteIdent } from '../sync/sql.js';
import { internals } from '../handle/knex-internals.js';
import type { StatementWrap } from '../handle/statement-context.js';
import { appStatement } from './app-statement.js';
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
 * Runs the app's write and records its keys in the outbox in one round trip: on MySQL the builder must
 * be built on a pool allowing multiple statements, on PostgreSQL it runs as one statement. knex
 * runs the app's statement as usual (events, hooks, results); the outbox insert is added to it at the
 * driver (see StatementWrap).
 */
export function runOneTrip(
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  return target.side === Side.Mysql
    ? runMysqlOneTrip(builder, target, plan)
    : runPostgresOneTrip(builder, target, plan);
}

/**
 * MySQL: `START TRANSACTION; <write>; INSERT INTO outbox ...; COMMIT` as one query. MySQL stops at the
 * first failing statement; the transaction is then rolled back before the connection goes back to the
 * pool, so a failed write leaves neither the row nor its keys.
 */
async function runMysqlOneTrip(
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  const outbox = mysqlOutboxInsert(target, plan);
  // No keys (an IN list of nothing): the write alone, as autocommit.
  const wrap: StatementWrap | undefined = outbox && {
    wrap: (sql, bindings) => ({
      sql: `START TRANSACTION; ${sql}; ${outbox.sql}; COMMIT`,
      bindings: [...bindings, ...outbox.bindings],
    }),
    unwrap: (response) => {
      const [results, fields] = response as [unknown[], unknown[]];
      return [results[WRITE_RESULT], fields[WRITE_RESULT]];
    },
    failed: (connection) => mysqlRollback(connection),
  };
  const { result, response } = await appStatement(builder, wrap);
  const header = (Array.isArray(response) ? response[0] : undefined) as { insertId?: KeyValue } | undefined;
  const keys =
    plan.kind === 'generated' && internals(builder)._method === 'insert'
      ? canonicalKeys(target.translator, [[header?.insertId as KeyValue]], target.side)
      : (outbox?.keys ?? []);
  return { result, insert: undefined, keys };
}

/** After a failed multi-statement query the transaction it began may still be open: end it. */
function mysqlRollback(connection: unknown): Promise<void> {
  const conn = connection as { query(sql: string, cb: (err: Error | null) => void): void; destroy?(): void };
  return new Promise((resolve) => {
    conn.query('ROLLBACK', (err) => {
      // A connection that cannot roll back is broken: close it so the pool's validation drops it.
      if (err) conn.destroy?.();
      resolve();
    });
  });
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
 * dw_write) SELECT * FROM dw_write`. The driver sees the app's SQL with its `$n` placeholders already
 * numbered: the outbox's parameters are numbered after them.
 */
async function runPostgresOneTrip(
  builder: Knex.QueryBuilder,
  target: CaptureTarget,
  plan: OneTripKeys,
): Promise<CapturedWrite> {
  const b = internals(builder);
  const pk = target.translator.primaryKey;
  let keys: KeyTuple[] = [];
  let wrap: StatementWrap | undefined;
  if (plan.kind === 'generated') {
    const returning = b._single.returning;
    const cols = (
      Array.isArray(returning) ? returning : returning === undefined ? [] : [returning]
    ) as string[];
    builder.returning([...new Set([...cols, ...pk])]);
    wrap = {
      wrap: (sql, bindings) => ({
        sql: `WITH dw_write AS (${sql}), dw_outbox AS (${OUTBOX_INSERT} SELECT $${bindings.length + 1}, json_build_array(${pk.map(q).join(', ')})::text FROM dw_write) SELECT * FROM dw_write`,
        bindings: [...bindings, target.table.name],
      }),
      // The statement is a SELECT of the inserted rows: the client is told what it was.
      unwrap: (response) => Object.assign(response as object, { command: 'INSERT' }),
    };
  } else {
    const values = outboxValues(target, plan.keys);
    keys = values?.keys ?? [];
    wrap = values && {
      wrap: (sql, bindings) => {
        let n = bindings.length;
        const numbered = values.sql.replace(/\?/g, () => `$${++n}`);
        return {
          sql: `WITH dw_outbox AS (${OUTBOX_INSERT} ${numbered}) ${sql}`,
          bindings: [...bindings, ...values.bindings],
        };
      },
      unwrap: (response) => response,
    };
  }
  const { result, response } = await appStatement(builder, wrap, target.hints);
  if (plan.kind === 'generated') {
    const rows = (response as { rows?: Row[] } | undefined)?.rows ?? [];
    keys = canonicalKeys(
      target.translator,
      rows.map((r) => keyOfRow(r, pk)).filter((k): k is KeyValue[] => k !== undefined),
      target.side,
    );
  }
  return { result, insert: undefined, keys };
}
