import type { Knex } from 'knex';
import type { Gauge, Histogram } from 'prom-client';
import type { DualWriteConfig } from '../config/schema.js';
import { ConfigError, DualWriteError, ErrorCode } from '../errors.js';
import type { WriteGate } from '../handle/gate.js';
import type { DualWriteEvents } from '../observe/events.js';
import type { Logger } from '../observe/logger.js';
import { appendAudit } from './audit.js';
import { NotAuthoritativeError, type Authority } from './authority.js';
import type { InstanceRegistry } from './instances.js';
import { flipChecks } from './checks.js';
import { planFor, type Side, STAGES, type Stage, type StagePlan } from './stage.js';

/** A flip refused by its safety checks or by the fence (writes or the outbox did not settle in time). */
export class FlipRefusedError extends DualWriteError {
  readonly reasons: readonly string[];
  readonly from: Stage;
  readonly to: Stage;
  constructor(from: Stage, to: Stage, reasons: readonly string[]) {
    super(ErrorCode.FlipRefused, `flip ${from} → ${to} refused: ${reasons.join('; ')}`);
    this.reasons = reasons;
    this.from = from;
    this.to = to;
  }
}

export interface SetStageOptions {
  /** Who asked, for the audit line. @default 'api' */
  source?: string;
  /** Skip the safety checks (the fence still drains). @default false */
  force?: boolean;
}

export interface StageChange {
  from: Stage;
  to: Stage;
  source: string;
  at: Date;
  forced: boolean;
  /** Writes were held this long, ms; null when the authoritative role did not move (no fence). */
  pauseMs: number | null;
}

export interface StageControllerOptions {
  initial: Stage;
  knex: Readonly<Record<Side, Knex>>;
  gate: WriteGate;
  /** The role as the databases record it: the fence moves it, a refused write follows it. */
  authority: Authority;
  config: () => Readonly<DualWriteConfig>;
  /** Synced tables (for the backfill check). */
  tables: () => readonly string[];
  events: DualWriteEvents;
  logger: Logger;
  /** Flip pauses are observed here (seconds). @default none */
  flipPause?: Histogram | undefined;
  /** Set to 1 for the stage in force, 0 for the others. @default none */
  stageGauge?: Gauge<'stage'> | undefined;
  /** Other app instances to wait for in a fence (`flip.coordinate: instances`). @default none */
  instances?: InstanceRegistry | undefined;
}

/**
 * Holds the stage in force and changes it. A change that moves the authoritative role runs the fence:
 * hold new writes, let admitted ones finish, drain the old authoritative outbox to zero, switch, release.
 */
export class StageController {
  #stage: Stage;
  readonly #opts: StageControllerOptions;
  readonly #log: Logger;
  /** Stage changes run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** One catch-up with the databases at a time, shared by every write refused meanwhile. */
  #following: Promise<void> | undefined;

  constructor(options: StageControllerOptions) {
    this.#stage = options.initial;
    this.#opts = options;
    this.#log = options.logger.child({ component: 'stage' });
    this.#setGauge();
  }

