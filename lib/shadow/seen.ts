import { canonicalJson } from './canonical.js';
import type { RowDiff } from './compare.js';

/**
 * What makes two confirmed differences the same one, so each is recorded once however many reads show it:
 * a row by its key (its kind and differing columns); a difference only in columns of other tables
 * (joined, or read without a key) by those source columns and both values, since every row that joins
 * the same source row shows it again; anything else by the query shape and the rows.
 */
export function differenceIdentity(diff: RowDiff, fingerprint: string): string {
  const sourced = diff.columns.length > 0 && diff.columns.every((c) => c.source !== undefined);
  const foreign =
    sourced && diff.columns.every((c) => !diff.keyTable || !c.source?.startsWith(`${diff.keyTable}.`));
  if (diff.kind === 'different' && foreign) {
    return canonicalJson(diff.columns.map((c) => canonicalJson([c.source, c.authoritative, c.other])).sort());
  }
  if (diff.key !== null) {
    return canonicalJson([
      diff.keyTable,
      diff.key,
      diff.kind,
      diff.columns.map((c) => c.source ?? c.column).sort(),
    ]);
  }
  return canonicalJson([
    fingerprint,
    diff.kind,
    diff.kind === 'different' ? diff.columns : [diff.authoritative, diff.other],
  ]);
}

/** Identities already recorded, the most recent `limit` of them. */
export class SeenDifferences {
  readonly #seen = new Map<string, number>();

  constructor(private readonly limit = 10_000) {}

  has(identity: string): boolean {
    return this.#seen.has(identity);
  }

  /** Whether `identity` was recorded before; records it as seen now. */
  seenBefore(identity: string): boolean {
    const known = this.#seen.has(identity);
    this.#seen.delete(identity);
    this.#seen.set(identity, Date.now());
    if (this.#seen.size > this.limit) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return known;
  }
}
