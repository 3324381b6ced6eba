import type { Knex } from 'knex';
import { enqueueKeys } from '../../../lib/sync/outbox.js';

/** Deterministic PRNG (mulberry32) so traffic is reproducible per seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One app-like write on MySQL `items`: insert/update/delete of a random key in [1, keySpace], with the
 * key recorded in the outbox inside the same transaction (what adapter capture does).
 */
export async function randomItemWrite(mysql: Knex, rand: () => number, keySpace: number): Promise<void> {
  const id = 1 + Math.floor(rand() * keySpace);
  const op = rand();
  await mysql.transaction(async (trx) => {
    if (op < 0.15) {
      await trx('items').where({ id }).del();
    } else {
      const qty = Math.floor(rand() * 1000);
      await trx.raw(
        'INSERT INTO items (id, name, qty, active) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), qty = VALUES(qty), active = VALUES(active)',
        [id, `item ${id} v${qty}`, qty, rand() < 0.5],
      );
    }
    await enqueueKeys(trx, 'items', [[id]]);
  });
}
