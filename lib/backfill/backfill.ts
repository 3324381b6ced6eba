import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { DualWriteError, ErrorCode } from '../errors.js';
import { initMetaTables } from '../meta/init.js';
import { isMetaTable } from '../meta/tables.js';
import { createSilentLogger } from '../observe/logger.js';
import type { TableSchema } from '../schema/model.js';
import { chooseSyncKey, noSyncKeyMessage } from '../schema/sync-key.js';
import { otherSide, type Side } from '../stage/stage.js';
import { type BackfillCheckpoint, CheckpointStore } from './checkpoint.js';
import { estimateRows, KeyPager } from './keys.js';
import { KeySyncer } from '../sync/syncer.js';
import type { Syncer } from '../sync/types.js';
import { uncheckedForeignKeys } from './connections.js';
import { foreignKeyOrder, runOrdered } from './order.js';
import { resetPgSequences } from './sequences.js';
import { copyPhase, startCheckpoint, type TableProgress, type TableRun, targetOnlyPhase } from './table.js';
import { TokenBucket } from './throttle.js';
import type { BackfillEvent, BackfillOptions, BackfillResult, TableOutcome } from './types.js';

/** Defaults of BackfillOptions, in one place. */
export const BACKFILL_DEFAULTS = {
  from: 'mysql' as Side,
  batchSize: 8_000,
  concurrency: 1,
  pipeline: 2,
  lanes: 1,
  maxRowsPerSecond: 0,
  slowBatchMs: 5000,
} as const;

/** Rows of one sync from which the backfill's syncer writes PostgreSQL through COPY. */
const BACKFILL_COPY_THRESHOLD = 100;
/** COPY streams per sync of the backfill's syncer into PostgreSQL (see KeySyncerOptions.copyStreams). */
const BACKFILL_COPY_STREAMS = 2;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`backfill: \`${name}\` must be an integer >= ${min}, received ${String(value)}`);
  }
  return value;
}

/**
 * Copies every row of the selected tables from the authoritative side to the other one while the app
 * keeps writing: `syncer.sync(table, keys, from)` over all keys in primary-key order, so a batch can never
 * overwrite a newer row or bring back a deleted one. Resumable from per-table checkpoints.
 *
 * Foreign keys stay in place on the target and are deferred: by default the backfill writes through
 * target sessions that do not check them (the source enforces them, so the finished copy satisfies them),
 * which lets self-references and FK cycles copy in key order and lets the biggest tables start first.
 * When those sessions are not available (or a syncer is injected), parents are copied before their
 * children and target-only rows deleted children first; cycles then depend on the target's constraints.
 */
