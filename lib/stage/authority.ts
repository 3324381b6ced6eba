import type { Knex } from 'knex';
import { anySide, dialectFor } from '../dialect/dialects.js';
import { otherSide, SIDES, type Side } from '../dialect/side.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import { META_TABLES } from '../meta/tables.js';
import type { Logger } from '../observe/logger.js';
import { isStage, planFor, STAGES, type Stage } from './stage.js';

const TABLE = META_TABLES.authority;

/** `writable`: takes captured writes. `leaving`: gives the role up, its outbox draining. `left`: gave it up. */
export type AuthorityState = 'writable' | 'leaving' | 'left';

export interface AuthorityRow {
  state: AuthorityState;
  /** Stage in force (writable) or being moved to (leaving, left); null before any process recorded one. */
  stage: Stage | null;
  /** Raised by every departure; a side is taken only for a departure newer than its own epoch. */
  epoch: number;
  /** Age of the row's last change, ms (database clock). */
  ageMs: number;
}

/** Both sides' rows; null where the table is missing (`dualwrite init` not run). */
export type AuthorityView = Record<Side, AuthorityRow | null>;

async function readSide(knex: Knex, side: Side): Promise<AuthorityRow | null> {
  let res: unknown;
  try {
    res = await knex.raw(dialectFor(side).authority.readSql);
  } catch (error) {
    // No table: the database was initialised by an older version (or not at all).
    if (dialectFor(side).errors.isMissingTable(error)) return null;
    throw error;
  }
  const rows = dialectFor(side).rows(res) as unknown as {
    state: AuthorityState;
    stage: string | null;
    epoch: string | number;
    age_ms: string | number;
  }[];
  const r = rows[0];
  if (!r) return null;
  return {
    state: r.state,
    stage: isStage(r.stage) ? r.stage : null,
    epoch: Number(r.epoch),
    ageMs: Math.max(0, Number(r.age_ms)),
  };
}

/** Both sides' authority rows. */
export async function readAuthority(knex: Readonly<Record<Side, Knex>>): Promise<AuthorityView> {
  const [mysql, postgres] = await Promise.all(SIDES.map((side) => readSide(knex[side], side)));
  return { mysql: mysql ?? null, postgres: postgres ?? null };
}

/** A captured write refused because its database is not the authoritative one now: nothing was applied. */
export class NotAuthoritativeError extends DualWriteError {
  constructor(side: Side, detail = 'the authoritative role is elsewhere or moving') {
    super(ErrorCode.NotAuthoritative, `${side} does not take writes now: ${detail}`);
  }
}

/** Whether `error` says the write was refused by a side that is not authoritative (nothing applied). */
export function isNotAuthoritative(error: unknown): boolean {
  return error instanceof NotAuthoritativeError || anySide((d) => d.authority.isNotAuthoritative(error));
}

/** Runs inside a write transaction on `side`: holds the side's authority row shared to the commit, or throws. */
export async function guardTransaction(trx: Knex.Transaction, side: Side): Promise<void> {
  const res: unknown = await trx.raw(dialectFor(side).authority.guardSql);
  // On PostgreSQL also `[rows, fields]` through the app's connections (which answer as MySQL).
  const rows = dialectFor(side).rows(res) as unknown as {
    state: string;
  }[];
  if (rows[0]?.state !== 'writable') throw new NotAuthoritativeError(side);
}

export interface AuthorityOptions {
  knex: Readonly<Record<Side, Knex>>;
  logger: Logger;
  /** Syncs every row of `side`'s outbox to the other side; rejects after `timeoutMs`. */
  drain: (side: Side, timeoutMs: number) => Promise<void>;
  /** Tables whose identity sequences follow the role. */
  tables: () => readonly string[];
}

/** How a move ended: the stage the new side took, or why it stopped (the old side kept or holds the role). */
export type MoveResult = { ok: true; stage: Stage } | { ok: false; reason: string; aborted: boolean };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The authoritative role as the databases record it. Only the side whose row says `writable` takes
 * captured writes (its outbox trigger checks); a move is leave → drain → settle → identities → take,
 * each step a conditional update, so processes that crash anywhere, or race each other, never leave
 * both sides writable nor a key of the old side's outbox behind.
 */
export class Authority {
  readonly #opts: AuthorityOptions;
  readonly #log: Logger;
  /** Identity columns per side and table, looked up once (the schema does not change under a migration). */
  readonly #identity = new Map<string, Promise<string[]>>();

  constructor(options: AuthorityOptions) {
    this.#opts = options;
    this.#log = options.logger.child({ component: 'authority' });
  }

