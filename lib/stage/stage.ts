/** The six migration stages, in the order a migration walks them. */
export const Stage = {
  MysqlOnly: 'mysql-only',
  DualWrite: 'dual-write',
  Shadow: 'shadow',
  PgPrimary: 'pg-primary',
  PgRampdown: 'pg-rampdown',
  PgOnly: 'pg-only',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

export const STAGES: readonly Stage[] = Object.values(Stage);

/** Which database a side names. */
export const Side = { Mysql: 'mysql', Postgres: 'postgres' } as const;
export type Side = (typeof Side)[keyof typeof Side];

export function otherSide(side: Side): Side {
  return side === Side.Mysql ? Side.Postgres : Side.Mysql;
}

/** What a stage means for routing, straight from the design's stage table. */
export interface StagePlan {
  readonly stage: Stage;
  /** The database whose answer is the truth: writes go here first, reads are served from here. */
  readonly authoritative: Side;
  /** Whether writes are captured and synced to the other database. */
  readonly syncs: boolean;
  /** Whether reads are compared (sampled) against the other database. */
  readonly shadowReads: boolean;
}

const PLANS: Readonly<Record<Stage, StagePlan>> = {
  'mysql-only': { stage: 'mysql-only', authoritative: 'mysql', syncs: false, shadowReads: false },
  'dual-write': { stage: 'dual-write', authoritative: 'mysql', syncs: true, shadowReads: false },
  shadow: { stage: 'shadow', authoritative: 'mysql', syncs: true, shadowReads: true },
  'pg-primary': { stage: 'pg-primary', authoritative: 'postgres', syncs: true, shadowReads: true },
  'pg-rampdown': { stage: 'pg-rampdown', authoritative: 'postgres', syncs: true, shadowReads: false },
  'pg-only': { stage: 'pg-only', authoritative: 'postgres', syncs: false, shadowReads: false },
};

export function planFor(stage: Stage): StagePlan {
  return PLANS[stage];
}

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** Position in the migration order; a move to a lower index is a rollback. */
export function stageIndex(stage: Stage): number {
  return STAGES.indexOf(stage);
}
