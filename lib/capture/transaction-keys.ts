import type { Knex } from 'knex';
import { keyText } from '../sync/buckets.js';
import { enqueueKeys } from '../sync/outbox.js';
import type { KeyTuple } from '../translate/types.js';

/**
 * Keys a transaction's statements wrote, recorded in the outbox in one insert per table just before
 * the commit (still inside the transaction) instead of one insert per statement.
 */
export class TrxCapture {
  /** Whether the transaction wrote anything to sync (the worker is woken after the commit). */
  captured = false;
  readonly #pending = new Map<string, Map<string, KeyTuple>>();

  add(table: string, keys: readonly KeyTuple[]): void {
    this.captured = true;
    let byText = this.#pending.get(table);
    if (!byText) this.#pending.set(table, (byText = new Map()));
    for (const k of keys) byText.set(keyText(k), k);
  }

  /** Writes the pending keys into the outbox through `trx`. */
  async flush(trx: Knex.Transaction): Promise<void> {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [table, keys] of pending) await enqueueKeys(trx, table, [...keys.values()]);
  }
}
