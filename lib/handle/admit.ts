import type { Knex } from 'knex';
import { guardTransaction, isNotAuthoritative } from '../stage/authority.js';
import type { StagePlan } from '../stage/stage.js';
import type { HandleCore } from './scope.js';

/** Refusals followed per write before giving up (each follow is bounded by twice flip.maxPauseMs). */
const MAX_FOLLOWS = 3;

/**
 * Runs one write (a statement or a transaction) through the write gate on the stage in force. A
 * database that refuses it (another process moved the authoritative role; nothing was applied) makes
 * the process catch up with the stage the databases hold, and the write runs again there.
 */
export async function admitWrite<T>(
  core: HandleCore,
  run: (plan: StagePlan, attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const leave = await core.gate.enter();
    try {
      return await run(core.plan(), attempt);
    } catch (error) {
      if (!isNotAuthoritative(error) || attempt >= MAX_FOLLOWS) throw error;
    } finally {
      leave();
    }
    await core.follow();
  }
}

/**
 * First statement of a write transaction in a syncing stage: the side's authority row, share-locked
 * to the commit. A transaction opened on a side that gave the role up fails here, before the app's
 * statements ran, so it can be run again on the other side.
 */
export async function guardWrites(ktrx: Knex.Transaction, plan: StagePlan): Promise<void> {
  if (plan.syncs) await guardTransaction(ktrx, plan.authoritative);
}
