import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { Gauge, Histogram } from 'prom-client';
import { loadConfig } from '../config/load.js';
import type { DualWriteConfig, DualWriteConfigInput } from '../config/schema.js';
import { ConfigWatcher } from '../config/watch.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { DualWriteEvents } from '../observe/events.js';
import { createDefaultLogger, type Logger } from '../observe/logger.js';
import { createMetrics } from '../observe/metrics.js';
import type { ReadObserver, RequestContext } from '../shadow/types.js';
import { Authority } from '../stage/authority.js';
import { StageController } from '../stage/flip.js';
import { InstanceRegistry } from '../stage/instances.js';
import type { Side, Stage } from '../stage/stage.js';
import { KeySyncer } from '../sync/syncer.js';
import { SyncWorker } from '../sync/worker.js';
import type { TranslatorSet } from '../translate/types.js';
import { WriteGate } from './gate.js';
import { queryInterface } from './handle.js';
import { createPools } from './pools.js';
import { admission } from './driver-gate.js';
import { createAppKnex, type AppKnex, type AppKnexInput } from './app-knex.js';
import { pgShapeSource } from './pg-shape-source.js';
import { SchemaKnowledge } from './schema-knowledge.js';
import { forwardAppEvents } from './statement-context.js';
import type { ShapeSource } from '../shape/pg-rows.js';
import { readStatus } from './status.js';
import type { HandleCore, OutboxWorkerLike, Scope } from './scope.js';
import type { DualWriteControl, DualWriteDb, DualWriteStatus } from './types.js';

