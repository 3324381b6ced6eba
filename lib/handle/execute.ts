import type { Knex } from 'knex';
import { appStatement } from '../capture/app-statement.js';
import { captureWrite, type CapturedWrite } from '../capture/capture.js';
import { oneTripKeys, runOneTrip } from '../capture/one-trip.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { isMetaTable } from '../meta/tables.js';
import type { ReadObservation } from '../shadow/types.js';
import { Side, type StagePlan } from '../stage/stage.js';
import type { Row, RowTranslator } from '../translate/types.js';
import { internals, isKnexRaw, runObserved } from './knex-internals.js';
import { driverResult } from '../dialect/results.js';
import { mainTableOf, replay, translatorOf, type QueryState } from './replay.js';
import { aggregateRenames, renameKeys, rowsOf } from './results.js';
import { shapeHints } from './shape-hints.js';
import { valueErrorAsMysql } from '../shape/pg-errors.js';
import type { ShapeHints } from '../shape/pg-rows.js';
import type { HandleCore, TrxScope } from './scope.js';
import { admitWrite, guardWrites } from './admit.js';
import { implicitTransaction } from './implicit.js';
import { advanceIdentity } from './pg-identity.js';
import { columnInfo } from './column-info.js';
import { internally, startStatement } from './statement-context.js';

const READ_METHODS = new Set(['select', 'first', 'pluck', 'columnInfo']);

/**
 * The builder of the app's query for `side`, on `conn` (a transaction, or the app-facing pool). A
 * PostgreSQL insert returns the AUTO_INCREMENT column of the MySQL table (MySQL's insert id); the app's
 * own `returning` has no effect, as on MySQL.
 */
function build(state: QueryState, side: Side, conn: Knex | Knex.Transaction): Knex.QueryBuilder {
  let builder: Knex.QueryBuilder;
  try {
    builder = replay(state, side, conn, { translate: side === Side.Postgres });
  } catch (error) {
    // PostgreSQL answers for MySQL: a value MySQL would refuse fails with MySQL's error.
    throw side === Side.Postgres ? valueErrorAsMysql(error) : error;
  }
  if (side === Side.Postgres && internals(builder)._method === 'insert') {
    const table = mainTableOf(state)?.name;
    const ai =
      table &&
      state.scope.core.tables.mysqlSchema.tables
        .find((t) => t.name === table)
        ?.columns.find((c) => c.autoIncrement);
    if (ai) builder.returning([ai.name]);
    else if (internals(builder)._single.returning !== undefined) builder.returning([]);
  }
  return builder;
}

/** Hints for the PostgreSQL client (names, types, insert id) of the app's statement. */
function hintsOf(state: QueryState, builder: Knex.QueryBuilder, side: Side): ShapeHints | undefined {
  return side === Side.Postgres ? shapeHints(builder, mainTableOf(state)?.name) : undefined;
}

/**
 * The one executor of the handle's queries (every execution method of its builders comes here): reads
 * on the authoritative side, writes through the gate and capture.
 */
export function executeQuery(state: QueryState): Promise<unknown> {
  const { core, trx } = state.scope;
  core.assertOpen();
  return internally(async () => {
    if (trx) return runStatement(state, trx.plan, trx, undefined);
    const probePlan = core.plan();
    const probeSide = probePlan.authoritative;
    const probe = build(state, probeSide, core.app[probeSide]);
    if (READ_METHODS.has(internals(probe)._method)) return runRead(state, probe, probePlan, undefined);
    // The stage may have flipped while the write waited at the gate (or the write was refused and runs
    // again): rebuild for the side in force.
    return admitWrite(core, (plan, attempt) =>
      runStatement(
        state,
        plan,
        undefined,
        attempt === 0 && plan.authoritative === probeSide ? probe : undefined,
      ),
    );
  });
}

/**
 * `.stream()` / `.pipe()`: a read streamed from the authoritative side. A write cannot be streamed in a
 * syncing stage (its keys could not be captured): refused before it runs.
 */
export function streamQuery(state: QueryState, method: 'stream' | 'pipe', args: unknown[]): unknown {
  const { core, trx } = state.scope;
  core.assertOpen();
  const plan = trx?.plan ?? core.plan();
  const side = plan.authoritative;
  const builder = build(state, side, trx?.ktrx ?? core.app[side]);
  if (
    !READ_METHODS.has(internals(builder)._method) &&
    plan.syncs &&
    core.config().capture.mode !== 'triggers'
  ) {
    throw new DualWriteError(
      ErrorCode.UncapturedWrite,
      `a ${internals(builder)._method} cannot be streamed in stage ${plan.stage}: its keys could not be captured`,
    );
  }
  return startStatement('app', () => (builder[method] as (...a: unknown[]) => unknown).apply(builder, args));
}

/** Tables of knex's own migration bookkeeping: written as they are when only one side has them. */
export function unsyncedTables(core: HandleCore): Set<string> {
  const name =
    (core.app.config.migrations as { tableName?: string } | undefined)?.tableName ?? 'knex_migrations';
  return new Set([name, `${name}_lock`]);
}

/** Whether writes to this table are captured in `plan` (synced tables only). */
function capturedTable(core: HandleCore, plan: StagePlan, table: string | undefined): boolean {
  return plan.syncs && table !== undefined && !isMetaTable(table) && !core.config().tables[table]?.exclude;
}

