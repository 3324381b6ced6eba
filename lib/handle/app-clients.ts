import { Transform } from 'node:stream';
import QueryStream from 'pg-query-stream';
import type { Side } from '../stage/stage.js';
import { asMysqlError } from '../shape/pg-errors.js';
import {
  mysqlResponse,
  rowConverter,
  type PgField,
  type PgResult,
  type ShapeSource,
} from '../shape/pg-rows.js';
import { dialectClientClass, type CompiledQuery, type DriverClientClass } from './knex-internals.js';
import { currentStatement, isImplicitTransaction } from './statement-context.js';

/**
 * Event an app-facing client emits with each query as it goes to the driver (SQL and bindings), e.g.
 * a one-round-trip write with its outbox insert; knex's own `query` event shows the app's statement.
 */
export const SENT_EVENT = 'dualwrite:sent';

/** MySQL's SERVER_STATUS_IN_TRANS flag of an OK packet. */
const IN_TRANSACTION = 1;

/**
 * An app statement dualwrite ran inside a transaction of its own (to commit it with its outbox row)
 * reports MySQL's status as the autocommit statement the app sent would have.
 */
function asAutocommit(side: Side, connection: unknown, response: unknown, oneTrip: boolean): void {
  if (side !== 'mysql' || !(oneTrip || isImplicitTransaction(connection)) || !Array.isArray(response)) return;
  const header = response[0] as { serverStatus?: number } | undefined;
  if (header && typeof header.serverStatus === 'number') header.serverStatus &= ~IN_TRANSACTION;
}

/** What the app-facing clients ask the handle for every statement that reaches their driver. */
export interface DriverHooks {
  /**
   * A statement that did not come through dualwrite's capture is about to run on `side`: throws
   * (before anything runs) when it is a write that a syncing stage must capture.
   */
  admit(side: Side, obj: CompiledQuery): void;
  /** How PostgreSQL's answers are shaped as MySQL's (the app's mysql2 settings, both schemas). */
  shape(): ShapeSource;
}

/**
 * The knex client class of the app's statements on one side: the dialect's own client, with the one
 * driver-level gate every execution path of knex passes through (`_query` for awaited, called-back and
 * raw statements, `_stream` for streams and pipes). A transaction's client is made from the same
 * prototype, so statements of transactions pass the gate too.
 */
export function appClientClass(side: Side, hooks: DriverHooks): DriverClientClass {
  const gated = gatedClientClass(side, hooks);
  return side === 'mysql' ? gated : mysqlShapedClientClass(gated, hooks);
}

function gatedClientClass(side: Side, hooks: DriverHooks): DriverClientClass {
  const Base = dialectClientClass(side === 'mysql' ? 'mysql2' : 'pg');
  return class AppClient extends Base {
    override async _query(connection: unknown, obj: CompiledQuery): Promise<CompiledQuery> {
      const ctx = currentStatement();
      if (!ctx) hooks.admit(side, obj);
      if (ctx?.kind !== 'app' || !ctx.wrap) {
        this.emit(SENT_EVENT, { sql: obj.sql, bindings: obj.bindings });
        const done = await super._query(connection, obj);
        if (ctx?.kind === 'app') asAutocommit(side, connection, obj.response, false);
        if (ctx) ctx.response = obj.response;
        return done;
      }
      // dualwrite's outbox insert rides with the app's statement; knex keeps seeing the app's SQL.
      const { sql, bindings } = obj;
      const wrapped = ctx.wrap.wrap(sql, bindings ?? []);
      obj.sql = wrapped.sql;
      obj.bindings = wrapped.bindings;
      this.emit(SENT_EVENT, { sql: obj.sql, bindings: obj.bindings });
      try {
        await super._query(connection, obj);
      } catch (error) {
        await ctx.wrap.failed?.(connection);
        throw error;
      } finally {
        obj.sql = sql;
        obj.bindings = bindings;
      }
      obj.response = ctx.wrap.unwrap(obj.response);
      asAutocommit(side, connection, obj.response, true);
      ctx.response = obj.response;
      return obj;
    }

    override _stream(
      connection: unknown,
      obj: CompiledQuery,
      stream: NodeJS.WritableStream,
      options: unknown,
    ): Promise<unknown> {
      if (!currentStatement()) hooks.admit(side, obj);
      return super._stream(connection, obj, stream, options);
    }
  };
}