  #setGauge(): void {
    for (const stage of STAGES) this.#opts.stageGauge?.set({ stage }, stage === this.#stage ? 1 : 0);
  }

  get stage(): Stage {
    return this.#stage;
  }

  plan(): StagePlan {
    return planFor(this.#stage);
  }

  /**
   * Brings the databases to this process's stage before it takes writes: a stage change made while no
   * process ran it (the CLI, or every process killed mid-fence) is completed here, with the old side's
   * outbox drained and identities moved. When it cannot complete, the stage the databases keep is
   * adopted (writes stay correct) and the caller retries later. Returns whether the initial stage holds.
   */
  async start(): Promise<boolean> {
    const cfg = this.#opts.config().flip;
    const wanted = this.#stage;
    if (planFor(wanted).syncs) {
      const view = await this.#opts.authority.read();
      if (!view.mysql || !view.postgres) {
        throw new ConfigError(
          `stage ${wanted} syncs, but dualwrite_authority is missing on ${!view.mysql ? 'mysql' : 'postgres'}: run dualwrite init (it records which database takes writes)`,
        );
      }
    }
    const stage = await this.#opts.authority.settleOn(wanted, {
      complete: true,
      timeoutMs: cfg.maxPauseMs,
      abandonedAfterMs: cfg.maxPauseMs + 1000,
    });
    if (stage !== undefined) this.#adopt(stage, 'database');
    if (stage !== wanted) {
      this.#log.error(
        { wanted, inForce: stage ?? 'none (a move is under way)' },
        'the databases do not agree with the configured stage yet; retrying',
      );
    }
    return stage === wanted;
  }

  /**
   * After a write was refused by its database (another process moved the role): learn where the role
   * is now, waiting while a move is under way (at most twice `flip.maxPauseMs`), finishing one whose
   * process died. Rejects with NotAuthoritativeError when no side takes writes within the bound.
   */
  follow(): Promise<void> {
    this.#following ??= this.#follow().finally(() => (this.#following = undefined));
    return this.#following;
  }

  async #follow(): Promise<void> {
    const cfg = this.#opts.config().flip;
    const deadline = performance.now() + cfg.maxPauseMs * 2;
    for (;;) {
      const stage = await this.#opts.authority
        .settleOn(this.#stage, {
          complete: false,
          timeoutMs: cfg.maxPauseMs,
          abandonedAfterMs: cfg.maxPauseMs + 1000,
        })
        .catch((error: unknown) => {
          this.#log.warn({ err: error }, 'cannot read the authoritative role');
          return undefined;
        });
      if (stage !== undefined) {
        this.#adopt(stage, 'database');
        return;
      }
      if (performance.now() >= deadline) {
        throw new NotAuthoritativeError(
          this.plan().authoritative,
          `no database took the role within ${cfg.maxPauseMs * 2} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Takes the stage another process (or an earlier run) put in force, without a fence of its own. */
  #adopt(stage: Stage, source: string): void {
    const from = this.#stage;
    if (stage === from) return;
    this.#stage = stage;
    this.#setGauge();
    this.#log.info({ from, to: stage, source }, 'stage taken from the databases');
    this.#opts.events.safeEmit('stageChanged', { from, to: stage, source, at: new Date() });
  }

  setStage(to: Stage, options: SetStageOptions = {}): Promise<StageChange> {
    const next = this.#queue.then(() => this.#change(to, options));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #change(to: Stage, options: SetStageOptions): Promise<StageChange> {
    const from = this.#stage;
    const source = options.source ?? 'api';
    const at = new Date();
    if (from === to) return { from, to, source, at, forced: false, pauseMs: null };
    const fromPlan = planFor(from);
    const moves = fromPlan.authoritative !== planFor(to).authoritative;
    let forced = options.force === true;
    let pauseMs: number | null = null;
    if (moves) {
      const config = this.#opts.config();
      const check = await flipChecks({
        knex: this.#opts.knex,
        config,
        tables: this.#opts.tables(),
        from,
        to,
      });
      forced ||= check.forcedByOperator;
      if (check.reasons.length > 0 && !forced) {
        this.#log.error({ from, to, source, reasons: check.reasons }, 'flip refused');
        throw new FlipRefusedError(from, to, check.reasons);
      }
      if (check.reasons.length > 0)
        this.#log.warn({ from, to, reasons: check.reasons }, 'flip forced past checks');
      pauseMs = await this.#fence(from, to, fromPlan.authoritative, config.flip.maxPauseMs);
    } else {
      await this.#opts.authority
        .recordStage(fromPlan.authoritative, to)
        .catch((error: unknown) =>
          this.#log.warn({ err: error }, 'cannot record the stage in dualwrite_authority'),
        );
      this.#stage = to;
    }
    const change: StageChange = { from, to, source, at: new Date(), forced, pauseMs };
    this.#setGauge();
    if (pauseMs !== null) this.#opts.flipPause?.observe(pauseMs / 1000);
    this.#log.info({ from, to, source, forced, pauseMs }, 'stage changed');
    try {
      appendAudit(this.#opts.config().auditLog, {
        from,
        to,
        at: change.at.toISOString(),
        source,
        forced,
        pauseMs,
      });
    } catch (error) {
      this.#log.error({ err: error }, 'cannot append the stage audit line');
    }
    this.#opts.events.safeEmit('stageChanged', { from, to, source, at: change.at });
    return change;
  }

  async #fence(from: Stage, to: Stage, oldSide: Side, maxPauseMs: number): Promise<number> {
    const { gate } = this.#opts;
    const started = performance.now();
    const settled = await gate.hold(maxPauseMs);
    const { instances } = this.#opts;
    try {
      if (!settled)
        throw new FlipRefusedError(from, to, [`writes in flight did not finish within ${maxPauseMs} ms`]);
      if (instances) {
        // Every instance must stop writing the old side before any writes the new one.
        await instances.holding(to);
        const behind = await instances.waitForOthers(
          to,
          Math.max(1, maxPauseMs - (performance.now() - started)),
        );
        const decision = await instances.decide(from, to, behind.length === 0 ? 'commit' : 'abort');
        if (decision === 'abort') {
          throw new FlipRefusedError(from, to, [
            behind.length > 0
              ? `instance(s) did not hold their writes within ${maxPauseMs} ms: ${behind.join('; ')}`
              : 'another instance abandoned this flip (an instance did not hold its writes in time)',
          ]);
        }
      }
      const remaining = Math.max(1, maxPauseMs - (performance.now() - started));
      // Leave the old side (waiting for the writes it admitted), drain its outbox, move the identities
      // of the new side past its ids, let the new side take writes: every step recorded in the databases.
      const moved = await this.#opts.authority.move(oldSide, to, {
        timeoutMs: remaining,
        mayAbort: true,
        fromStage: from,
      });
      if (!moved.ok) throw new FlipRefusedError(from, to, [moved.reason]);
      this.#stage = to;
    } finally {
      if (instances) {
        await instances
          .holding(null)
          .catch((error: unknown) => this.#log.warn({ err: error }, 'cannot publish the instance state'));
      }
      gate.release();
    }
    return Math.round((performance.now() - started) * 100) / 100;
  }
}
