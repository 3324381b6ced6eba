import type { Side } from '../stage/stage.js';
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
}

/**
 * The knex client class of the app's statements on one side: the dialect's own client, with the one
 * driver-level gate every execution path of knex passes through (`_query` for awaited, called-back and
 * raw statements, `_stream` for streams and pipes). A transaction's client is made from the same
 * prototype, so statements of transactions pass the gate too.
 */
export function appClientClass(side: Side, hooks: DriverHooks): DriverClientClass {
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