export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const from = options.from ?? BACKFILL_DEFAULTS.from;
  const to = otherSide(from);
  const batchSize = positiveInt('batchSize', options.batchSize, BACKFILL_DEFAULTS.batchSize);
  const concurrency = positiveInt('concurrency', options.concurrency, BACKFILL_DEFAULTS.concurrency);
  const pipeline = positiveInt('pipeline', options.pipeline, BACKFILL_DEFAULTS.pipeline);
  const lanes = positiveInt('lanes', options.lanes, BACKFILL_DEFAULTS.lanes);
  const maxRowsPerSecond = positiveInt('maxRowsPerSecond', options.maxRowsPerSecond, 0, 0);
  const slowBatchMs = positiveInt('slowBatchMs', options.slowBatchMs, BACKFILL_DEFAULTS.slowBatchMs);
  const logger = (options.logger ?? createSilentLogger()).child({ component: 'backfill' });
  const onEvent = options.onEvent;
  const emit = (event: BackfillEvent): void => {
    try {
      onEvent?.(event);
    } catch (error) {
      logger.warn({ err: error }, 'backfill event listener threw');
    }
  };
  const source = from === 'mysql' ? options.mysql : options.postgres;
  const target = from === 'mysql' ? options.postgres : options.mysql;
  const store = new CheckpointStore(options.postgres);
  const owned = options.syncer
    ? null
    : await ownSyncer(options, target, to, concurrency * pipeline * lanes, logger);
  const syncer = options.syncer ?? owned!.syncer;
  try {
    return await run();
  } finally {
    await owned?.close();
  }
  async function run(): Promise<BackfillResult> {
    // The syncer's lock buckets and the checkpoints' state table; idempotent.
    await initMetaTables(options.mysql, options.postgres);
    // Saved-up tokens stay under one batch, so a slow spell is never followed by a burst above the rate.
    const bucket = new TokenBucket(maxRowsPerSecond, batchSize);
    const started = performance.now();

    const outcomes = new Map<string, TableOutcome>();
    const skip = (table: string, status: TableOutcome['status'], reason: string, code?: string): void => {
      outcomes.set(table, {
        table,
        status,
        rows: 0,
        deleted: 0,
        quarantined: 0,
        durationMs: 0,
        reason,
        code,
      });
      emit({ type: 'tableSkipped', table, reason, code });
      if (status === 'refused') logger.error({ table, code }, reason);
      else logger.info({ table }, reason);
    };

    const selected = selectTables(options, skip);
    const fkOrder = foreignKeyOrder(selected);
    // With foreign keys unchecked on the target no order is needed: the biggest tables start first.
    // Otherwise parents are copied before their children, and target-only rows deleted children first.
    const unordered = owned?.unchecked === true;
    const parents = unordered ? new Map<string, Set<string>>() : fkOrder.parents;
    if (!unordered) {
      for (const cycle of fkOrder.cycles) {
        logger.warn({ tables: cycle }, 'foreign keys form a cycle: these tables are copied without an order');
      }
    }
    const estimates = await estimateRows(source, from);
    selected.sort((a, b) => (estimates.get(b.name) ?? 0) - (estimates.get(a.name) ?? 0));
    const runs = new Map<
      string,
      { run: TableRun; cp: BackfillCheckpoint; progress: TableProgress; t0: number }
    >();
    const fail = (table: string, error: unknown): void => {
      const err = error instanceof Error ? error : new Error(String(error));
      const entry = runs.get(table);
      outcomes.set(table, {
        table,
        status: 'failed',
        rows: entry?.progress.rows ?? 0,
        deleted: entry?.progress.deleted ?? 0,
        quarantined: entry?.progress.quarantined ?? 0,
        durationMs: entry ? performance.now() - entry.t0 : 0,
        reason: err.message,
        code: (err as { code?: string }).code,
      });
      emit({ type: 'tableFailed', table, error: err });
      logger.error({ table, err }, 'backfill of table failed');
    };

    /** Target-only rows, sequences, `done`. */
    const finish = async (table: string): Promise<void> => {
      const entry = runs.get(table)!;
      const { run, cp, progress } = entry;
      try {
        await targetOnlyPhase(run, cp, progress);
        if (to === 'postgres') await (options.resetSequences ?? resetPgSequences)(options.postgres, table);
        cp.done = true;
        cp.finishedAt = new Date().toISOString();
        await store.write(table, cp);
        const durationMs = performance.now() - entry.t0;
        outcomes.set(table, {
          table,
          status: 'done',
          ...progress,
          durationMs,
          resumed: cp.rowsDone > progress.rows,
        });
        emit({
          type: 'tableDone',
          table,
          rowsDone: cp.rowsDone,
          deleted: cp.deleted,
          quarantined: cp.quarantined,
          durationMs,
        });
        run.logger.info({ rows: progress.rows, deleted: progress.deleted, durationMs }, 'table backfilled');
      } catch (error) {
        if (options.signal?.aborted) throw error;
        fail(table, error);
      }
    };

    const names = selected.map((t) => t.name);
    // Phase 1, parents first: copy the source's rows.
    await runOrdered(names, parents, concurrency, async (table) => {
      const t0 = performance.now();
      const run: TableRun = {
        table,
        translator: options.translators.table(table),
        source,
        target,
        from,
        to,
        syncer,
        store,
        bucket,
        batchSize,
        pipeline,
        lanes,
        slowBatchMs,
        logger: logger.child({ table }),
        emit,
        signal: options.signal,
      };
      try {
        let cp = options.restart ? null : await store.read(table);
        if (cp?.done) {
          skip(table, 'skipped', 'already backfilled (run with restart to copy again)');
          return;
        }
        const resumed = cp !== null;
        if (cp) cp.total = Math.max(await countSource(run), cp.rowsDone);
        else {
          cp = await startCheckpoint(run);
          await store.write(table, cp);
        }
        const progress: TableProgress = { rows: 0, deleted: 0, quarantined: 0 };
        runs.set(table, { run, cp, progress, t0 });
        emit({ type: 'tableStart', table, total: cp.total, rowsDone: cp.rowsDone, resumed });
        run.logger.info({ total: cp.total, rowsDone: cp.rowsDone, resumed }, 'backfilling table');
        await copyPhase(run, cp, progress);
      } catch (error) {
        if (options.signal?.aborted) throw error;
        fail(table, error);
        runs.delete(table);
        return;
      }
      if (unordered) await finish(table);
    });

    // Phase 2, children first: delete target-only rows, reset sequences, mark done (already done per
    // table right after its copy when there is no order to keep).
    const children = new Map<string, Set<string>>();
    for (const [child, ps] of parents)
      for (const p of ps) children.set(p, (children.get(p) ?? new Set()).add(child));
    if (!unordered) await runOrdered([...runs.keys()], children, concurrency, finish);

    const tables = [...outcomes.values()];
    const rows = tables.reduce((n, t) => n + t.rows, 0);
    const durationMs = performance.now() - started;
    return {
      tables,
      rows,
      durationMs,
      rowsPerSecond: rows / Math.max(0.001, durationMs / 1000),
      ok: tables.every((t) => t.status === 'done' || t.status === 'skipped'),
    };
  }
}

