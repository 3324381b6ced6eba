import type { Knex } from 'knex';
import { otherSide, type Side } from '../stage/stage.js';
import type { KeyTuple, RowTranslator } from '../translate/types.js';
import { compareResults, type RowDiff } from './compare.js';
import { keyText, pendingKeys, readByKeys, waitForSync, type WaitOptions } from './keys.js';

export interface ConfirmInput {
  db: Record<Side, Knex>;
  translator: RowTranslator;
  authoritativeSide: Side;
  keys: readonly KeyTuple[];
  /** Columns to compare (the primary key is always read). */
  columns: readonly string[];
  ignore: ReadonlySet<string>;
  wait: WaitOptions;
  /** Called when some keys are pending and the wait for their sync begins. */
  onPending?: (keys: number) => void;
}

export interface ConfirmResult {
  /** Differences that hold after pending keys synced and both sides were re-read. */
  diffs: RowDiff[];
  /** Keys that were pending in the outbox and were waited for (keyText). */
  rechecked: Set<string>;
  /** Keys still pending when the wait ran out: neither reported nor cleared (keyText). */
  timedOut: Set<string>;
  /** Keys written again while we re-read them: the next sync carries them (keyText). */
  inFlight: Set<string>;
}

/**
 * Confirms differences on keys: waits (bounded) for keys pending in either outbox to sync,
 * re-reads both sides by key (authoritative first) and compares again; keys written meanwhile are left
 * out. What remains is a real difference, not replication lag.
 */
export async function confirmKeys(input: ConfirmInput): Promise<ConfirmResult> {
  const { db, translator, authoritativeSide: auth, ignore } = input;
  const table = translator.table;
  const other = otherSide(auth);
  // Both outboxes: after a flip the newer write of a key may be pending on the side that did not serve.
  const outboxes = [db[auth], db[other]];
  const rechecked = await pendingKeys(outboxes, table, input.keys);
  if (rechecked.size > 0) input.onPending?.(rechecked.size);
  const timedOut =
    rechecked.size > 0
      ? await waitForSync(
          outboxes,
          table,
          input.keys.filter((k) => rechecked.has(keyText(k))),
          input.wait,
        )
      : new Set<string>();
  const keys = input.keys.filter((k) => !timedOut.has(keyText(k)));
  const columns = [...new Set([...translator.primaryKey, ...input.columns])];
  const authRows = await readByKeys(db[auth], translator, auth, keys, columns);
  const otherRows = await readByKeys(db[other], translator, other, keys, columns);
  const again = compareResults({
    translator,
    authoritativeSide: auth,
    otherSide: other,
    authoritativeRows: authRows,
    otherRows,
    ignore,
  });
  const inFlight = await pendingKeys(
    outboxes,
    table,
    again.diffs.map((d) => d.key as KeyTuple),
  );
  return {
    diffs: again.diffs.filter((d) => !inFlight.has(keyText(d.key as KeyTuple))),
    rechecked,
    timedOut,
    inFlight,
  };
}
