import type { DualWriteConfig } from '../config/schema.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import type { StagePlan } from '../stage/stage.js';
import type { DriverHooks } from './app-clients.js';
import { statementKind } from './sql-kind.js';

/**
 * The check every statement reaching an app-facing pool outside dualwrite's executor gets: in a
 * syncing stage with adapter capture, a write there has not recorded its keys, so it is refused before
 * it runs. Transaction control, reads and DDL pass.
 */
export function admission(source: {
  plan(): StagePlan;
  config(): Readonly<DualWriteConfig>;
}): DriverHooks['admit'] {
  return (side, obj) => {
    if (statementKind(obj) !== 'write') return;
    const plan = source.plan();
    if (!plan.syncs || source.config().capture.mode === 'triggers') return;
    throw new DualWriteError(
      ErrorCode.UncapturedWrite,
      `a write reached ${side} without passing dualwrite's capture (stage ${plan.stage}): ${obj.sql.slice(0, 120)}`,
    );
  };
}