export interface DualWriteOptions {
  /**
   * The app's own knex configuration (or the knex instance it used until now: its configuration is
   * taken, its pool left alone). The app's MySQL statements run with it — its mysql2 settings (typeCast,
   * dateStrings, supportBigNumbers, bigNumberStrings, decimalNumbers, timezone...), pool, session and
   * knex hooks — and results from PostgreSQL are shaped as those settings shape MySQL's. Connection
   * details it leaves out come from `mysql.url`. @default mysql2's defaults on `mysql.url`
   */
  knex?: AppKnexInput;
  /** Configuration object; with `configFile`, merged over the file. */
  config?: DualWriteConfigInput;
  /** JSON or YAML config file, watched: stage flips and other changes apply without a restart. */
  configFile?: string;
  /** @default a pino logger to stderr at `info` (DUALWRITE_LOG_LEVEL), credentials redacted */
  logger?: Logger;
  /** Receives reads in stages with shadow reads (the shadow part's ShadowReader). @default none */
  readObserver?: ReadObserver;
  /** Value translators. @default built from both databases' introspected schemas */
  translators?: TranslatorSet;
  /**
   * Drain the outbox in this process: `true` starts the sync worker, `false` runs none (another
   * process drains), or pass a worker. @default true
   */
  syncWorker?: boolean | OutboxWorkerLike;
  /**
   * Commits within this window wake the sync worker once, ms (0: wake on every commit). Longer windows
   * mean fewer sync cycles competing with the app for its event loop and the database CPUs, and add at
   * most the window to the sync lag. @default config `sync.notifyWindowMs` (20)
   */
  notifyWindowMs?: number;
  /** Environment for overrides (DUALWRITE_STAGE, MYSQL_URL, PG_URL). @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Creates the handle the app uses where it used its knex instance. Reads and writes are routed by
 * the stage in force, writes captured in the authoritative outbox and synced by the worker.
 */
export async function createDualWrite(options: DualWriteOptions = {}): Promise<DualWriteDb> {
  const logger = (options.logger ?? createDefaultLogger()).child({ component: 'dualwrite' });
  const env = options.env ?? process.env;
  let watcher: ConfigWatcher | undefined;
  let config: Readonly<DualWriteConfig>;
  const ref: { controller?: StageController } = {};
  if (options.configFile) {
    watcher = new ConfigWatcher({
      file: options.configFile,
      overrides: options.config,
      env,
      logger,
      stageInForce: () => ref.controller?.stage ?? config.stage,
      onChange: async (next) => {
        config = next;
        if (ref.controller && next.stage !== ref.controller.stage) {
          await ref.controller.setStage(next.stage as Stage, { source: `config:${options.configFile}` });
        }
      },
    });
    config = watcher.current;
  } else {
    config = loadConfig({ overrides: options.config, env });
  }

  const urls = { mysql: config.mysql.url, postgres: config.postgres.url };
  const timeouts = { mysql: config.mysql.timeouts, postgres: config.postgres.timeouts };
  const knex = createPools(
    urls,
    { mysql: config.mysql.poolMax, postgres: config.postgres.poolMax },
    logger,
    timeouts,
  );
  let translators: SchemaKnowledge;
  try {
    translators = await SchemaKnowledge.load(knex, () => config, options.translators);
  } catch (error) {
    await Promise.all([knex.mysql.destroy(), knex.postgres.destroy()]);
    throw error;
  }

  const events = new DualWriteEvents();
  const metrics = createMetrics();
  const gate = new WriteGate();
  let worker: OutboxWorkerLike | undefined;
  const syncedTables = (): string[] => translators.tableNames().filter((t) => !config.tables[t]?.exclude);
  // Every instance publishes its stage (dualwrite status shows it next to the file's); with
  // `flip.coordinate: instances` a fence also waits for the others to hold their writes.
  const instances = new InstanceRegistry({
    pg: knex.postgres,
    stage: () => ref.controller?.stage ?? (config.stage as Stage),
    heartbeatMs: config.flip.heartbeatMs,
    logger,
  });
  const coordinated = config.flip.coordinate === 'instances';
  // The fence and a process completing a stage change drain outboxes through the sync worker; a
  // process without one keeps an idle worker on its own pools for that.
  let standby: SyncWorker | undefined;
  const authority = new Authority({
    knex,
    logger,
    tables: () => syncedTables(),
    drain: (side, timeoutMs) => {
      const w = worker ?? standby;
      if (!w) return Promise.reject(new Error('no sync worker to drain the outbox'));
      return w.drain({ side, timeoutMs });
    },
  });
  const stageController = new StageController({
    instances: coordinated ? instances : undefined,
    initial: config.stage as Stage,
    knex,
    gate,
    authority,
    config: () => config,
    tables: syncedTables,
    events,
    logger,
    flipPause: new Histogram({
      name: 'dualwrite_flip_pause_seconds',
      help: 'How long writes were held by the flip fence',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics.registry],
    }),
    stageGauge: new Gauge({
      name: 'dualwrite_stage',
      help: 'Stage in force (1) and the others (0)',
      labelNames: ['stage'],
      registers: [metrics.registry],
    }),
  });
  ref.controller = stageController;
  let shape: ShapeSource | undefined;
  const app: AppKnex = createAppKnex({
    input: options.knex,
    urls,
    poolMax: { mysql: config.mysql.poolMax, postgres: config.postgres.poolMax },
    timeouts,
    hooks: {
      admit: admission({ plan: () => stageController.plan(), config: () => config }),
      shape: () => (shape ??= pgShapeSource(app.config, translators)),
    },
    logger,
  });
  const appPools = [app.mysql, app.mysqlWrites, app.postgres];
  const appEvents = new EventEmitter();
  forwardAppEvents(appPools, appEvents);
  try {
    await instances.start();
  } catch (error) {
    if (coordinated) {
      await instances.stop();
      await Promise.all([knex.mysql.destroy(), knex.postgres.destroy(), ...appPools.map((p) => p.destroy())]);
      throw error;
    }
    // Only status misses this instance; the heartbeat keeps trying.
    logger.warn({ err: (error as Error).message }, 'cannot publish this instance (dualwrite init not run?)');
  }
  let workerKnex: Record<Side, Knex> | undefined;
  if (options.syncWorker === undefined || options.syncWorker === true) {
    // The worker gets pools of its own: its claim transactions never take the app's connections,
    // and an unreachable secondary never queues app statements behind sync attempts.
    const size = config.sync.concurrency * 2 + 1;
    // A sync never waits on a statement longer than the breaker's timeout: a stuck connection is
    // destroyed about when the breaker gives the attempt up.
    const bound = (t: typeof timeouts.mysql) => ({
      ...t,
      statementMs: Math.min(t.statementMs, config.sync.timeoutMs),
    });
    const wk = createPools(urls, { mysql: size, postgres: size }, logger, {
      mysql: bound(timeouts.mysql),
      postgres: bound(timeouts.postgres),
    });
    workerKnex = wk;
    worker = new SyncWorker({
      mysql: wk.mysql,
      pg: wk.postgres,
      syncer: new KeySyncer({
        mysql: wk.mysql,
        pg: wk.postgres,
        translators,
        logger,
        events,
        metrics,
        copyThreshold: config.sync.copyThreshold,
      }),
      authoritative: () => stageController.plan().authoritative,
      sync: config.sync,
      logger,
      events,
      metrics,
    });
  } else if (options.syncWorker) {
    worker = options.syncWorker;
  }
  if (!worker) {
    standby = new SyncWorker({
      mysql: knex.mysql,
      pg: knex.postgres,
      syncer: new KeySyncer({ mysql: knex.mysql, pg: knex.postgres, translators, logger, events, metrics }),
      authoritative: () => stageController.plan().authoritative,
      sync: { ...config.sync, closeTimeoutMs: 0 },
      logger,
      events,
      start: false,
    });
  }
  const closePools = (): Promise<unknown> =>
    Promise.all(
      [knex.mysql, knex.postgres, ...appPools, workerKnex?.mysql, workerKnex?.postgres].map((p) =>
        p?.destroy(),
      ),
    );
  try {
    await stageController.start();
  } catch (error) {
    await worker?.close().catch(() => undefined);
    await standby?.close().catch(() => undefined);
    await instances.stop();
    await closePools();
    throw error;
  }