async function runStatement(
  state: QueryState,
  plan: StagePlan,
  trx: TrxScope | undefined,
  built: Knex.QueryBuilder | undefined,
): Promise<unknown> {
  const { core } = state.scope;
  const side = plan.authoritative;
  const conn = trx?.ktrx ?? core.app[side];
  const builder = built ?? build(state, side, conn);
  const method = internals(builder)._method;
  if (READ_METHODS.has(method)) return runRead(state, builder, plan, trx);
  const result = await runWrite(state, plan, trx, builder);
  if (side === Side.Postgres && method === 'insert') {
    const name = mainTableOf(state)?.name;
    await advanceIdentity(
      conn,
      builder,
      core.tables.mysqlSchema.tables.find((t) => t.name === name),
    );
  }
  return result;
}

async function runWrite(
  state: QueryState,
  plan: StagePlan,
  trx: TrxScope | undefined,
  builder: Knex.QueryBuilder,
): Promise<unknown> {
  const { core } = state.scope;
  const side = plan.authoritative;

  const table = mainTableOf(state);
  const config = core.config();
  let captureOn = capturedTable(core, plan, table?.name);
  if (captureOn && table && !core.translators.has(table.name)) {
    captureOn = await core.tables.resolveUnknown(table.name, side, unsyncedTables(core));
  }
  const translator = table && captureOn ? core.translators.table(table.name) : translatorOf(state);

  const hints = hintsOf(state, builder, side);
  if (!captureOn || !translator || !table) return (await appStatement(builder, undefined, hints)).result;
  if (config.strict) checkOtherSide(builder, translator, side);

  if (config.capture.mode === 'triggers') {
    // Triggers record the keys in the same transaction; the handle only wakes the worker.
    const { result } = await appStatement(builder, undefined, hints);
    if (trx) trx.capture.captured = true;
    else core.notify();
    return result;
  }
  const target = {
    table,
    translator,
    side,
    uniqueKeys: side === Side.Mysql ? core.mysqlUniqueKeys(table.name) : undefined,
    hints,
  };
  if (trx) {
    return (await captureWrite(builder, target, trx.ktrx, (t, keys) => trx.capture.add(t, keys))).result;
  }
  const oneTrip = state.connection === undefined ? oneTripKeys(builder, target) : undefined;
  let captured: CapturedWrite;
  if (oneTrip) {
    // MySQL sends the write and its outbox row as one multi-statement query, on the pool that allows it.
    const tripBuilder = side === Side.Mysql ? build(state, side, core.app.mysqlWrites) : builder;
    captured = await runOneTrip(tripBuilder, target, oneTrip);
  } else {
    const trxConfig = state.connection === undefined ? undefined : { connection: state.connection };
    captured = await implicitTransaction(
      core.app[side],
      async (t) => {
        await guardWrites(t, plan);
        return captureWrite(builder, target, t);
      },
      trxConfig,
    );
  }
  core.notify();
  return captured.result;
}

/** Strict mode: values the other database cannot hold fail here, before either database is touched. */
function checkOtherSide(builder: Knex.QueryBuilder, translator: RowTranslator, side: Side): void {
  const s = internals(builder)._single;
  const rows: unknown[] = [...(Array.isArray(s.insert) ? s.insert : [s.insert]), s.update, s.merge?.updates];
  for (const row of rows) {
    if (!row || typeof row !== 'object' || Array.isArray(row)) continue;
    const plain: Row = {};
    for (const [k, v] of Object.entries(row as Row)) {
      if (translator.columns.includes(k) && !isKnexRaw(v)) plain[k] = v;
    }
    translator.translate(plain, side);
  }
}

async function runRead(
  state: QueryState,
  builder: Knex.QueryBuilder,
  plan: StagePlan,
  trx: TrxScope | undefined,
): Promise<unknown> {
  const { core, context } = state.scope;
  const side = plan.authoritative;
  const { _method: method } = internals(builder);
  if (method === 'columnInfo' && side === Side.Postgres) {
    // What MySQL's information_schema says, from the MySQL schema (the app reads MySQL's types).
    return columnInfo(core, mainTableOf(state)?.name, builder);
  }
  const observer = core.readObserver;
  const observed = observer && !trx && plan.shadowReads && (method === 'select' || method === 'first');
  const started = performance.now();
  // Either side answers as the app's own knex did on MySQL (the PostgreSQL client shapes its rows).
  const { result, response } = await appStatement(builder, undefined, hintsOf(state, builder, side));
  const latencyMs = performance.now() - started;
  if (observed) {
    const snapshot: QueryState = { ...state, calls: [...state.calls] };
    const at = Date.now();
    // After the caller has its result: shadow reads add no latency.
    setImmediate(() => {
      const compiled = builder.toSQL();
      const observation: ReadObservation = {
        table: mainTableOf(snapshot)?.name ?? null,
        sql: compiled.sql,
        bindings: compiled.bindings,
        servedBy: side,
        rows: rowsOf(method, result),
        fields: driverResult[side](response).fields,
        latencyMs,
        context,
        at,
        run: async (on) => {
          const built = replay(snapshot, on, core.knex[on], { translate: on === Side.Postgres });
          const { sql, bindings } = built.toSQL();
          const { result: rows, response: reply, ms } = await runObserved(built);
          const named =
            on === Side.Postgres ? renameKeys(rows, aggregateRenames(internals(built)._statements)) : rows;
          return { rows: rowsOf(method, named), fields: driverResult[on](reply).fields, ms, sql, bindings };
        },
      };
      try {
        observer.observe(observation);
      } catch (error) {
        core.logger.warn({ err: error }, 'read observer threw; ignored');
      }
    });
  }
  return result;
}
