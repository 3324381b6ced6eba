import { isSafeNumber, parse as parseLossless } from 'lossless-json';
import type { KeyTuple } from '../translate/types.js';

/**
 * The key codec: a key (one value per key column, composite keys included) ↔ its canonical text, the
 * form stored in the outbox and quarantine `pk` columns and used as a map key everywhere. Canonical
 * keys hold integers beyond ±2^53 as exact decimal strings, so the text never loses digits.
 */
export function keyText(key: KeyTuple): string {
  return JSON.stringify(key);
}

/**
 * Parses a key text (the inverse of keyText). Trigger capture writes integer keys as JSON numbers: a
 * BIGINT beyond 2^53 is kept as its exact decimal string (the translator's canonicalKey turns it into
 * the canonical form).
 */
export function parseKeyText(text: string): KeyTuple {
  return parseLossless(text, null, (n: string) => (isSafeNumber(n) ? Number(n) : n)) as KeyTuple;
}

/** Keys without repeats (by key text), in first-seen order. */
export function distinctKeys<K extends readonly unknown[]>(keys: readonly K[]): K[] {
  const seen = new Map<string, K>();
  for (const k of keys) {
    const text = JSON.stringify(k);
    if (!seen.has(text)) seen.set(text, k);
  }
  return [...seen.values()];
}

/** Longest key text shown in a message: enough to recognise a key, never a page of bytes. */
const SHOWN_KEY_CHARS = 80;

function shortKey(key: readonly unknown[]): string {
  const text = JSON.stringify(key.map((v) => (typeof v === 'bigint' ? v.toString() : v)));
  return text.length > SHOWN_KEY_CHARS ? `${text.slice(0, SHOWN_KEY_CHARS)}…` : text;
}

/**
 * The keys of an operation as a short phrase for messages: `key [1,"a"]`, or
 * `8000 keys from [1,"a"] to [2,"z"]` (the first and last key as given, which a backfill batch gives
 * in walk order).
 */
export function describeKeys(keys: readonly (readonly unknown[])[]): string {
  const first = keys[0];
  const last = keys[keys.length - 1];
  if (!first || !last) return 'no keys';
  if (keys.length === 1) return `key ${shortKey(first)}`;
  return `${keys.length} keys from ${shortKey(first)} to ${shortKey(last)}`;
}
