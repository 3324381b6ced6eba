import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
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
import { appendMismatches, type MismatchRecord } from '../report/records.js';
import { createRedactor, type Redactor } from '../report/redact.js';
import { writeState } from '../report/state.js';
import { otherSide, type Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator, TranslatorSet } from '../translate/types.js';
import { compareResults, DiffKind, type RowDiff } from './compare.js';
import { ignoredColumns, toRecord } from './record.js';
import { queryShape } from './fingerprint.js';
import { confirmKeys } from './confirm.js';
import { keyText, sleep, tableHasPending } from './keys.js';
import { LatencyBook, type ShapeLatency } from './latency.js';
import type { ReadObservation, ReadObserver } from './types.js';

/** Name of the dualwrite_state entry the flip safety check reads. */
export const LAST_MISMATCH_STATE = 'shadow.lastMismatchAt';

/** Events of a ShadowReader. */
export interface ShadowEvents {
  /** A difference was confirmed and recorded (values already redacted). */
  mismatch: [record: MismatchRecord];
  /** A sampled read was not compared (`overload`: queue full; `closed`: reader closed). */
  skipped: [info: { reason: 'overload' | 'closed'; table: string | null }];
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
  checks: number;
  matches: number;
  mismatches: number;
  errors: number;
  skipped: number;
  rechecks: number;
  latency: ShapeLatency[];
}

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
  #stats = { checks: 0, matches: 0, mismatches: 0, errors: 0, skipped: 0, rechecks: 0 };

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
    return { ...this.#stats, latency: this.latency.snapshot() };
  }

  /** Saves the per-shape latency to `shadow.latencyFile` (read by `dualwrite report`). */
  async flush(): Promise<void> {
    this.#dirty = false;
    const file = this.#config().shadow.latencyFile;
    await mkdir(dirname(file), { recursive: true });
    const snapshot = { at: new Date().toISOString(), shapes: this.latency.snapshot() };
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

  #skip(reason: 'overload' | 'closed', table: string | null): void {
    this.#stats.skipped += 1;
    this.#metrics.skipped.inc({ reason });
    this.emit('skipped', { reason, table });
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
    try {
      const parsed = queryShape(obs.sql);
      fingerprint = parsed.fingerprint;
      const shape = parsed.shape;
      const authSide = obs.servedBy;
      const other = otherSide(authSide);
      const started = performance.now();
      const otherRows = asRows(await obs.runOnOther());
      const otherMs = performance.now() - started;
      this.latency.record(fingerprint, shape, table, authSide, obs.latencyMs);
      this.latency.record(fingerprint, shape, table, other, otherMs);
      this.#dirty = true;
      this.#metrics.readSeconds.observe({ side: authSide }, obs.latencyMs / 1000);
      this.#metrics.readSeconds.observe({ side: other }, otherMs / 1000);

      const translators = this.#translators() ?? (await this.#introspect());
      const translator = table && translators?.has(table) ? translators.table(table) : undefined;
      const ignore = ignoredColumns(cfg, table);
      const input = { translator, authoritativeSide: authSide, otherSide: other, ignore };
      const first = compareResults({ ...input, authoritativeRows: asRows(obs.rows), otherRows });
      this.#stats.checks += 1;
      if (first.diffs.length === 0) {
        this.#stats.matches += 1;
        this.#metrics.checks.inc({ table: label, result: 'match' });
        return;
      }
      const confirmed =
        translator && first.keyed
          ? await this.#confirmKeyed(
              translator,
              authSide,
              asRows(obs.rows),
              otherRows,
              first.diffs,
              ignore,
              cfg,
            )
          : await this.#confirmUnkeyed(obs, input, first.diffs, cfg);
      if (confirmed.diffs.length === 0) {
        this.#stats.matches += 1;
        this.#metrics.checks.inc({ table: label, result: 'match' });
        return;
      }
      this.#metrics.checks.inc({ table: label, result: 'mismatch' });
      await this.#report(obs, authSide, confirmed.diffs, confirmed.rechecked, fingerprint, shape);
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

  /**
   * Differences on keyed rows are confirmed on the keys themselves: keys pending in the outbox are waited
   * for (bounded), then both sides are re-read by key, so a write that landed between the two reads, or
   * that was still syncing, is not reported.
   */
  async #confirmKeyed(
    translator: RowTranslator,
    authSide: Side,
    authRows: readonly Row[],
    otherRows: readonly Row[],
    diffs: RowDiff[],
    ignore: ReadonlySet<string>,
    cfg: Readonly<DualWriteConfig>,
  ): Promise<{ diffs: RowDiff[]; rechecked: Set<string> }> {
    const table = translator.table;
    const tableColumns = new Set(translator.columns);
    const resultColumns = new Set([...authRows, ...otherRows].flatMap((r) => Object.keys(r)));
    const {
      diffs: again,
      rechecked,
      timedOut,
    } = await confirmKeys({
      db: this.#db,
      translator,
      authoritativeSide: authSide,
      keys: diffs.map((d) => d.key as KeyTuple),
      columns: [...resultColumns].filter((c) => tableColumns.has(c)),
      ignore,
      wait: { timeoutMs: cfg.shadow.recheckTimeoutMs, intervalMs: cfg.shadow.recheckIntervalMs },
      onPending: (keys) => this.emit('recheck', { table, keys }),
    });
    this.#stats.rechecks += rechecked.size;
    if (timedOut.size > 0) this.#metrics.rechecks.inc({ table, outcome: 'timeout' }, timedOut.size);
    // A difference only in computed columns cannot be re-read by key: keep the original one.
    const onlyComputed = diffs.filter(
      (d) =>
        d.kind === DiffKind.Different &&
        !rechecked.has(keyText(d.key as KeyTuple)) &&
        d.columns.every((c) => !tableColumns.has(c.column)),
    );
    const confirmed = [...again, ...onlyComputed];
    const still = new Set(confirmed.map((d) => keyText(d.key as KeyTuple)));
    let resolved = 0;
    for (const k of rechecked) if (!timedOut.has(k) && !still.has(k)) resolved += 1;
    if (resolved > 0) this.#metrics.rechecks.inc({ table, outcome: 'resolved' }, resolved);
    const mismatched = [...rechecked].filter((k) => still.has(k)).length;
    if (mismatched > 0) this.#metrics.rechecks.inc({ table, outcome: 'mismatch' }, mismatched);
    return { diffs: confirmed, rechecked };
  }

  /** Results without a key: wait until the table has nothing pending, then run the read on the other side again. */
  async #confirmUnkeyed(
    obs: ReadObservation,
    input: Omit<Parameters<typeof compareResults>[0], 'authoritativeRows' | 'otherRows'>,
    diffs: RowDiff[],
    cfg: Readonly<DualWriteConfig>,
  ): Promise<{ diffs: RowDiff[]; rechecked: Set<string> }> {
    const table = obs.table;
    if (!table) return { diffs, rechecked: new Set() };
    const auth = this.#db[obs.servedBy];
    if (!(await tableHasPending(auth, table))) return { diffs, rechecked: new Set() };
    this.#stats.rechecks += 1;
    this.emit('recheck', { table, keys: 0 });
    const deadline = Date.now() + cfg.shadow.recheckTimeoutMs;
    while ((await tableHasPending(auth, table)) && Date.now() < deadline)
      await sleep(cfg.shadow.recheckIntervalMs);
    const again = compareResults({
      ...input,
      authoritativeRows: obs.rows,
      otherRows: await obs.runOnOther(),
    });
    this.#metrics.rechecks.inc({ table, outcome: again.diffs.length === 0 ? 'resolved' : 'mismatch' });
    return { diffs: again.diffs, rechecked: new Set(again.diffs.length > 0 ? ['*'] : []) };
  }

  async #report(
    obs: ReadObservation,
    authSide: Side,
    diffs: RowDiff[],
    rechecked: Set<string>,
    fingerprint: string,
    shape: string,
  ): Promise<void> {
    const table = obs.table;
    const records = diffs.map((d) =>
      toRecord(this.#redact(), {
        source: 'shadow',
        table,
        diff: d,
        authSide,
        fingerprint,
        shape,
        context: obs.context ? { ...obs.context } : null,
        rechecked: rechecked.has('*') || (d.key !== null && rechecked.has(keyText(d.key))),
      }),
    );
    this.#stats.mismatches += records.length;
    this.#metrics.mismatches.inc({ table: table ?? '(raw)' }, records.length);
    const cfg = this.#config();
    try {
      await appendMismatches(cfg.shadow.mismatchLog, records);
    } catch (error) {
      this.#log.error({ err: error }, 'writing the mismatch log failed');
    }
    try {
      await writeState(this.#db.postgres, LAST_MISMATCH_STATE, { at: records[0]?.at, table });
    } catch (error) {
      this.#log.error({ err: error }, `writing ${LAST_MISMATCH_STATE} failed`);
    }
    for (const record of records) {
      this.#log.warn({ mismatch: record }, 'shadow read mismatch');
      this.emit('mismatch', record);
    }
  }
}

/** Rows of a result; a single row (`.first()`) or nothing is tolerated rather than failing the comparison. */
function asRows(result: unknown): readonly Row[] {
  if (Array.isArray(result)) return result as Row[];
  return result && typeof result === 'object' ? [result as Row] : [];
}