/** The backfill's own syncer, writing through a target pool whose sessions do not check foreign keys. */
async function ownSyncer(
  options: BackfillOptions,
  target: Knex,
  to: Side,
  concurrency: number,
  logger: Logger,
): Promise<{ syncer: Syncer; unchecked: boolean; close: () => Promise<void> }> {
  let writer: Knex | null = null;
  if (options.deferForeignKeys ?? true) {
    // Each sync may use a helper transaction for its second COPY stream.
    writer = uncheckedForeignKeys(target, to, concurrency * BACKFILL_COPY_STREAMS + 1);
    try {
      await writer.raw('SELECT 1');
    } catch (error) {
      logger.warn({ err: error }, 'cannot turn foreign-key checks off on the target: copying with them on');
      await writer.destroy();
      writer = null;
    }
  }
  const t = writer ?? target;
  const syncer = new KeySyncer({
    mysql: to === 'mysql' ? t : options.mysql,
    pg: to === 'postgres' ? t : options.postgres,
    translators: options.translators,
    logger,
    // Rows absent on the target are COPYed straight into it: cheaper than multi-row INSERTs from small
    // batches up (a lane of a batch is often a few hundred keys).
    copyThreshold: BACKFILL_COPY_THRESHOLD,
    // Two PostgreSQL backends ingest each batch: the COPY's tail no longer waits on one backend alone.
    copyStreams: BACKFILL_COPY_STREAMS,
  });
  return { syncer, unchecked: writer !== null, close: async () => void (await writer?.destroy()) };
}

async function countSource(run: TableRun): Promise<number> {
  return new KeyPager(run.source, run.from, run.table, run.translator.primaryKey).count();
}

/** The tables to copy; the others are reported through `skip` with the reason. */
function selectTables(
  options: BackfillOptions,
  skip: (table: string, status: 'skipped' | 'refused', reason: string, code?: string) => void,
): TableSchema[] {
  const byName = new Map(options.sourceSchema.tables.map((t) => [t.name, t]));
  const excluded = new Set(options.exclude ?? []);
  const requested = options.tables ?? options.sourceSchema.tables.map((t) => t.name);
  const out: TableSchema[] = [];
  for (const name of new Set(requested)) {
    const table = byName.get(name);
    if (isMetaTable(name)) {
      if (options.tables) skip(name, 'skipped', 'dualwrite_* tables are never backfilled');
    } else if (!table) {
      skip(name, 'refused', `table ${name} does not exist on the source`, ErrorCode.UnknownTable);
    } else if (excluded.has(name)) {
      skip(name, 'skipped', 'excluded by the config (tables.<name>.exclude)');
    } else if (keylessReason(options, table)) {
      skip(name, 'refused', keylessReason(options, table)!, ErrorCode.NoPrimaryKey);
    } else if (!options.translators.has(name)) {
      skip(
        name,
        'refused',
        `table ${name} is not on both sides (create it on the target first)`,
        ErrorCode.UnknownTable,
      );
    } else {
      out.push(table);
    }
  }
  return out;
}

/**
 * The refusal of a table without a sync key (schema/sync-key), naming the remedies, else null: the
 * translators' verdict for a table on both sides, the source schema's for one the target lacks.
 */
function keylessReason(options: BackfillOptions, table: TableSchema): string | null {
  if (options.translators.has(table.name)) return null;
  try {
    options.translators.table(table.name);
  } catch (error) {
    if (error instanceof DualWriteError && error.code === ErrorCode.NoPrimaryKey) return error.message;
  }
  return chooseSyncKey(table) === null ? noSyncKeyMessage(table.name) : null;
}

/** Throws DualWriteError(NoPrimaryKey) naming the tables a backfill refused, for callers that want an error. */
export function assertBackfilled(result: BackfillResult): void {
  const bad = result.tables.filter((t) => t.status === 'refused' || t.status === 'failed');
  const first = bad[0];
  if (!first) return;
  throw new DualWriteError(
    (first.code as ErrorCode | undefined) ?? ErrorCode.SyncFailed,
    `backfill incomplete: ${bad.map((t) => `${t.table} (${t.reason ?? t.status})`).join('; ')}`,
    { table: first.table },
  );
}
