import type { Knex } from 'knex';
import { connectionClient } from './knex-internals.js';
import { markImplicit } from './statement-context.js';

/**
 * Runs `fn` in a transaction of dualwrite's own around one app write (the write and its outbox row
 * commit together). The app did not ask for it: what its statement reports about transactions (MySQL's
 * status flags) is reported as outside one (see app-clients).
 */
export async function implicitTransaction<T>(
  knex: Knex,
  fn: (trx: Knex.Transaction) => Promise<T>,
  config?: Knex.TransactionConfig,
): Promise<T> {
  return knex.transaction(async (trx) => {
    const conn = await connectionClient(trx).acquireConnection();
    markImplicit(conn, true);
    try {
      return await fn(trx);
    } finally {
      markImplicit(conn, false);
    }
  }, config) as Promise<T>;
}
