import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Side } from '../stage/stage.js';
import { lockBucket } from '../sync/buckets.js';
import { type KeySyncOptions, KeySyncer, type PreparedKeys } from '../sync/syncer.js';
import type { Syncer, SyncResult } from '../sync/types.js';
import type { KeyTuple, RowTranslator } from '../translate/types.js';
import {
  BackfillPhase,
  type BackfillCheckpoint,
  type CheckpointStore,
  type KeyRange,
  sameKey,
} from './checkpoint.js';
import { selectByKeys } from '../keys/lookup.js';
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
  /** Batches of this table in flight at once. */
  pipeline: number;
  /** Concurrent syncs per batch, on disjoint lock buckets. */
  lanes: number;
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

/** A batch of the walk: keys after `from` up to `to`; done once synced. */
interface Segment extends KeyRange {
  done: boolean;
}

/**
 * Phase 1: walks the source's keys in key order and syncs them batch by batch, up to `pipeline` batches
 * in flight. After every batch the checkpoint records the walk's contiguous progress (`lastKey`) and the
 * batches done beyond it (`ahead`), so a killed run repeats only batches whose sync committed but whose
 * checkpoint write did not happen: at most one with `pipeline` 1, at most `pipeline` otherwise.
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
  /** Batches from the watermark on, in walk order: in flight, or done but not yet contiguous with it. */
  const segments: Segment[] = [];
  /** Ranges an earlier run already synced that the walk has not reached yet (skipped when reached). */
  const skipped = [...(cp.ahead ?? [])];
  const inflight = new Set<Promise<void>>();
  let cursor = cp.lastKey;
  let failure: { error: unknown } | null = null;
  let pauseMs = 0;
  let writes: Promise<void> = Promise.resolve();
  /**
   * Settles once the most recently launched batch is checkpointed. Each batch commits only after the
   * previous one's checkpoint is written, so however many are in flight, a killed run has at most one
   * batch committed but not checkpointed: a resume repeats at most one batch.
   */
  let previousCheckpointed: Promise<void> = Promise.resolve();
  /** Settles once the most recently launched batch holds its bucket locks (batches lock in walk order). */
  let previousLocked: Promise<void> = Promise.resolve();

  /** Moves the watermark over the done prefix and queues a checkpoint write (writes run in order). */
  const persist = (): Promise<void> => {
    while (segments[0]?.done) cp.lastKey = segments.shift()!.to;
    cp.ahead = [
      ...segments.filter((g) => g.done).map(({ from, to, rows }) => ({ from, to, rows })),
      ...skipped,
    ];
    writes = writes.then(() => run.store.write(run.table, cp));
    return writes;
  };

  const launch = (
    keys: RawKey[],
    from: RawKey | null,
    pageMs: number,
    prepared: PreparedKeys | undefined,
  ): void => {
    const segment: Segment = { from, to: keys[keys.length - 1]!, rows: keys.length, done: false };
    segments.push(segment);
    const t0 = performance.now();
    const afterCheckpointOf = previousCheckpointed;
    const afterLocksOf = previousLocked;
    const checkpointed = deferred();
    const locked = deferred();
    previousCheckpointed = checkpointed.promise;
    previousLocked = locked.promise;
    const order: BatchOrder = {
      beforeLock: () => afterLocksOf,
      onLocked: locked.resolve,
      beforeCommit: () => afterCheckpointOf,
    };
    const task = syncBatch(run, keys, from, segment.to, prepared, order)
      .then(async (result) => {
        const latencyMs = pageMs + performance.now() - t0;
        segment.done = true;
        cp.rowsDone += keys.length;
        cp.quarantined += result.quarantined.length;
        progress.rows += keys.length;
        progress.quarantined += result.quarantined.length;
        await persist();
        checkpointed.resolve();
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
        const pause = backoff.record(latencyMs);
        if (pause > 0) {
          pauseMs = Math.max(pauseMs, pause);
          run.logger.warn(
            { latencyMs, batchSize: backoff.batchSize, pauseMs: pause },
            'source slow, backing off',
          );
          run.emit({
            type: 'backoff',
            table: run.table,
            latencyMs,
            batchSize: backoff.batchSize,
            pauseMs: pause,
          });
        }
      })
      .catch((error: unknown) => {
        failure ??= { error };
        // The batches after this one must not commit: the run stops here.
        checkpointed.reject(error);
        locked.reject(error);
      })
      .finally(() => inflight.delete(task));
    inflight.add(task);
  };

  const stopped = (): boolean => failure !== null || run.signal?.aborted === true;
  try {
    while (!stopped()) {
      const next = skipped[0];
      if (next && sameKey(cursor, next.from)) {
        // Synced by an earlier run: step over it.
        skipped.shift();
        segments.push({ ...next, done: true });
        cursor = next.to;
        // A failed write surfaces where the writes are awaited (a task, or the end of the walk).
        persist().catch(() => undefined);
        continue;
      }
      const t0 = performance.now();
      const keys = await pager.page(cursor, backoff.batchSize, next?.from);
      if (keys.length === 0) {
        if (!next) break;
        cursor = next.from;
        continue;
      }
      const pageMs = performance.now() - t0;
      // The batch's keys made canonical and its lock buckets computed while the previous batch runs.
      const prepared =
        run.lanes === 1 && run.syncer instanceof KeySyncer
          ? run.syncer.prepare(run.table, keys as KeyTuple[], run.from)
          : undefined;
      await run.bucket.take(keys.length, run.signal);
      // The next page is read while the batches in flight run.
      while (inflight.size >= run.pipeline) await Promise.race(inflight);
      if (stopped()) break;
      if (pauseMs > 0) {
        await sleep(pauseMs, undefined, { signal: run.signal });
        pauseMs = 0;
      }
      launch(keys, cursor, pageMs, prepared);
      cursor = keys[keys.length - 1]!;
    }
  } catch (error) {
    // An abort while pausing or throttling: fall through, let the batches in flight finish.
    if (!run.signal?.aborted) failure ??= { error };
  }
  await Promise.all([...inflight]);
  await writes;
  if (failure) throw (failure as { error: unknown }).error;
  run.signal?.throwIfAborted();
  cp.phase = BackfillPhase.TargetOnly;
  cp.lastKey = null;
  cp.ahead = [];
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
  const started = performance.now();
  for (;;) {
    run.signal?.throwIfAborted();
    const t0 = performance.now();
    const raw = await targetPager.page(cp.lastKey, run.batchSize);
    if (raw.length === 0) break;
    const keys = canonical(run, raw, run.to);
    const found = await selectByKeys(
      { db: run.source, side: run.from, translator: run.translator },
      keys.map((k) => run.translator.keyForSide(k, run.from)),
      pk,
      'look up source keys of target rows',
    );
    const present = new Set(
      canonical(
        run,
        found.map((r) => pk.map((c) => r[c])),
        run.from,
      ).map(keyId),
    );
    const missing = keys.filter((k) => !present.has(keyId(k)));
    if (missing.length > 0) {
      await run.bucket.take(missing.length, run.signal);
      const result = await syncInLanes(run, missing);
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

/** Source rows per range query of a batch. */
const RANGE_CHUNK = 2000;

/** How a batch waits for the one launched before it: locks in walk order, commits in walk order. */
type BatchOrder = Required<Pick<KeySyncOptions, 'beforeLock' | 'onLocked' | 'beforeCommit'>>;

/** A promise with its settle functions; a rejection nobody awaits is not reported as unhandled. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Syncs the batch of `keys` (the walk's keys after `after` up to `upTo`). With one lane, the sync reads
 * the source by key range (`after < key <= upTo`, chunks of RANGE_CHUNK rows in key order, the next
 * chunk read while the current one is written) instead of by key list; rows of keys inserted after the
 * page was read are left to the live path, which syncs them. With more lanes, see syncInLanes.
 */
function syncBatch(
  run: TableRun,
  keys: RawKey[],
  after: RawKey | null,
  upTo: RawKey,
  prepared: PreparedKeys | undefined,
  order: BatchOrder,
): Promise<SyncResult> {
  // Lanes of one batch lock disjoint buckets at once: they keep no order with other batches.
  if (run.lanes > 1) return syncInLanes(run, canonical(run, keys, run.from));
  const pager = new KeyPager(run.source, run.from, run.table, run.translator.primaryKey);
  const columns = run.translator.columns;
  // KeySyncer takes the keys as read from the source and makes them canonical itself: one copy of the
  // page fewer in memory.
  const batch = run.syncer instanceof KeySyncer ? (keys as KeyTuple[]) : canonical(run, keys, run.from);
  const options: KeySyncOptions = {
    ...(prepared ? { prepared } : {}),
    // Batches never share keys: they need not wait for each other's bucket locks (see SyncOptions).
    sharedLocks: true,
    // A page of the walk: every source key from `after` to `upTo`.
    contiguous: true,
    ...order,
    readSource: () => {
      // Started at once: the first chunk is read while the syncer looks up the target.
      let next: Promise<Record<string, unknown>[]> | null = pager.rows(after, RANGE_CHUNK, upTo, columns);
      next.catch(() => undefined);
      return (async function* () {
        try {
          while (next) {
            const rows: Record<string, unknown>[] = await next;
            const last = rows[rows.length - 1];
            next =
              rows.length === RANGE_CHUNK && last
                ? pager.rows(pager.keyOf(last), RANGE_CHUNK, upTo, columns)
                : null;
            next?.catch(() => undefined);
            yield rows;
          }
        } finally {
          next = null;
        }
      })();
    },
  };
  return run.syncer.sync(run.table, batch, run.from, options);
}

/**
 * Syncs a batch as `run.lanes` concurrent syncs whose keys fall in disjoint sets of lock buckets
 * (bucket mod lanes), so they never wait for each other's bucket locks: a large batch holds most of
 * the buckets, and batches of the same table would otherwise run one after the other.
 */
async function syncInLanes(run: TableRun, keys: KeyTuple[]): Promise<SyncResult> {
  const options = { sharedLocks: true };
  if (run.lanes <= 1) return run.syncer.sync(run.table, keys, run.from, options);
  const groups: KeyTuple[][] = Array.from({ length: run.lanes }, () => []);
  for (const key of keys) groups[lockBucket(run.table, key) % run.lanes]!.push(key);
  const results = await Promise.all(
    groups
      .filter((g) => g.length > 0)
      .map((g) => run.syncer.sync(run.table, g, run.from, { sharedLocks: true })),
  );
  return {
    table: run.table,
    upserted: results.reduce((n, r) => n + r.upserted, 0),
    deleted: results.reduce((n, r) => n + r.deleted, 0),
    quarantined: results.flatMap((r) => r.quarantined),
  };
}

function canonical(run: TableRun, keys: readonly RawKey[], side: Side): KeyTuple[] {
  return keys.map((k) => run.translator.canonicalKey(k, side));
}

export function keyId(key: KeyTuple): string {
  return JSON.stringify(key);
}
