import { createHash } from 'node:crypto';
import { canonicalJson } from '../shadow/canonical.js';
import { DiffKind, normalizeRow } from '../shadow/compare.js';
import { keyText } from '../shadow/keys.js';
import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';

/** Rows of one side keyed by canonical key text, each as the canonical text of its normalised row. */
export type Entries = Map<string, string>;

export function keyOf(translator: RowTranslator, row: Row, side: Side): KeyTuple {
  return translator.canonicalKey(
    translator.primaryKey.map((c) => row[c]),
    side,
  );
}

/** keyText → canonical text of the normalised row (the columns the rows carry, `ignore` left out). */
export function entries(
  translator: RowTranslator,
  rows: Row[],
  side: Side,
  ignore: ReadonlySet<string>,
): Entries {
  const map: Entries = new Map();
  for (const row of rows) {
    map.set(
      keyText(keyOf(translator, row, side)),
      canonicalJson(normalizeRow(translator, row, side, ignore)),
    );
  }
  return map;
}

/**
 * Order-independent digest of rows as Node normalises them: the exact sum of a 64-bit hash (SHA-256,
 * first 8 bytes) of each row's key and normalised columns, as the databases sum theirs. No row is kept.
 */
export function rowsDigest(
  translator: RowTranslator,
  rows: Iterable<Row>,
  side: Side,
  ignore: ReadonlySet<string>,
): string {
  let sum = 0n;
  for (const row of rows) {
    const hash = createHash('sha256')
      .update(keyText(keyOf(translator, row, side)))
      .update('\0')
      .update(canonicalJson(normalizeRow(translator, row, side, ignore)))
      .digest();
    sum += hash.readBigInt64BE(0);
  }
  return sum.toString();
}

/** Keys missing on the other side, extra there, or different, from the authoritative side's view. */
export function* diffEntries(a: Entries, o: Entries): Generator<{ kind: DiffKind; key: KeyTuple }> {
  for (const [k, v] of a) {
    const ov = o.get(k);
    if (ov === undefined) yield { kind: DiffKind.Missing, key: JSON.parse(k) as KeyTuple };
    else if (ov !== v) yield { kind: DiffKind.Different, key: JSON.parse(k) as KeyTuple };
  }
  for (const k of o.keys()) if (!a.has(k)) yield { kind: DiffKind.Extra, key: JSON.parse(k) as KeyTuple };
}
