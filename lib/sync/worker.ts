import type { Knex } from 'knex';
import CircuitBreaker from 'opossum';
import PQueue from 'p-queue';
import { configSchema, type DualWriteConfig } from '../config/schema.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import type { DualWriteEvents } from '../observe/events.js';
import { createSilentLogger, type Logger } from '../observe/logger.js';
import { BreakerStateValue, type DualWriteMetrics } from '../observe/metrics.js';
import { anySide } from '../dialect/dialects.js';
import { otherSide, type Side } from '../dialect/side.js';
import type { KeyTuple } from '../translate/types.js';
import { keyText } from './buckets.js';
import {
  claimOutbox,
  deleteOutboxRows,
  outboxBacklog,
  outboxHasDue,
  retryOutboxRows,
  type OutboxRow,
} from './outbox.js';
import { QuarantineStore } from './quarantine.js';
import type { SyncOptions, Syncer, SyncResult } from './types.js';
import { isUnavailable } from './unavailable.js';

export type SyncConfig = DualWriteConfig['sync'];

/** A transaction chosen as a deadlock victim: the claim's own (source) or its sync's (target). */
function isDeadlock(error: unknown): boolean {
  return anySide((d) => d.errors.isDeadlock(error));
}
export type SyncConfigInput = Partial<SyncConfig>;

export interface SyncWorkerOptions {
  mysql: Knex;
  pg: Knex;
  syncer: Syncer;
  /** Which side is authoritative right now: its outbox is drained and synced to the other side. */
  authoritative: () => Side;
  /** The `sync` section of the config. @default the schema's defaults */
  sync?: SyncConfigInput;
  /** Where keys that exhaust their attempts go. @default a QuarantineStore on `pg` */
  quarantine?: QuarantineStore;
  logger?: Logger;
  events?: DualWriteEvents;
  metrics?: DualWriteMetrics;
  /** Start draining right away (otherwise call start()). @default true */
  start?: boolean;
}

export interface LagStats {
  /** Samples in the window (the last 4096 synced outbox rows). */
  count: number;
  p50: number;
  p99: number;
  max: number;
}

type Breaker = CircuitBreaker<[string, KeyTuple[], Side, SyncOptions], SyncResult>;

const LAG_WINDOW = 4096;
const BACKLOG_REFRESH_MS = 1000;

/**
 * Drains the outbox of the authoritative side and syncs its keys to the other side.
 *
 * Each task claims a batch in a source transaction (`FOR UPDATE SKIP LOCKED`, so several processes can
 * share one outbox), syncs it table by table through a circuit breaker, deletes the synced rows and
 * commits. A crash before the commit leaves the rows in place for the next worker. Unreachable-target
 * failures leave the rows untouched (the breaker probes); data failures are retried with backoff and
 * quarantined after `maxAttempts`.
 */
export class SyncWorker {
  readonly #db: Record<Side, Knex>;
  readonly #authoritative: () => Side;
  readonly #cfg: SyncConfig;
  readonly #quarantine: QuarantineStore;
  readonly #log: Logger;
  readonly #events: DualWriteEvents | undefined;
  readonly #metrics: DualWriteMetrics | undefined;
  readonly #queue: PQueue;
  /** One breaker per target side: the authoritative side can change (flip), the breakers stay. */
  readonly #breakers: Record<Side, Breaker>;
  /** Bumped by notify(); a task that saw a bump while it claimed nothing claims again. */
  #wakeSeq = 0;
  /** Started and not stopped: timers run and notify() wakes tasks. */
  #running = false;
  #closed = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #lastBacklogAt = 0;
  #backlogHigh = false;
  /** Unreachable-target failures in a row, per target side; reset by any success. */
  #unreachableRun: Record<Side, number> = { mysql: 0, postgres: 0 };
  /** The last claim transaction failed (source unreachable?): further failures log at debug. */
  #sourceFailing = false;
  #lagRing: number[] = [];
  #lagNext = 0;
  #lastLagMs = 0;

