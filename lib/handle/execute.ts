import type { Knex } from 'knex';
import { captureWrite, type CapturedWrite } from '../capture/capture.js';
import { runInsert } from '../capture/insert.js';
import { oneTripKeys, runOneTrip } from '../capture/one-trip.js';
import { driverResult } from '../dialect/results.js';
import { isMetaTable } from '../meta/tables.js';
import type { ReadObservation } from '../shadow/types.js';
import { Side, type StagePlan } from '../stage/stage.js';
import type { Row, RowTranslator } from '../translate/types.js';
import { admitWrite, guardWrites } from './admit.js';
import { internals, isKnexRaw, onDriverResponse, runObserved } from './knex-internals.js';
import { mainTableOf, replay, translatorOf, type QueryState } from './replay.js';
import { aggregateRenames, appRow, renameKeys, rowsOf, shapeRead } from './results.js';
import type { TrxScope } from './scope.js';

const READ_METHODS = new Set(['select', 'first', 'pluck', 'columnInfo']);

/** Runs a query the app awaited: reads on the authoritative side, writes through the gate and capture. */
export async function executeQuery(state: QueryState): Promise<unknown> {
  const { core, trx } = state.scope;
  core.assertOpen();
  if (trx) return runStatement(state, trx.plan, trx, undefined);
  const probePlan = core.plan();
  const probeSide = probePlan.authoritative;
  const probe = replay(state, probeSide, core.knex[probeSide]);
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
}

async function runStatement(
  state: QueryState,
  plan: StagePlan,
  trx: TrxScope | undefined,
  built: Knex.QueryBuilder | undefined,
): Promise<unknown> {
  const { core } = state.scope;
  const side = plan.authoritative;
  const builder = built ?? replay(state, side, trx?.ktrx ?? core.knex[side]);
  const method = internals(builder)._method;
  if (READ_METHODS.has(method)) return runRead(state, builder, plan, trx);

  const table = mainTableOf(state);
  const config = core.config();
  const appReturning = internals(builder)._single.returning !== undefined;
  const captureOn =
    plan.syncs && table !== undefined && !isMetaTable(table.name) && !config.tables[table.name]?.exclude;
  const translator = table && captureOn ? core.translators.table(table.name) : translatorOf(state);

  if (!captureOn || !translator || !table) {
    if (method === 'insert' && translator) {
      const outcome = await runInsert(
        builder,
        { name: translator.table, primaryKey: translator.primaryKey, side },
        trx?.ktrx ?? core.knex[side],
        false,
      );
      return shapeWrite(
        method,
        { result: outcome.result, insert: outcome, keys: [] },
        side,
        translator,
        appReturning,
      );
    }
    return shapeWrite(
      method,
      { result: await builder, insert: undefined, keys: [] },
      side,
      translator,
      appReturning,
    );
  }
  if (config.strict) checkOtherSide(builder, translator, side);

  if (config.capture.mode === 'triggers') {
    // Triggers record the keys in the same transaction; the handle only wakes the worker.
    const result = await builder;
    if (trx) trx.capture.captured = true;
    else core.notify();
    return shapeWrite(method, { result, insert: undefined, keys: [] }, side, translator, appReturning);
  }
  const target = {
    table,
    translator,
    side,
    uniqueKeys: side === Side.Mysql ? core.mysqlUniqueKeys(table.name) : undefined,
  };
  if (trx) {
    const captured = await captureWrite(builder, target, trx.ktrx, (t, keys) => trx.capture.add(t, keys));
    return shapeWrite(method, captured, side, translator, appReturning);
  }
  const oneTrip = oneTripKeys(builder, target);
  const captured = oneTrip
    ? await runOneTrip({ mysqlWrites: core.mysqlWrites, pg: core.knex.postgres }, builder, target, oneTrip)
    : await core.knex[side].transaction(async (t) => {
        await guardWrites(t, plan);
        return captureWrite(builder, target, t);
      });
  core.notify();
  return shapeWrite(method, captured, side, translator, appReturning);
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

/** Write results in the shape knex gives on MySQL, whichever side ran them (returning rows app-shaped). */
function shapeWrite(
  method: string,
  captured: CapturedWrite,
  side: Side,
  translator: RowTranslator | undefined,
  appReturning: boolean,
): unknown {
  const { result, insert } = captured;
  if (appReturning && Array.isArray(result)) {
    return result.map((r: unknown) =>
      r && typeof r === 'object' && !Array.isArray(r) ? appRow(r as Row, translator, side) : r,
    );
  }
  if (method === 'insert' && side === Side.Postgres) return [insert?.firstId ?? 0];
  return result;
}

async function runRead(
  state: QueryState,
  builder: Knex.QueryBuilder,
  plan: StagePlan,
  trx: TrxScope | undefined,
): Promise<unknown> {
  const { core, context } = state.scope;
  const side = plan.authoritative;
  const { _method: method, _single, _statements } = internals(builder);
  const observer = core.readObserver;
  const observed = observer && !trx && plan.shadowReads && (method === 'select' || method === 'first');
  let response: unknown;
  if (observed) onDriverResponse(builder, (r) => (response = r));
  const started = performance.now();
  const raw: unknown = await builder;
  const result = side === Side.Postgres ? renameKeys(raw, aggregateRenames(_statements)) : raw;
  const latencyMs = performance.now() - started;
  const translator = translatorOf(state);
  const shaped = shapeRead(method, result, translator, side, _single.pluck);
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
          const built = replay(snapshot, on, core.knex[on]);
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
  return shaped;
}
