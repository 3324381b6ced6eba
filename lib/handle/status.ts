import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { readAuthority } from '../stage/authority.js';
import { listInstances, type InstanceInfo } from '../stage/instances.js';
import { planFor, Side, type Stage, type StagePlan } from '../stage/stage.js';
import type { DualWriteStatus, OutboxStatus } from './types.js';

/** A timestamp as either driver returns it as text (UTC), in epoch ms. */
export function parseDbTime(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  let s = value.trim().replace(' ', 'T');
  if (/[+-]\d\d$/.test(s)) s += ':00';
  else if (!/(Z|[+-]\d\d:\d\d)$/.test(s)) s += 'Z';
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

export interface StatusSources {
  knex: Readonly<Record<Side, Knex>>;
  plan: StagePlan;
  /** Breaker state of a side, when a sync worker runs here. */
  breakerState?: ((side: Side) => string) | undefined;
  /** The configuration's stage (the file's). @default plan.stage */
  configStage?: Stage;
}

async function outboxOf(db: Knex): Promise<OutboxStatus | null> {
  try {
    const [agg] = (await db(META_TABLES.outbox).count({ n: '*' }).min({ oldest: 'created_at' })) as {
      n: string | number;
      oldest: unknown;
    }[];
    const oldest = parseDbTime(agg?.oldest);
    return {
      backlog: Number(agg?.n ?? 0),
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest),
    };
  } catch {
    return null;
  }
}

/** What does not agree with the configured stage: instances, the role in the databases, a move under way. */
function disagreementsOf(
  configStage: Stage,
  instances: readonly InstanceInfo[] | null,
  authority: DualWriteStatus['authority'],
): string[] {
  const out: string[] = [];
  for (const i of instances ?? []) {
    if (i.stage !== configStage) out.push(`instance ${i.id} (${i.host} pid ${i.pid}) is in ${i.stage}`);
  }
  if (authority?.mysql && authority.postgres) {
    const writable = Object.entries(authority).filter(([, r]) => r?.state === 'writable');
    if (writable.length === 0)
      out.push('no database takes writes: a move of the authoritative role is under way');
    const want = planFor(configStage).authoritative;
    for (const [side, row] of writable) {
      if (side !== want)
        out.push(`${side} holds the authoritative role (stage ${row?.stage ?? 'unrecorded'})`);
    }
  }
  return out;
}

/** Stage, both outboxes, breaker states, open quarantine entries, instances and what disagrees with the configuration. */
export async function readStatus(src: StatusSources): Promise<DualWriteStatus> {
  const { knex, plan } = src;
  const configStage = src.configStage ?? plan.stage;
  const [mysqlOutbox, pgOutbox] = await Promise.all([outboxOf(knex.mysql), outboxOf(knex.postgres)]);
  const outboxes = { mysql: mysqlOutbox, postgres: pgOutbox };
  // Quarantine lives in PostgreSQL: while it is unreachable the count is unknown (null), not an error.
  const quarantined = await knex
    .postgres(META_TABLES.quarantine)
    .whereNull('resolved_at')
    .count({ n: '*' })
    .then((rows) => Number((rows[0] as { n?: string | number } | undefined)?.n ?? 0))
    .catch(() => null);
  const instances = await listInstances(knex.postgres).catch(() => null);
  const authority = await readAuthority(knex).catch(() => null);
  const breaker = (side: Side): string => src.breakerState?.(side) ?? 'n/a';
  const own = outboxes[plan.authoritative];
  return {
    stage: plan.stage,
    authoritative: plan.authoritative,
    backlog: own?.backlog ?? 0,
    lagMs: own?.oldestAgeMs ?? 0,
    breaker: { mysql: breaker(Side.Mysql), postgres: breaker(Side.Postgres) },
    quarantined,
    instances,
    outboxes,
    authority,
    configStage,
    disagreements: disagreementsOf(configStage, instances, authority),
  };
}