  constructor(options: SyncWorkerOptions) {
    this.#db = { mysql: options.mysql, postgres: options.pg };
    this.#authoritative = options.authoritative;
    this.#cfg = Object.freeze(configSchema.shape.sync.parse(options.sync ?? {}));
    this.#quarantine = options.quarantine ?? new QuarantineStore(options.pg);
    this.#log = (options.logger ?? createSilentLogger()).child({ component: 'sync-worker' });
    this.#events = options.events;
    this.#metrics = options.metrics;
    this.#queue = new PQueue({ concurrency: this.#cfg.concurrency });
    const sync = options.syncer.sync.bind(options.syncer);
    this.#breakers = {
      mysql: this.#makeBreaker('mysql', sync),
      postgres: this.#makeBreaker('postgres', sync),
    };
    if (options.start !== false) this.start();
  }

  /** Starts the idle poll and claims whatever is due. */
  start(): void {
    if (this.#closed || this.#running) return;
    this.#running = true;
    this.#schedulePoll();
    this.#kick(true);
  }

  /** Wakes the worker after an app commit that wrote outbox rows (low lag without a tight poll). */
  notify(): void {
    this.#wakeSeq++;
    if (this.#running) this.#kick(false);
  }

  /** Outbox rows of `side` (claimed or not); also updates the gauge and backlogHigh. @default the authoritative side */
  async backlog(side: Side = this.#authoritative()): Promise<number> {
    const n = await outboxBacklog(this.#db[side]);
    this.#metrics?.backlog.set({ side }, n);
    if (side !== this.#authoritative()) return n;
    this.#lastBacklogAt = Date.now();
    const watermark = this.#cfg.backlogHighWatermark;
    if (n >= watermark && !this.#backlogHigh) {
      this.#backlogHigh = true;
      this.#log.warn({ side, backlog: n, watermark }, 'outbox backlog high');
      this.#events?.safeEmit('backlogHigh', { side, backlog: n, watermark });
    } else if (n < watermark / 2) {
      this.#backlogHigh = false;
    }
    return n;
  }

  /** Lag of the most recently synced outbox row, ms (commit on the source → commit on the target). */
  get lag(): number {
    return this.#lastLagMs;
  }

  /** Lag percentiles over the last synced rows, ms. */
  lagStats(): LagStats {
    const sorted = [...this.#lagRing].sort((a, b) => a - b);
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
  }

  /** State of the breaker in front of `side`. */
  breakerState(side: Side): 'closed' | 'halfOpen' | 'open' {
    const b = this.#breakers[side];
    return b.opened ? 'open' : b.halfOpen ? 'halfOpen' : 'closed';
  }

  /**
   * Resolves once the outbox of `side` is empty (rows of other processes included); its keys go to the
   * other side. The flip fence calls it with writes held. Rejects with DualWriteError(SyncFailed) after
   * `timeoutMs`.
   */
  async drain(options: { timeoutMs?: number; side?: Side } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
    const side = options.side ?? this.#authoritative();
    for (;;) {
      if (this.#closed) throw new DualWriteError(ErrorCode.Closed, 'the sync worker is closed');
      this.#kick(true, true, false, side);
      await this.#withDeadline(this.#queue.onIdle(), deadline);
      const left = await this.backlog(side);
      if (left === 0) return;
      if (Date.now() >= deadline) {
        throw new DualWriteError(
          ErrorCode.SyncFailed,
          `outbox not drained within ${options.timeoutMs}ms: ${left} rows left`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(this.#cfg.pollIntervalMs, 20)));
    }
  }

  /**
   * Drains (at most `closeTimeoutMs`; not at all while the target's breaker is open), then stops: no timers,
   * no tasks, breakers shut down. Rows left in the outbox stay there for the next worker.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    // With the target known down there is nothing to wait for: the rows stay for the next worker.
    const targetDown = this.#breakers[otherSide(this.#authoritative())].opened;
    try {
      if (this.#cfg.closeTimeoutMs > 0 && !targetDown)
        await this.drain({ timeoutMs: this.#cfg.closeTimeoutMs });
    } catch (error) {
      this.#log.warn({ err: error }, 'closing with rows left in the outbox (they stay for the next worker)');
    }
    this.#closed = true;
    this.#running = false;
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#queue.clear();
    await this.#queue.onIdle();
    for (const b of Object.values(this.#breakers)) {
      b.shutdown();
      b.removeAllListeners();
    }
  }

  #makeBreaker(side: Side, sync: Syncer['sync']): Breaker {
    const breaker = new CircuitBreaker(sync, {
      timeout: this.#cfg.timeoutMs,
      errorThresholdPercentage: this.#cfg.breakerErrorThresholdPercentage,
      resetTimeout: this.#cfg.breakerResetTimeoutMs,
      // Data errors (a bad row) say nothing about the target's health.
      errorFilter: (error: unknown) => !isUnavailable(error),
      name: `dualwrite-sync-${side}`,
    }) as Breaker;
    breaker.on('open', () => {
      this.#metrics?.breakerState.set({ side }, BreakerStateValue.open);
      this.#log.warn({ side }, 'circuit breaker opened: syncs paused, keys wait in the outbox');
      this.#events?.safeEmit('breakerOpened', { side });
    });
    breaker.on('halfOpen', () => {
      this.#metrics?.breakerState.set({ side }, BreakerStateValue.halfOpen);
      this.#kick(false);
    });
    breaker.on('close', () => {
      this.#metrics?.breakerState.set({ side }, BreakerStateValue.closed);
      this.#log.info({ side }, 'circuit breaker closed: draining the backlog');
      this.#events?.safeEmit('breakerClosed', { side });
      this.#kick(true);
    });
    this.#metrics?.breakerState.set({ side }, BreakerStateValue.closed);
    return breaker;
  }

  /** Waits for `p`, at most until `deadline` (epoch ms): a task stuck on a database never holds a drain past its bound. */
  async #withDeadline(p: Promise<void>, deadline: number): Promise<void> {
    if (!Number.isFinite(deadline)) return p;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      p,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
  }

  /** Adds claim tasks (drain `side`'s outbox): up to the concurrency when `fill` (a backlog), else one if none is waiting. */
  #kick(fill: boolean, force = false, probe = false, side: Side = this.#authoritative()): void {
    if (this.#closed || (!this.#running && !force)) return;
    const room = this.#cfg.concurrency - this.#queue.size - this.#queue.pending;
    const n = fill ? room : this.#queue.size === 0 ? Math.min(room, 1) : 0;
    for (let i = 0; i < n; i++) {
      this.#queue
        .add(() => this.#claimAndSync(probe, side))
        .catch((error: unknown) => {
          this.#log.error({ err: error }, 'sync task failed');
        });
    }
  }

  #schedulePoll(): void {
    this.#pollTimer = setTimeout(() => {
      if (!this.#running) return;
      this.#kick(false, false, true);
      if (Date.now() - this.#lastBacklogAt >= BACKLOG_REFRESH_MS) {
        this.backlog().catch((error: unknown) => this.#log.debug({ err: error }, 'backlog query failed'));
        // The other side's outbox holds rows only while a move of the role is under way (or was cut
        // short by a crash): its keys still go from that side to this one.
        const other = otherSide(this.#authoritative());
        this.backlog(other).then(
          (n) => {
            if (n > 0) this.#kick(true, false, false, other);
          },
          (error: unknown) => this.#log.debug({ err: error }, 'backlog query failed'),
        );
      }
      this.#schedulePoll();
    }, this.#cfg.pollIntervalMs);
    this.#pollTimer.unref();
  }

  /**
   * One task: claim a batch, sync it, delete what synced, commit. Returns the rows claimed. With `probe`
   * (idle poll) a one-statement look for due rows comes first, so an idle worker costs one query per poll.
   */
  async #claimAndSync(probe: boolean, from: Side): Promise<number> {
    const seq = this.#wakeSeq;
    const to = otherSide(from);
    let claimed = 0;
    // While the breaker is open, claiming would only churn: the half-open probe wakes us.
    if (!this.#breakers[to].opened && (!probe || (await this.#anyDue(from)))) {
      try {
        await this.#db[from].transaction(
          async (trx) => {
            const rows = await claimOutbox(trx, from, this.#cfg.batchSize);
            claimed = rows.length;
            if (rows.length > 0) await this.#syncBatch(trx, rows, from);
          },
          { isolationLevel: 'read committed' },
        );
        this.#sourceFailing = false;
      } catch (error) {
        claimed = 0;
        if (isDeadlock(error)) {
          // The claim transaction was rolled back whole: its rows stay and are synced again.
          this.#metrics?.outboxDeadlocks.inc({ side: from });
          this.#log.debug({ err: error, side: from }, 'outbox batch deadlocked; its rows sync again');
          this.#kick(false, false, false, from);
          return 0;
        }
        // Once per failure streak at warn: an unreachable source would otherwise log every poll.
        const level = this.#sourceFailing ? 'debug' : 'warn';
        this.#sourceFailing = true;
        this.#log[level]({ err: error, side: from }, 'outbox batch failed; rows stay for a later attempt');
      }
    }
    // A full batch means more are waiting; otherwise only a commit since the claim began (a notify)
    // can have added rows — claiming again now would mostly find nothing. Other processes' rows wait
    // for the poll.
    if (claimed >= this.#cfg.batchSize) this.#kick(true, false, false, from);
    else if (seq !== this.#wakeSeq) this.#kick(false);
    return claimed;
  }

  async #anyDue(side: Side): Promise<boolean> {
    try {
      return await outboxHasDue(this.#db[side], side);
    } catch {
      return true; // let the claim report the failure
    }
  }

  async #syncBatch(trx: Knex.Transaction, rows: OutboxRow[], from: Side): Promise<void> {
    const claimedAt = performance.now();
    const done: OutboxRow[] = [];
    const byTable = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const group = byTable.get(row.table);
      if (group) group.push(row);
      else byTable.set(row.table, [row]);
    }
    // Tables in order of their first captured write: parents usually come before children.
    for (const [table, group] of byTable) {
      const outcome = await this.#syncGroup(trx, table, group, from, done);
      if (outcome === 'unavailable') break;
    }
    await deleteOutboxRows(
      trx,
      done.map((r) => r.id),
    );
    const elapsed = performance.now() - claimedAt;
    for (const r of done) this.#recordLag(r.ageMs + elapsed, otherSide(from));
  }

  /** Syncs one table's rows; on a data error, retries key by key so one bad key holds no other back. */
  async #syncGroup(
    trx: Knex.Transaction,
    table: string,
    rows: OutboxRow[],
    from: Side,
    done: OutboxRow[],
  ): Promise<'ok' | 'unavailable'> {
    const byKey = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const k = keyText(r.key);
      const list = byKey.get(k);
      if (list) list.push(r);
      else byKey.set(k, [r]);
    }
    const breaker = this.#breakers[otherSide(from)];
    const keys = [...byKey.values()].map((list) => (list[0] as OutboxRow).key);
    try {
      await breaker.fire(table, keys, from, { source: trx });
      this.#unreachableRun[otherSide(from)] = 0;
      done.push(...rows);
      return 'ok';
    } catch (error) {
      if (isUnavailable(error)) return this.#unreachable(otherSide(from), error);
      if (keys.length === 1) {
        await this.#failKey(trx, table, rows, from, error, done);
        return 'ok';
      }
    }
    for (const list of byKey.values()) {
      try {
        await breaker.fire(table, [(list[0] as OutboxRow).key], from, { source: trx });
        done.push(...list);
      } catch (error) {
        if (isUnavailable(error)) return this.#unreachable(otherSide(from), error);
        await this.#failKey(trx, table, list, from, error, done);
      }
    }
    return 'ok';
  }

  /**
   * A target that hangs fails slowly (one timeout per call), so after a run of successes the failure
   * percentage would take long to reach the threshold: a run of unreachable failures opens it directly.
   */
  #unreachable(to: Side, error: unknown): 'unavailable' {
    const breaker = this.#breakers[to];
    if ((error as { code?: unknown }).code === 'EOPENBREAKER') return 'unavailable';
    this.#unreachableRun[to]++;
    if (this.#unreachableRun[to] >= this.#cfg.breakerConsecutiveFailures && !breaker.opened) {
      this.#unreachableRun[to] = 0;
      breaker.open();
    }
    return 'unavailable';
  }

  /** Counts a failed attempt of one key: retry later with backoff, or quarantine after maxAttempts. */
  async #failKey(
    trx: Knex.Transaction,
    table: string,
    rows: OutboxRow[],
    from: Side,
    error: unknown,
    done: OutboxRow[],
  ): Promise<void> {
    const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
    const message = error instanceof Error ? error.message : String(error);
    const key = (rows[0] as OutboxRow).key;
    if (attempts >= this.#cfg.maxAttempts) {
      const direction = `${from}->${otherSide(from)}`;
      const reason = `sync failed ${attempts} times: ${message}`;
      try {
        await this.#quarantine.record([{ table, key, direction, code: 'sync_failed', reason }]);
        this.#metrics?.quarantined.inc({ table, code: 'sync_failed' });
        this.#log.error({ table, key, attempts, err: error }, 'key quarantined after failed attempts');
        this.#events?.safeEmit('keyQuarantined', { table, key, direction, code: 'sync_failed', reason });
        done.push(...rows);
        return;
      } catch (recordError) {
        this.#log.error({ err: recordError }, 'could not quarantine a failing key; retrying it instead');
      }
    }
    const delay = Math.min(this.#cfg.retryMaxMs, this.#cfg.retryBaseMs * 2 ** (attempts - 1));
    this.#metrics?.retries.inc({ table });
    this.#log.warn(
      { table, key, attempts, delayMs: delay, err: error },
      'sync of a key failed; retrying later',
    );
    await retryOutboxRows(
      trx,
      from,
      rows.map((r) => r.id),
      delay,
      message,
    );
  }

  #recordLag(ms: number, to: Side): void {
    this.#lastLagMs = ms;
    this.#metrics?.lag.observe({ to }, ms / 1000);
    if (this.#lagRing.length < LAG_WINDOW) this.#lagRing.push(ms);
    else this.#lagRing[this.#lagNext] = ms;
    this.#lagNext = (this.#lagNext + 1) % LAG_WINDOW;
  }
}
