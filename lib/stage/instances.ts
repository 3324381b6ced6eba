import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import type { Logger } from '../observe/logger.js';
import { deleteState, writeState } from '../report/state.js';
import type { Stage } from './stage.js';

const PREFIX = 'instance.';

/** What the instances of one fence do: all switch, or all stay. */
export type FenceDecision = 'commit' | 'abort';

/** What an instance publishes in `dualwrite_state` (`instance.<id>`). */
export interface InstanceState {
  stage: Stage;
  /** Set while the instance holds its writes in a fence towards this stage. */
  holdingFor: Stage | null;
  host: string;
  pid: number;
}

export interface InstanceRegistryOptions {
  /** PostgreSQL, where `dualwrite_state` lives. */
  pg: Knex;
  /** The stage this instance is in. */
  stage: () => Stage;
  /** Heartbeat interval, ms; an instance is live while its last beat is younger than three intervals. */
  heartbeatMs: number;
  logger: Logger;
}

/**
 * The app instances sharing one migration, seen through heartbeats in `dualwrite_state`. A fence that
 * moves the authoritative role waits until every live instance holds its writes for the same target
 * (or already switched), so no instance writes the old side once another writes the new one.
 */
export class InstanceRegistry {
  readonly id = randomUUID();
  readonly #opts: InstanceRegistryOptions;
  readonly #log: Logger;
  #holdingFor: Stage | null = null;
  /** Database time at which this instance began holding its writes for the current fence. */
  #holdingSince: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Row writes in call order, so a slow older beat never lands after a newer one. */
  #writes: Promise<void> = Promise.resolve();

  constructor(options: InstanceRegistryOptions) {
    this.#opts = options;
    this.#log = options.logger.child({ component: 'instances', instance: this.id });
  }

  /** Publishes the first beat (rejects when it fails) and keeps beating; rows of instances gone for long are removed. */
  async start(): Promise<void> {
    const tick = (): void => {
      this.#timer = setTimeout(() => {
        this.beat()
          .catch((error: unknown) => this.#log.debug({ err: error }, 'heartbeat failed'))
          .finally(() => {
            if (!this.#stopped) tick();
          });
      }, this.#opts.heartbeatMs);
      this.#timer.unref();
    };
    // Beating goes on even when the first beat fails (PostgreSQL down at start).
    tick();
    await this.beat();
    await this.#opts
      .pg(META_TABLES.state)
      .where('name', 'like', `${PREFIX}%`)
      .andWhere('updated_at', '<', this.#opts.pg.raw(`now() - interval '1 hour'`))
      .delete()
      .catch((error: unknown) => this.#log.debug({ err: error }, 'could not remove old instance rows'));
  }

  /** Writes this instance's row (after any write still running). */
  beat(): Promise<void> {
    const write = this.#writes.then(() => {
      const state: InstanceState = {
        stage: this.#opts.stage(),
        holdingFor: this.#holdingFor,
        host: hostname(),
        pid: process.pid,
      };
      return writeState(this.#opts.pg, PREFIX + this.id, state);
    });
    this.#writes = write.catch(() => undefined);
    return write;
  }

  /** Announces that this instance holds its writes for `target` (null: holds nothing). */
  async holding(target: Stage | null): Promise<void> {
    if (target !== null) {
      const res = (await this.#opts.pg.raw('SELECT clock_timestamp()::text AS t')) as {
        rows: { t: string }[];
      };
      this.#holdingSince = res.rows[0]?.t ?? null;
    }
    this.#holdingFor = target;
    await this.beat();
  }

  /**
   * The one decision of a fence all instances follow, so they never split between the two sides:
   * `proposal` is recorded unless an instance already recorded one after this instance began holding;
   * then that one is returned. An instance that saw every other holding proposes `commit`; one that
   * waited in vain proposes `abort`.
   */
  async decide(from: Stage, to: Stage, proposal: FenceDecision): Promise<FenceDecision> {
    const pg = this.#opts.pg;
    const name = `fence.${from}.${to}`;
    const since = this.#holdingSince ?? '-infinity';
    const written = (await pg.raw(
      `INSERT INTO ${META_TABLES.state} (name, value, updated_at) VALUES (?, ?, clock_timestamp())
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
       WHERE ${META_TABLES.state}.updated_at < ?::timestamptz
       RETURNING value`,
      [name, JSON.stringify({ decision: proposal, by: this.id }), since],
    )) as { rows: unknown[] };
    if (written.rows.length > 0) return proposal;
    const row = (await pg(META_TABLES.state).select('value').where('name', name).first()) as
      { value: string } | undefined;
    const recorded = row ? (JSON.parse(row.value) as { decision: FenceDecision }).decision : proposal;
    this.#log.info(
      { from, to, proposal, recorded },
      'following the fence decision another instance recorded',
    );
    return recorded;
  }

  /**
   * Waits until every other live instance holds its writes for `target` or is already in it. Returns
   * the ids (with host and pid) of those that did not within `timeoutMs`; empty when all did.
   */
  async waitForOthers(target: Stage, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const pollMs = Math.max(10, Math.min(100, Math.floor(this.#opts.heartbeatMs / 4)));
    for (;;) {
      const behind = await this.#behind(target);
      if (behind.length === 0 || Date.now() >= deadline) return behind;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async #behind(target: Stage): Promise<string[]> {
    const live = await listInstances(this.#opts.pg, this.#opts.heartbeatMs * 3);
    return live
      .filter((i) => i.id !== this.id && i.holdingFor !== target && i.stage !== target)
      .map((i) => `${i.id} (${i.host} pid ${i.pid}, ${i.stage})`);
  }

  /** Stops beating and removes this instance's row. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await deleteState(this.#opts.pg, PREFIX + this.id).catch((error: unknown) =>
      this.#log.debug({ err: error }, 'could not remove the instance row'),
    );
  }
}

/** An app instance as `dualwrite status` shows it. */
export interface InstanceInfo extends InstanceState {
  id: string;
  /** Age of its last heartbeat, ms (database clock). */
  ageMs: number;
}

/** Instances with a heartbeat younger than `maxAgeMs` (`flip.coordinate: instances` only publish one). */
export async function listInstances(pg: Knex, maxAgeMs = 60_000): Promise<InstanceInfo[]> {
  const rows = (await pg(META_TABLES.state)
    .select('name', 'value', pg.raw('EXTRACT(EPOCH FROM (now() - updated_at)) * 1000 AS age_ms'))
    .where('name', 'like', `${PREFIX}%`)
    .andWhere('updated_at', '>', pg.raw(`now() - (? * interval '1 millisecond')`, [maxAgeMs]))
    .orderBy('name')) as { name: string; value: unknown; age_ms: string | number }[];
  return rows.map((r) => ({
    id: r.name.slice(PREFIX.length),
    ...((typeof r.value === 'string' ? JSON.parse(r.value) : r.value) as InstanceState),
    ageMs: Math.round(Number(r.age_ms)),
  }));
}
