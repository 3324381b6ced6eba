import type { Knex } from 'knex';
import type { DualWriteConfig } from '../config/schema.js';
import { META_TABLES } from '../meta/tables.js';
import { planFor, Side, type Stage } from './stage.js';
import { readStateEntries, StateName, timeOf } from './state.js';

export interface FlipCheckInput {
  knex: Readonly<Record<Side, Knex>>;
  config: Readonly<DualWriteConfig>;
  /** Tables that are synced (backfill must be complete for each before PostgreSQL becomes authoritative). */
  tables: readonly string[];
  from: Stage;
  to: Stage;
  /** @default Date.now() */
  now?: number;
}

export interface FlipCheckResult {
  /** Why the flip would be unsafe; empty when it is safe. */
  reasons: string[];
  /** A `dualwrite stage --force` authorised this flip (flip.force in dualwrite_state). */
  forcedByOperator: boolean;
}

async function outboxBacklog(db: Knex): Promise<number> {
  const [row] = (await db(META_TABLES.outbox).count({ n: '*' })) as { n: string | number }[];
  return Number(row?.n ?? 0);
}

/**
 * Safety checks of a flip that moves the authoritative role: the outbox backlog, recent quarantine
 * entries and mismatches, backfill completeness and a recent clean verification (towards PostgreSQL),
 * and whether the database that becomes authoritative was kept in sync at all.
 */
export async function flipChecks(input: FlipCheckInput): Promise<FlipCheckResult> {
  const { knex, config, from, to } = input;
  const now = input.now ?? Date.now();
  const fromPlan = planFor(from);
  const toPlan = planFor(to);
  const reasons: string[] = [];
  if (!fromPlan.syncs) {
    reasons.push(`stage ${from} does not sync: ${toPlan.authoritative} missed the writes made in it`);
  }
  const backlog = await outboxBacklog(knex[fromPlan.authoritative]).catch(() => undefined);
  if (backlog === undefined)
    reasons.push(`outbox of ${fromPlan.authoritative} is not readable (run dualwrite init)`);
  else if (backlog > config.flip.maxBacklog) {
    reasons.push(`outbox backlog ${backlog} is above flip.maxBacklog ${config.flip.maxBacklog}`);
  }

  const pg = knex[Side.Postgres];
  const names = [StateName.lastMismatch, StateName.lastVerify, StateName.flipForce];
  // An unreadable state says nothing about backfill or verification: name the failure, not them.
  let stateError: string | undefined;
  const state = await readStateEntries(pg, names, StateName.backfillPrefix).catch((error: unknown) => {
    stateError = (error as Error).message;
    return new Map<string, unknown>();
  });
  if (stateError !== undefined) {
    return {
      reasons: [...reasons, `dualwrite_state of postgres is not readable: ${stateError}`],
      forcedByOperator: false,
    };
  }
  const quiet = config.flip.quietWindowMs;
  if (quiet > 0) {
    const since = new Date(now - quiet);
    const [q] = (await pg(META_TABLES.quarantine)
      .whereNull('resolved_at')
      .where('created_at', '>=', since)
      // Only keys the side that becomes authoritative is missing (synced towards it) make it unsafe.
      .where('direction', 'like', `%->${toPlan.authoritative}`)
      .count({ n: '*' })
      .catch(() => [{ n: 0 }])) as { n: string | number }[];
    if (Number(q?.n ?? 0) > 0)
      reasons.push(
        `${q?.n} key(s) quarantined on their way to ${toPlan.authoritative} within the last ${quiet} ms`,
      );
    // Only confirmed mismatches count: differences dismissed as lag or non-determinism never reach it.
    const last = state.get(StateName.lastMismatch) as { status?: unknown; table?: unknown } | undefined;
    const mismatchAt = last?.status === 'dismissed' ? undefined : timeOf(last);
    if (mismatchAt !== undefined && now - mismatchAt < quiet) {
      const table = typeof last?.table === 'string' ? ` on ${last.table}` : '';
      reasons.push(
        `a confirmed shadow-read mismatch${table} at ${new Date(mismatchAt).toISOString()} is within the quiet window (see dualwrite report; dualwrite shadow replay re-runs it)`,
      );
    }
  }
  if (toPlan.authoritative === Side.Postgres) {
    const incomplete = input.tables.filter((t) => {
      const v = state.get(`${StateName.backfillPrefix}${t}`) as { done?: unknown } | undefined;
      return v?.done !== true;
    });
    if (incomplete.length > 0) reasons.push(`backfill incomplete for: ${incomplete.join(', ')}`);
    const within = config.flip.requireVerificationWithinMs;
    if (within > 0) {
      const verify = state.get(StateName.lastVerify) as { clean?: unknown } | undefined;
      const at = timeOf(verify);
      if (at === undefined || verify?.clean !== true || now - at > within) {
        reasons.push(`no clean verification within the last ${within} ms`);
      }
    }
  }
  const force = state.get(StateName.flipForce) as { to?: unknown; until?: unknown } | undefined;
  const forcedByOperator = force?.to === to && typeof force.until === 'number' && force.until >= now;
  return { reasons, forcedByOperator };
}
