import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Side } from '../stage/stage.js';
import type { Syncer } from '../sync/types.js';
import type { KeyTuple, RowTranslator } from '../translate/types.js';
import { BackfillPhase, type BackfillCheckpoint, type CheckpointStore } from './checkpoint.js';
import { KeyPager, type RawKey } from './keys.js';
import { Backoff, type TokenBucket } from './throttle.js';
import type { BackfillEvent } from './types.js';

export interface TableRun {
  table: string;
  translator: RowTranslator;
  source: Knex;
  target: Knex;
  from: Side;
  to: Side;
  syncer: Syncer;
  store: CheckpointStore;
  bucket: TokenBucket;
  batchSize: number;
  slowBatchMs: number;
  logger: Logger;
  emit: (event: BackfillEvent) => void;
  signal: AbortSignal | undefined;
}

/** What this run did to a table (a resumed run counts only its own work). */
export interface TableProgress {
  rows: number;
  deleted: number;
  quarantined: number;
}

/** A fresh checkpoint: counts the source and notes whether the target is empty. */
export async function startCheckpoint(run: TableRun): Promise<BackfillCheckpoint> {
  const pk = run.translator.primaryKey;
  const total = await new KeyPager(run.source, run.from, run.table, pk).count();
  const anyTarget = await new KeyPager(run.target, run.to, run.table, pk).page(null, 1);
  return {
    lastKey: null,
    rowsDone: 0,
    total,
    done: false,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    phase: BackfillPhase.Copy,
    targetEmptyAtStart: anyTarget.length === 0,
    deleted: 0,
    quarantined: 0,
  };
}

/**
 * Phase 1: walks the source's keys in key order and syncs each batch, checkpointing after every batch
 * (so a killed run repeats at most the batch in flight). The next page of keys is read while the
 * current batch syncs.
 */
export async function copyPhase(
  run: TableRun,
  cp: BackfillCheckpoint,
  progress: TableProgress,
): Promise<void> {
  if (cp.phase !== BackfillPhase.Copy) return;
  const pager = new KeyPager(run.source, run.from, run.table, run.translator.primaryKey);
  const backoff = new Backoff({ batchSize: run.batchSize, slowBatchMs: run.slowBatchMs });
  const started = performance.now();
  let next = settle(pager.page(cp.lastKey, backoff.batchSize));
  for (;;) {
    run.signal?.throwIfAborted();
    const t0 = performance.now();
    const keys = await unwrap(next);
    if (keys.length === 0) break;
    const keysMs = performance.now() - t0;
    await run.bucket.take(keys.length, run.signal);
    const t1 = performance.now();
    const last = keys[keys.length - 1]!;
    next = settle(pager.page(last, backoff.batchSize));
    const result = await run.syncer.sync(run.table, canonical(run, keys, run.from), run.from);
    // Latency of the source and target work only, not of the throttle's wait.
    const latencyMs = keysMs + performance.now() - t1;
    cp.lastKey = last;
    cp.rowsDone += keys.length;
    cp.quarantined += result.quarantined.length;
    progress.rows += keys.length;
    progress.quarantined += result.quarantined.length;
    await run.store.write(run.table, cp);
    run.emit({
      type: 'batch',
      table: run.table,
      phase: BackfillPhase.Copy,
      rows: keys.length,
      rowsDone: cp.rowsDone,
      total: cp.total,
      deleted: cp.deleted,
      latencyMs,
      rate: progress.rows / Math.max(0.001, (performance.now() - started) / 1000),
    });
    const pauseMs = backoff.record(latencyMs);
    if (pauseMs > 0) {
      run.logger.warn(
        { table: run.table, latencyMs, batchSize: backoff.batchSize, pauseMs },
        'source slow, backing off',
      );
      run.emit({ type: 'backoff', table: run.table, latencyMs, batchSize: backoff.batchSize, pauseMs });
      await sleep(pauseMs, undefined, { signal: run.signal });
    }
  }
  cp.phase = BackfillPhase.TargetOnly;
  cp.lastKey = null;
  await run.store.write(run.table, cp);
}

/**
 * Phase 2: finds rows on the target whose key the source does not have (left over from an earlier
 * copy or written around the adapter) and syncs those keys, which deletes them. Skipped when the target
 * was empty at the start: every row it got since came through sync, which deletes what the source deletes.
 */
export async function targetOnlyPhase(
  run: TableRun,
  cp: BackfillCheckpoint,
  progress: TableProgress,
): Promise<void> {
  if (cp.phase !== BackfillPhase.TargetOnly || cp.targetEmptyAtStart) return;
  const pk = run.translator.primaryKey;
  const targetPager = new KeyPager(run.target, run.to, run.table, pk);
  const sourcePager = new KeyPager(run.source, run.from, run.table, pk);
  const started = performance.now();
  for (;;) {
    run.signal?.throwIfAborted();
    const t0 = performance.now();
    const raw = await targetPager.page(cp.lastKey, run.batchSize);
    if (raw.length === 0) break;
    const keys = canonical(run, raw, run.to);
    const present = new Set(
      canonical(
        run,
        await sourcePager.existing(keys.map((k) => run.translator.keyForSide(k, run.from))),
        run.from,
      ).map(keyId),
    );
    const missing = keys.filter((k) => !present.has(keyId(k)));
    if (missing.length > 0) {
      await run.bucket.take(missing.length, run.signal);
      const result = await run.syncer.sync(run.table, missing, run.from);
      cp.deleted += result.deleted;
      progress.deleted += result.deleted;
      cp.quarantined += result.quarantined.length;
      progress.quarantined += result.quarantined.length;
    }
    cp.lastKey = raw[raw.length - 1]!;
    await run.store.write(run.table, cp);
    run.emit({
      type: 'batch',
      table: run.table,
      phase: BackfillPhase.TargetOnly,
      rows: raw.length,
      rowsDone: cp.rowsDone,
      total: cp.total,
      deleted: cp.deleted,
      latencyMs: performance.now() - t0,
      rate: progress.rows / Math.max(0.001, (performance.now() - started) / 1000),
    });
  }
}

function canonical(run: TableRun, keys: readonly RawKey[], side: Side): KeyTuple[] {
  return keys.map((k) => run.translator.canonicalKey(k, side));
}

export function keyId(key: KeyTuple): string {
  return JSON.stringify(key);
}

/** A promise whose rejection is held (not unhandled) until it is awaited through `unwrap`. */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function unwrap<T>(p: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw r.error;
  return r.value;
}