/** pg result rows (arrays, as asked) as objects keyed by column name, for dualwrite's own reading. */
function objectRows(result: PgResult): PgResult {
  const names = (result.fields ?? []).map((f) => f.name);
  const rows = (result.rows ?? []).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
  return { ...result, rows: rows as unknown as unknown[][] };
}

/** Query options that are mysql2's (nestTables, rowsAsArray, typeCast...), not pg's. */
function mysqlOptions(options: Record<string, unknown> | undefined): Record<string, unknown> {
  const { rowMode: _r, types: _t, ...rest } = options ?? {};
  return rest;
}

/**
 * The PostgreSQL client of the app's statements: knex's pg dialect for the SQL, answering as knex's
 * mysql2 client does — rows typed and named as mysql2 with the app's settings gives MySQL's (raw reads
 * `[rows, fields]`, writes `[ResultSetHeader]`, inserts `[insertId]`, updates the affected count),
 * errors with MySQL's code, errno and sqlState, streams too.
 */
function mysqlShapedClientClass(Base: DriverClientClass, hooks: DriverHooks): DriverClientClass {
  return class MysqlShapedPgClient extends Base {
    override async _query(connection: unknown, obj: CompiledQuery): Promise<CompiledQuery> {
      const source = hooks.shape();
      const options = mysqlOptions(obj.options);
      obj.options = { ...(obj.options ?? {}), rowMode: 'array' };
      try {
        await super._query(connection, obj);
      } catch (error) {
        throw asMysqlError(error, { database: source.database, qualifiedKeys: !source.mariadb });
      }
      const raw = objectRows(obj.response as PgResult);
      const ctx = currentStatement();
      if (ctx) ctx.response = raw;
      (obj as { pgResponse?: unknown }).pgResponse = raw;
      obj.response = mysqlResponse(obj.response as PgResult, options, source, ctx?.hints);
      return obj;
    }

    override processResponse(obj: CompiledQuery, runner: unknown): unknown {
      if (obj == null) return undefined;
      // Output functions of knex's pg compiler (columnInfo...) read pg's own result.
      if (obj.output) return obj.output.call(runner, (obj as { pgResponse?: unknown }).pgResponse);
      const response = obj.response as [Record<string, unknown>[] & Record<string, unknown>, unknown];
      const rows = response[0];
      switch (obj.method) {
        case 'select':
          return rows;
        case 'first':
          return rows[0];
        case 'pluck':
          return rows.map((r) => r[obj.pluck as string]);
        case 'insert':
          return [rows['insertId']];
        case 'del':
        case 'update':
        case 'counter':
          return rows['affectedRows'];
        default:
          return response;
      }
    }

    override _stream(
      connection: unknown,
      obj: CompiledQuery,
      stream: NodeJS.WritableStream,
      options: unknown,
    ): Promise<unknown> {
      if (!currentStatement()) hooks.admit('postgres', obj);
      const source = hooks.shape();
      const hints = currentStatement()?.hints;
      const names = { database: source.database, qualifiedKeys: !source.mariadb };
      const query = new QueryStream(obj.sql, obj.bindings as unknown[], {
        ...(options as object),
        rowMode: 'array',
      });
      let convert: ((row: unknown[]) => unknown) | undefined;
      const shaped = new Transform({
        objectMode: true,
        transform(row: unknown[], _enc, done) {
          try {
            convert ??= rowConverter(
              (query as unknown as { cursor: { _result: { fields: PgField[] } } }).cursor._result.fields,
              mysqlOptions(obj.options),
              source,
              hints,
            );
            done(null, convert(row));
          } catch (error) {
            done(error as Error);
          }
        },
      });
      return new Promise((resolve, reject) => {
        const pgStream = (connection as { query(q: unknown): NodeJS.ReadableStream }).query(query);
        pgStream.on('error', (error: unknown) => {
          const mapped = asMysqlError(error, names);
          reject(mapped as Error);
          stream.emit('error', mapped);
        });
        shaped.on('end', resolve);
        pgStream.pipe(shaped).pipe(stream);
      });
    }
  };
}
