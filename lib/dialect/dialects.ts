import type { Dialect } from './dialect.js';
import { mysqlDialect } from './mysql/dialect.js';
import { postgresDialect } from './postgres/dialect.js';
import type { PerSide, Side } from './side.js';

/** The dialect of each side. */
export const DIALECTS: PerSide<Dialect> = { mysql: mysqlDialect, postgres: postgresDialect };

/** Whether either side's dialect reads `error` so (for errors whose side is not known). */
export function anySide(test: (dialect: Dialect) => boolean): boolean {
  return test(mysqlDialect) || test(postgresDialect);
}

/** The dialect of `side`: every SQL difference between the two databases, behind one interface. */
export function dialectFor(side: Side): Dialect {
  return DIALECTS[side];
}