  read(): Promise<AuthorityView> {
    return readAuthority(this.#opts.knex);
  }

  /** Same-side stage changes only rename what the writable side is in. */
  async recordStage(side: Side, stage: Stage): Promise<void> {
    const knex = this.#opts.knex[side];
    await knex(TABLE)
      .where({ id: 1, state: 'writable' })
      .update({ stage, updated_at: knex.raw(dialectFor(side).clock) });
  }

  /** writable → leaving, waiting at most `timeoutMs` for the writes the side admitted; false when it was not writable. */
  async #leave(side: Side, to: Stage, epoch: number, timeoutMs: number): Promise<boolean> {
    const knex = this.#opts.knex[side];
    return knex.transaction(async (trx) => {
      const restore = await dialectFor(side).authority.boundLockWaits(trx, timeoutMs);
      try {
        const n = await trx(TABLE)
          .where({ id: 1, state: 'writable' })
          .update({ state: 'leaving', stage: to, epoch, updated_at: trx.raw(dialectFor(side).clock) });
        return Number(n) > 0;
      } finally {
        await restore();
      }
    });
  }

  /** leaving → left, only once the side's outbox is empty (no write can add to it while leaving). */
  async #settle(side: Side, epoch: number): Promise<boolean> {
    const knex = this.#opts.knex[side];
    const n = await knex(TABLE)
      .where({ id: 1, state: 'leaving', epoch })
      .whereNotExists(knex(META_TABLES.outbox).select(knex.raw('1')))
      .update({ state: 'left', updated_at: knex.raw(dialectFor(side).clock) });
    return Number(n) > 0;
  }

  /** leaving → writable again (a move given up); false when the side already settled. */
  async #abort(side: Side, epoch: number, stage: Stage): Promise<boolean> {
    const knex = this.#opts.knex[side];
    const n = await knex(TABLE)
      .where({ id: 1, state: 'leaving', epoch })
      .update({ state: 'writable', stage, updated_at: knex.raw(dialectFor(side).clock) });
    return Number(n) > 0;
  }

  /** left → writable for the departure `epoch`; a stale departure (older than the side's own epoch) takes nothing. */
  async #take(side: Side, stage: Stage, epoch: number): Promise<boolean> {
    const knex = this.#opts.knex[side];
    const n = await knex(TABLE)
      .where({ id: 1, state: 'left' })
      .andWhere('epoch', '<', epoch)
      .update({ state: 'writable', stage, epoch, updated_at: knex.raw(dialectFor(side).clock) });
    return Number(n) > 0;
  }

  #identityColumns(side: Side, table: string): Promise<string[]> {
    const key = `${side}\0${table}`;
    let found = this.#identity.get(key);
    if (!found) {
      found = dialectFor(side).authority.identityColumns(this.#opts.knex[side], table);
      found.catch(() => this.#identity.delete(key));
      this.#identity.set(key, found);
    }
    return found;
  }

  /** Moves the identity sequences (AUTO_INCREMENT) of `to` past every id `from` holds or handed out. */
  async moveIdentities(from: Side, to: Side): Promise<void> {
    for (const table of this.#opts.tables()) {
      const [fromColumns, toColumns] = await Promise.all([
        this.#identityColumns(from, table),
        this.#identityColumns(to, table),
      ]);
      if (toColumns.length === 0) continue;
      // Without identities on the old side its ids are still the new side's largest (synced in explicitly).
      const high =
        (await dialectFor(from).authority.identityHigh(this.#opts.knex[from], table, fromColumns)) ?? 0n;
      try {
        await dialectFor(to).authority.withBoundedDdlWait(this.#opts.knex[to], 2000, (trx) =>
          dialectFor(to).authority.moveIdentityPast(trx, table, toColumns, high),
        );
      } catch (error) {
        if (!dialectFor(to).capabilities.identityFollowsExplicitIds) throw error;
        // InnoDB's counter already follows the explicit ids synced into it; only ids handed out and
        // deleted before they synced stay below it. Not worth stalling the table for.
        this.#log.warn({ table, err: (error as Error).message }, 'AUTO_INCREMENT not moved (table busy)');
      }
    }
  }

  /**
   * Moves the role from side `from` towards stage `to` (or resumes a move under way), within
   * `timeoutMs`. With `mayAbort` a move whose outbox does not drain in time is given up (the old
   * side takes writes again); without, it is left `leaving` for a later attempt.
   */
  async move(
    from: Side,
    to: Stage,
    options: { timeoutMs: number; mayAbort: boolean; fromStage: Stage },
  ): Promise<MoveResult> {
    const toSide = otherSide(from);
    if (planFor(to).authoritative !== toSide) throw new Error(`stage ${to} is not on ${toSide}`);
    const deadline = performance.now() + options.timeoutMs;
    const left = (): number => Math.max(1, deadline - performance.now());
    const view = await this.read();
    const row = view[from];
    const other = view[toSide];
    if (!row || !other)
      return { ok: false, reason: 'dualwrite_authority missing (run dualwrite init)', aborted: false };
    let epoch: number;
    if (row.state === 'writable') {
      epoch = Math.max(row.epoch, other.epoch) + 1;
      let gave: boolean;
      try {
        gave = await this.#leave(from, to, epoch, left());
      } catch (error) {
        if (dialectFor(from).authority.isLockTimeout(error)) {
          return {
            ok: false,
            reason: `writes on ${from} did not finish within ${options.timeoutMs} ms`,
            aborted: true,
          };
        }
        throw error;
      }
      if (!gave) return this.move(from, to, { ...options, timeoutMs: left() });
      this.#log.info({ from, to, epoch }, 'authoritative role leaving; draining its outbox');
    } else {
      epoch = row.epoch;
      if (row.stage !== null && planFor(row.stage).authoritative !== toSide) {
        return { ok: false, reason: `a move of ${from} towards ${row.stage} is recorded`, aborted: false };
      }
    }
    if (row.state !== 'left') {
      for (;;) {
        let drainError: unknown;
        try {
          await this.#opts.drain(from, left());
        } catch (error) {
          drainError = error;
        }
        if (await this.#settle(from, epoch)) break;
        const now = (await this.read())[from];
        if (now && (now.state !== 'leaving' || now.epoch !== epoch)) {
          if (now.state === 'left' && now.epoch === epoch) break; // settled by another process
          return {
            ok: false,
            reason: `the move of ${from} was given up or superseded (${now.state})`,
            aborted: true,
          };
        }
        if (performance.now() >= deadline) {
          const reason = `outbox of ${from} did not drain within ${options.timeoutMs} ms${drainError ? `: ${(drainError as Error).message}` : ''}`;
          if (options.mayAbort && (await this.#abort(from, epoch, options.fromStage))) {
            this.#log.warn(
              { from, to, reason },
              'move of the authoritative role given up; the old side takes writes again',
            );
            return { ok: false, reason, aborted: true };
          }
          if (options.mayAbort) continue; // another process settled it meanwhile: finish the move
          return { ok: false, reason, aborted: false };
        }
        await sleep(10);
      }
    }
    // A process finishing a move another one completed meanwhile has nothing left to do.
    const taken = (await this.read())[toSide];
    if (taken?.state === 'writable' && taken.epoch >= epoch) return { ok: true, stage: taken.stage ?? to };
    await this.moveIdentities(from, toSide);
    if (!(await this.#take(toSide, to, epoch))) {
      const now = (await this.read())[toSide];
      if (!now || now.state !== 'writable' || now.epoch < epoch) {
        return {
          ok: false,
          reason: `${toSide} could not take the role (${now?.state ?? 'no row'})`,
          aborted: false,
        };
      }
      return { ok: true, stage: now.stage ?? to };
    }
    this.#log.info({ from, to, epoch }, 'authoritative role moved');
    return { ok: true, stage: to };
  }

  /**
   * What a process should be in: `desired` (the config's stage) once its side is writable. With
   * `complete`, a side still writable elsewhere is moved to `desired`'s side (a stage change made while
   * no process ran) and a move under way is finished; without, the stage of the writable side is
   * returned as it is (a process catching up after a refused write), and a move under way is only
   * finished once it looks abandoned. Undefined: no side takes writes yet.
   */
  async settleOn(
    desired: Stage,
    options: { complete: boolean; timeoutMs: number; abandonedAfterMs: number },
  ): Promise<Stage | undefined> {
    const view = await this.read();
    const want = planFor(desired).authoritative;
    const mine = view[want];
    const theirs = view[otherSide(want)];
    if (!mine || !theirs) return desired;
    if (mine.state === 'writable') {
      if (options.complete && mine.stage !== desired) await this.recordStage(want, desired);
      return options.complete ? desired : (mine.stage ?? desired);
    }
    if (theirs.state === 'writable') {
      if (!options.complete) return theirs.stage ?? defaultStage(otherSide(want));
      this.#log.warn(
        { from: otherSide(want), to: desired },
        'completing a stage change made while no process applied it',
      );
      const result = await this.move(otherSide(want), desired, {
        timeoutMs: options.timeoutMs,
        mayAbort: true,
        fromStage: theirs.stage ?? defaultStage(otherSide(want)),
      });
      if (result.ok) return result.stage;
      this.#log.error(
        { reason: result.reason, desired },
        'stage change could not complete; the old side keeps the role',
      );
      return result.aborted ? (theirs.stage ?? defaultStage(otherSide(want))) : undefined;
    }
    // Neither writable: the newest departure says where the role is going.
    const [fromSide, newest] = mine.epoch > theirs.epoch ? [want, mine] : [otherSide(want), theirs];
    const target = newest.stage ?? defaultStage(otherSide(fromSide));
    if (newest.state === 'leaving' && !options.complete && newest.ageMs < options.abandonedAfterMs)
      return undefined;
    const result = await this.move(fromSide, target, {
      timeoutMs: options.timeoutMs,
      // Give the move up only when the old side is where this process wants to be.
      mayAbort: options.complete && fromSide === want,
      fromStage: options.complete && fromSide === want ? desired : target,
    });
    if (result.ok) return result.stage;
    if (result.aborted && options.complete && fromSide === want) return desired;
    this.#log.warn({ reason: result.reason }, 'a move of the authoritative role is still under way');
    return undefined;
  }
}

/** The stage a side is in when no process recorded one: the first syncing stage on that side. */
function defaultStage(side: Side): Stage {
  return STAGES.find((s) => planFor(s).authoritative === side && planFor(s).syncs) as Stage;
}
