import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Knex } from 'knex';
import PQueue from 'p-queue';
import { Registry } from 'prom-client';
import type { DualWriteConfig } from '../config/schema.js';
import { createMysqlKnex } from '../dialect/mysql/connection.js';
import { introspectMysql } from '../dialect/mysql/introspect.js';
import { createPostgresKnex } from '../dialect/postgres/connection.js';
import { introspectPostgres } from '../dialect/postgres/introspect.js';
import { buildTranslators } from '../translate/build.js';
import { createSilentLogger, type Logger } from '../observe/logger.js';
import { shadowMetrics, type ShadowMetrics } from '../report/metrics.js';
import { appendMismatches, type DismissReason, type MismatchRecord } from '../report/records.js';
import { createRedactor, type Redactor } from '../report/redact.js';
import { writeState } from '../report/state.js';
import type { Side } from '../stage/stage.js';
import type { TranslatorSet } from '../translate/types.js';
import { checkRead, type CheckOutcome } from './check.js';
import { RelationNames } from './columns.js';
import { queryShape } from './fingerprint.js';
import { LatencyBook, type ShapeLatency } from './latency.js';
import { toRecord } from './record.js';
import { differenceIdentity, SeenDifferences } from './seen.js';
import type { ReadObservation, ReadObserver } from './types.js';

/** Name of the dualwrite_state entry the flip safety check reads: the newest confirmed mismatch. */
export const LAST_MISMATCH_STATE = 'shadow.lastMismatchAt';

/** Why a sampled read was not compared. */
export type SkipReason = 'overload' | 'closed' | 'non-deterministic';

/** Events of a ShadowReader. */
export interface ShadowEvents {
  /** A difference was confirmed and recorded (values already redacted). Each difference is emitted once. */
  mismatch: [record: MismatchRecord];
  /** A read differed at first but the difference went away (lag) or could not be settled; not counted. */
  dismissed: [info: { table: string | null; reason: DismissReason; rows: number }];
  /**
   * A sampled read was not compared (`overload`: queue full; `closed`: reader closed; `non-deterministic`:
   * the read calls the clock, a random or a session function, named in `detail`).
   */
  skipped: [info: { reason: SkipReason; table: string | null; detail?: string }];
  /** Keys of a differing read are pending in the outbox: the reader waits for their sync, then re-checks. */
  recheck: [info: { table: string; keys: number }];
  /** A comparison failed (other side unreachable, translation error...); the app never sees it. */
  checkError: [info: { table: string | null; fingerprint: string; error: Error }];
}

export interface ShadowReaderOptions {
  /** Current configuration, or a getter for hot-reloaded configuration (sampling and queue size are read per read). */
  config: Readonly<DualWriteConfig> | (() => Readonly<DualWriteConfig>);
  /**
   * Connections made with createMysqlKnex / createPostgresKnex (outbox look-ups, re-checks, state).
   * @default own small pools to the config's URLs, closed by close()
   */
  mysql?: Knex;
  postgres?: Knex;
  /**
   * Translators of both schemas, or a getter when they are built later.
   * @default built once from both databases' introspected schemas, on the first comparison
   */
  translators?: TranslatorSet | (() => TranslatorSet | undefined);
  /** @default a silent logger */
  logger?: Logger;
  /** Registry the shadow metrics are registered in. @default a new Registry */
  registry?: Registry;
  /** Source of randomness for sampling, 0 ≤ x < 1. @default Math.random */
  random?: () => number;
  /** How often the latency snapshot is saved to `shadow.latencyFile` (0: only by flush() and close()), ms. @default 30000 */
  latencyFlushMs?: number;
}

export interface ShadowStats {
  /** Reads compared. */
  checks: number;
  /** Reads that matched (at once, or after a difference went away as lag). */
  matches: number;
  /** Confirmed differences recorded (each once). */
  mismatches: number;
  /** Confirmed differences seen again by later reads (not recorded again). */
  repeated: number;
  errors: number;
  /** Sampled reads not compared, in all and by reason. */
  skipped: number;
  skippedBy: Record<SkipReason, number>;
  /** Reads whose difference was not counted, by reason. */
  dismissed: Record<DismissReason, number>;
  /** Keys (or reads) pending in an outbox when their difference was first seen, waited for. */
  rechecks: number;
  /** Confirmation work: queries (re-runs) and rows (re-reads by key) read on both sides, and the time spent. */
  confirmation: { reads: number; ms: number };
  latency: ShapeLatency[];
}

/** Dismissed differences written to the mismatch log as examples, at most this many a minute. */
const DISMISSED_EXAMPLES_PER_MINUTE = 30;
/** A difference seen again refreshes the flip's quiet window at most this often, ms. */
const STATE_REFRESH_MS = 5000;