  let closed = false;
  let notifyTimer: NodeJS.Timeout | undefined;
  const notifyWindowMs = options.notifyWindowMs ?? config.sync.notifyWindowMs;
  const core: HandleCore = {
    knex,
    app,
    appEvents,
    translators,
    gate,
    logger,
    readObserver: options.readObserver,
    config: () => config,
    plan: () => stageController.plan(),
    follow: () => stageController.follow(),
    mysqlUniqueKeys: (table) => translators.uniqueKeys(table),
    tables: translators,
    notify: () => {
      // Commits within one window wake the worker once: fewer claim cycles competing with the app
      // for this event loop, at the cost of at most the window in lag.
      if (notifyTimer || !worker) return;
      notifyTimer = setTimeout(() => {
        notifyTimer = undefined;
        worker?.notify();
      }, notifyWindowMs);
    },
    assertOpen: () => {
      if (closed) throw new DualWriteError(ErrorCode.Closed, 'the dualwrite handle was destroyed');
    },
  };

  const status = (): Promise<DualWriteStatus> => {
    const w = worker as { breakerState?: (side: Side) => string } | undefined;
    return readStatus({
      knex,
      plan: stageController.plan(),
      breakerState: w?.breakerState?.bind(w),
      configStage: (watcher?.current ?? config).stage as Stage,
    });
  };

  const destroy = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearTimeout(notifyTimer);
    watcher?.close();
    clearInterval(retryTimer);
    try {
      await worker?.close();
      await standby?.close();
      await instances.stop();
    } finally {
      await closePools();
    }
  };

  const makeDb = (context: RequestContext | undefined): DualWriteDb => {
    const scope: Scope = { core, context, trx: undefined };
    const db = queryInterface(scope) as DualWriteDb;
    const control: DualWriteControl = {
      get stage() {
        return stageController.stage;
      },
      plan: () => stageController.plan(),
      setStage: (stage, opts) => stageController.setStage(stage, opts),
      flip: (target, opts) =>
        stageController.setStage(target, { source: opts?.source ?? 'api', force: opts?.force }),
      status,
      events,
      metrics: metrics.registry,
      get worker() {
        return worker;
      },
      translators,
      get config() {
        return config;
      },
      knex,
      app: { mysql: app.mysql, postgres: app.postgres },
      mysqlWrites: app.mysqlWrites,
      context,
    };
    Object.assign(db, {
      withContext: (ctx: RequestContext) => makeDb(ctx),
      destroy,
      dualwrite: control,
    });
    return db;
  };

  watcher?.start();
  // A stage of the config file the databases did not take (refused flip, a move that could not
  // complete) is tried again until this process agrees with the file; every failed try logs at error.
  const retryTimer = setInterval(() => {
    if (closed || !watcher) return;
    const wanted = watcher.current.stage as Stage;
    if (wanted === stageController.stage) return;
    stageController
      .setStage(wanted, { source: `config:${options.configFile} (retry)` })
      .catch((error: unknown) =>
        logger.error(
          { wanted, inForce: stageController.stage, reason: (error as Error).message },
          'stage still differs from the configuration',
        ),
      );
  }, config.flip.retryIntervalMs);
  retryTimer.unref();
  return makeDb(undefined);
}
