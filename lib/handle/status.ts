import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import { listInstances } from '../stage/instances.js';
import { Side, type StagePlan } from '../stage/stage.js';
import type { DualWriteStatus } from './types.js';

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
}

/** Stage, outbox backlog and age of its oldest row, breaker states, open quarantine entries, instances. */
export async function readStatus(src: StatusSources): Promise<DualWriteStatus> {
  const { knex, plan } = src;
  const [agg] = (await knex[plan.authoritative](META_TABLES.outbox)
    .count({ n: '*' })
    .min({ oldest: 'created_at' })) as { n: string | number; oldest: unknown }[];
  // Quarantine lives in PostgreSQL: while it is unreachable the count is unknown (null), not an error.
  const quarantined = await knex
    .postgres(META_TABLES.quarantine)
    .whereNull('resolved_at')
    .count({ n: '*' })
    .then((rows) => Number((rows[0] as { n?: string | number } | undefined)?.n ?? 0))
    .catch(() => null);
  const instances = await listInstances(knex.postgres).catch(() => null);
  const oldest = parseDbTime(agg?.oldest);
  const breaker = (side: Side): string => src.breakerState?.(side) ?? 'n/a';
  return {
    stage: plan.stage,
    authoritative: plan.authoritative,
    backlog: Number(agg?.n ?? 0),
    lagMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest),
    breaker: { mysql: breaker(Side.Mysql), postgres: breaker(Side.Postgres) },
    quarantined,
    instances,
  };
}