/**
 * Compares sampled reads against the other database, off the request path. `observe` returns at once
 * and never throws; comparisons run on a bounded p-queue and anything that goes wrong is counted and logged.
 */
export class ShadowReader extends EventEmitter<ShadowEvents> implements ReadObserver {
  readonly registry: Registry;
  readonly latency = new LatencyBook();
  #config: () => Readonly<DualWriteConfig>;
  #translators: () => TranslatorSet | undefined;
  // Built on first use when the caller gave no translators; shared by every comparison.
  #introspected: Promise<TranslatorSet> | undefined;
  #db: Record<Side, Knex>;
  // Pools this reader created itself (no connections given): destroyed by close().
  #ownPools: Knex[] = [];
  #log: Logger;
  #metrics: ShadowMetrics;
  #random: () => number;
  #redactor: Redactor;
  // Redactor is rebuilt only when the config object changes (hot reload).
  #redactorFor: Readonly<DualWriteConfig> | undefined;
  #queue: PQueue;
  #closed = false;
  // Saves the latency snapshot while the app runs (a long-lived app may never call close()).
  #flushTimer: NodeJS.Timeout | undefined;
  // Whether a read was compared since the last save (no write when nothing changed).
  #dirty = false;
  #relations = new RelationNames();
  #seen = new SeenDifferences();
  // Timed pairs taken: alternates which side runs first.
  #pairs = 0;
  #examples = { minute: 0, written: 0 };
  #stateAt = 0;
  #stats: Omit<ShadowStats, 'latency'> = {
    checks: 0,
    matches: 0,
    mismatches: 0,
    repeated: 0,
    errors: 0,
    skipped: 0,
    skippedBy: { overload: 0, closed: 0, 'non-deterministic': 0 },
    dismissed: { lag: 0, unsettled: 0, 'unordered-limit': 0 },
    rechecks: 0,
    confirmation: { reads: 0, ms: 0 },
  };

  constructor(options: ShadowReaderOptions) {
    super();
    const { config, translators } = options;
    this.#config = typeof config === 'function' ? config : () => config;
    this.#translators = typeof translators === 'function' ? translators : () => translators;
    const cfg0 = this.#config();
    const own = (make: () => Knex): Knex => {
      const k = make();
      this.#ownPools.push(k);
      return k;
    };
    this.#db = {
      mysql: options.mysql ?? own(() => createMysqlKnex({ url: cfg0.mysql.url, pool: { max: 2 } })),
      postgres:
        options.postgres ?? own(() => createPostgresKnex({ url: cfg0.postgres.url, pool: { max: 2 } })),
    };
    this.#log = (options.logger ?? createSilentLogger()).child({ component: 'shadow' });
    this.registry = options.registry ?? new Registry();
    this.#metrics = shadowMetrics(this.registry);
    this.#random = options.random ?? Math.random;
    const cfg = this.#config();
    this.#redactor = createRedactor(cfg);
    this.#redactorFor = cfg;
    this.#queue = new PQueue({ concurrency: cfg.shadow.concurrency });
    const every = options.latencyFlushMs ?? 30_000;
    if (every > 0) {
      this.#flushTimer = setInterval(() => {
        if (!this.#dirty) return;
        this.flush().catch((error: unknown) =>
          this.#log.warn({ err: error }, 'saving shadow latency failed'),
        );
      }, every);
      this.#flushTimer.unref();
    }
  }

  observe(observation: ReadObservation): void {
    try {
      const cfg = this.#config();
      const table = observation.table;
      const rate = (table ? cfg.tables[table]?.shadowSampleRate : undefined) ?? cfg.shadow.sampleRate;
      if (rate <= 0 || this.#random() >= rate) return;
      if (this.#closed) return this.#skip('closed', table);
      if (this.#queue.size + this.#queue.pending >= cfg.shadow.queueSize)
        return this.#skip('overload', table);
      if (this.#queue.concurrency !== cfg.shadow.concurrency)
        this.#queue.concurrency = cfg.shadow.concurrency;
      void this.#queue.add(() => this.#check(observation, cfg));
      this.#metrics.queued.set(this.#queue.size + this.#queue.pending);
    } catch (error) {
      // Never into the app: a broken observation only costs one comparison.
      this.#log.warn({ err: error }, 'shadow observe failed');
    }
  }

  /** Resolves when every queued comparison has finished. */
  async onIdle(): Promise<void> {
    await this.#queue.onIdle();
  }

  stats(): ShadowStats {
    const s = this.#stats;
    return {
      ...s,
      skippedBy: { ...s.skippedBy },
      dismissed: { ...s.dismissed },
      confirmation: { ...s.confirmation },
      latency: this.latency.snapshot(),
    };
  }

  /** Saves the per-shape latency and the counts to `shadow.latencyFile` (read by `dualwrite report`). */
  async flush(): Promise<void> {
    this.#dirty = false;
    const file = this.#config().shadow.latencyFile;
    await mkdir(dirname(file), { recursive: true });
    const { latency, ...counts } = this.stats();
    const snapshot = { at: new Date().toISOString(), shapes: latency, stats: counts };
    await writeFile(file, `${JSON.stringify(snapshot, null, 2)}\n`);
  }

  /** Stops accepting reads, waits for the running ones, saves latency and removes listeners. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#flushTimer);
    await this.#queue.onIdle();
    try {
      await this.flush();
    } catch (error) {
      this.#log.warn({ err: error }, 'saving shadow latency failed');
    }
    this.removeAllListeners();
    await Promise.all(this.#ownPools.map((k) => k.destroy()));
  }

  #introspect(): Promise<TranslatorSet> {
    this.#introspected ??= (async () =>
      buildTranslators(
        await introspectMysql(this.#db.mysql),
        await introspectPostgres(this.#db.postgres),
        this.#config(),
      ))();
    // A failed introspection is retried by the next comparison instead of failing every one after it.
    this.#introspected.catch(() => (this.#introspected = undefined));
    return this.#introspected;
  }

  #skip(reason: SkipReason, table: string | null, detail?: string): void {
    this.#stats.skipped += 1;
    this.#stats.skippedBy[reason] += 1;
    this.#metrics.skipped.inc({ reason });
    this.emit('skipped', { reason, table, ...(detail ? { detail } : {}) });
  }

  #redact(): Redactor {
    const cfg = this.#config();
    if (cfg !== this.#redactorFor) {
      this.#redactor = createRedactor(cfg);
      this.#redactorFor = cfg;
    }
    return this.#redactor;
  }

  async #check(obs: ReadObservation, cfg: Readonly<DualWriteConfig>): Promise<void> {
    const table = obs.table;
    const label = table ?? '(raw)';
    let fingerprint = '';
    const started = performance.now();
    try {
      const parsed = queryShape(obs.sql);
      fingerprint = parsed.fingerprint;
      const timed = cfg.shadow.latencySampleRate > 0 && this.#random() < cfg.shadow.latencySampleRate;
      const outcome = await checkRead(obs, {
        db: this.#db,
        translators: this.#translators() ?? (await this.#introspect()),
        relations: this.#relations,
        config: cfg,
        redactor: this.#redact(),
        timed,
        authoritativeFirst: timed && this.#pairs++ % 2 === 0,
        onPending: (t, keys) => this.emit('recheck', { table: t, keys }),
        known: (d) => this.#seen.has(differenceIdentity(d, parsed.fingerprint)),
      });
      this.#account(outcome, parsed, table, label, started);
      if (outcome.result === 'mismatch') await this.#report(obs, outcome, parsed);
      else if (outcome.result === 'dismissed') await this.#dismiss(obs, outcome, parsed);
      else if (outcome.result === 'repeated')
        await this.#refreshState(obs.table, outcome.diffs[0], parsed, false);
    } catch (error) {
      this.#stats.errors += 1;
      this.#metrics.checks.inc({ table: label, result: 'error' });
      this.#log.warn({ err: error, table, fingerprint }, 'shadow read comparison failed');
      try {
        this.emit('checkError', { table, fingerprint, error: error as Error });
      } catch (listenerError) {
        // A throwing listener must not turn into an unhandled rejection of the queue.
        this.#log.warn({ err: listenerError }, 'checkError listener threw');
      }
    } finally {
      this.#metrics.queued.set(this.#queue.size + this.#queue.pending - 1);
    }
  }

  #account(
    outcome: CheckOutcome,
    shape: { fingerprint: string; shape: string },
    table: string | null,
    label: string,
    started: number,
  ): void {
    if (outcome.pair) {
      this.latency.recordPair(shape.fingerprint, shape.shape, table, outcome.pair);
      this.#metrics.readSeconds.observe({ side: 'mysql' }, outcome.pair.mysql / 1000);
      this.#metrics.readSeconds.observe({ side: 'postgres' }, outcome.pair.postgres / 1000);
      this.#dirty = true;
    }
    if (outcome.result === 'skipped') return this.#skip('non-deterministic', table, outcome.detail);
    this.#dirty = true;
    this.#stats.checks += 1;
    this.#stats.rechecks += outcome.rechecked;
    if (outcome.confirmReads > 0) {
      this.#stats.confirmation.reads += outcome.confirmReads;
      this.#stats.confirmation.ms += Math.round(performance.now() - started);
      this.#metrics.confirmReads.inc({ table: label }, outcome.confirmReads);
    }
    const dismissed =
      outcome.result === 'dismissed'
        ? { reason: outcome.reason, count: outcome.count }
        : outcome.result === 'mismatch'
          ? outcome.dismissed
          : null;
    if (dismissed) {
      this.#stats.dismissed[dismissed.reason] += 1;
      this.#metrics.dismissed.inc({ table: label, reason: dismissed.reason });
      this.emit('dismissed', { table, reason: dismissed.reason, rows: dismissed.count });
    }
    if (outcome.result === 'mismatch' || outcome.result === 'dismissed') {
      const result =
        outcome.result === 'mismatch' ? 'mismatch' : outcome.reason === 'lag' ? 'resolved' : outcome.reason;
      this.#metrics.rechecks.inc({ table: label, outcome: result });
    }
    const matched =
      outcome.result === 'match' || (outcome.result === 'dismissed' && outcome.reason === 'lag');
    if (matched) this.#stats.matches += 1;
    if (outcome.result !== 'dismissed' || matched)
      this.#metrics.checks.inc({
        table: label,
        result: outcome.result === 'mismatch' ? 'mismatch' : 'match',
      });
  }

  /**
   * The flip's quiet window starts again at every confirmed mismatch; a difference seen again keeps it
   * open, refreshed at most every STATE_REFRESH_MS.
   */
  async #refreshState(
    table: string | null,
    first: { kind: string } | undefined,
    shape: { fingerprint: string },
    fresh: boolean,
  ): Promise<void> {
    if (!fresh && Date.now() - this.#stateAt < STATE_REFRESH_MS) return;
    this.#stateAt = Date.now();
    try {
      await writeState(this.#db.postgres, LAST_MISMATCH_STATE, {
        at: new Date().toISOString(),
        status: 'confirmed',
        table,
        kind: first?.kind,
        fingerprint: shape.fingerprint,
      });
    } catch (error) {
      this.#log.error({ err: error }, `writing ${LAST_MISMATCH_STATE} failed`);
    }
  }

  /** A dismissed difference goes to the log as an example (rate-limited), never to the flip's state. */
  async #dismiss(
    obs: ReadObservation,
    outcome: Extract<CheckOutcome, { result: 'dismissed' }>,
    shape: { fingerprint: string; shape: string },
  ): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000);
    if (this.#examples.minute !== minute) this.#examples = { minute, written: 0 };
    if (this.#examples.written >= DISMISSED_EXAMPLES_PER_MINUTE) return;
    this.#examples.written += 1;
    const record = toRecord(this.#redact(), {
      source: 'shadow',
      table: obs.table,
      diff: outcome.example,
      authSide: obs.servedBy,
      fingerprint: shape.fingerprint,
      shape: shape.shape,
      context: obs.context ? { ...obs.context } : null,
      rechecked: outcome.rechecked > 0,
      status: 'dismissed',
      reason: outcome.reason,
      evidence: outcome.evidence,
      differences: outcome.count,
    });
    try {
      await appendMismatches(this.#config().shadow.mismatchLog, [record]);
    } catch (error) {
      this.#log.error({ err: error }, 'writing the mismatch log failed');
    }
  }

  async #report(
    obs: ReadObservation,
    outcome: Extract<CheckOutcome, { result: 'mismatch' }>,
    shape: { fingerprint: string; shape: string },
  ): Promise<void> {
    const table = obs.table;
    const fresh = outcome.diffs.filter(
      (d) => !this.#seen.seenBefore(differenceIdentity(d, shape.fingerprint)),
    );
    this.#stats.repeated += outcome.diffs.length - fresh.length;
    const records = fresh.map((d) =>
      toRecord(this.#redact(), {
        source: 'shadow',
        table,
        diff: d,
        authSide: obs.servedBy,
        fingerprint: shape.fingerprint,
        shape: shape.shape,
        context: obs.context ? { ...obs.context } : null,
        rechecked: outcome.wasPending(d),
        status: 'confirmed',
        evidence: outcome.evidence(d),
        query: outcome.query,
        sources: outcome.sources,
      }),
    );
    this.#stats.mismatches += records.length;
    if (records.length > 0) this.#metrics.mismatches.inc({ table: table ?? '(raw)' }, records.length);
    const cfg = this.#config();
    try {
      await appendMismatches(cfg.shadow.mismatchLog, records);
    } catch (error) {
      this.#log.error({ err: error }, 'writing the mismatch log failed');
    }
    await this.#refreshState(table, records[0] ?? outcome.diffs[0], shape, records.length > 0);
    for (const record of records) {
      this.#log.warn({ mismatch: record }, 'shadow read mismatch');
      this.emit('mismatch', record);
    }
  }
}
