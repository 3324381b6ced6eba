/** Which database a side names. */
export const Side = { Mysql: 'mysql', Postgres: 'postgres' } as const;
export type Side = (typeof Side)[keyof typeof Side];

export const SIDES: readonly Side[] = [Side.Mysql, Side.Postgres];

const OTHER: Readonly<Record<Side, Side>> = { mysql: 'postgres', postgres: 'mysql' };

export function otherSide(side: Side): Side {
  return OTHER[side];
}

/** One value per side, e.g. the two knex pools. */
export type PerSide<T> = Readonly<Record<Side, T>>;
