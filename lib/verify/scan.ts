import type { Knex } from 'knex';
import { TranslationError } from '../errors.js';
import type { TokenBucket } from '../backfill/throttle.js';
import type { DiffKind } from '../shadow/compare.js';
import { otherSide, type Side } from '../stage/stage.js';
import type { KeyTuple, RowTranslator } from '../translate/types.js';
import { readByKeys } from '../shadow/keys.js';
import { chunkBound, type KeyOrder } from './chunks.js';
import type { DigestPlan } from './columns.js';
import { digestRange, rowDigests, type ChunkDigest } from './digest.js';
import { runOrdered } from './pipeline.js';
import { diffEntries, entries } from './entries.js';

/** The side whose keys bound the chunks. */
const BOUND_SIDE: Side = 'postgres';
/** Smallest chunk an adaptive scan shrinks to. */
const MIN_ADAPTIVE_ROWS = 500;
/** Suspect keys of a differing chunk read by key at a time. */
const SUSPECT_BATCH = 1000;

const sameDigest = (a: ChunkDigest, o: ChunkDigest): boolean =>
  a.rows === o.rows && a.hash === o.hash && a.node === o.node;

export interface ScanInput {
  db: Record<Side, Knex>;
  auth: Side;
  translator: RowTranslator;
  orders: Record<Side, KeyOrder>;
  plan: DigestPlan;
  /** Every compared column (fetched for the row diff of a chunk that differs). */
  columns: readonly string[];
  ignore: ReadonlySet<string>;
  /** Rows per chunk (the target when adaptive). */
  chunkRows: number;
  /**
   * Shrink chunks after one whose digests differed (halving, down to MIN_ADAPTIVE_ROWS) and grow them
   * back while they agree: writes landing during the scan then cost small row-hash listings.
   */
  adaptive: boolean;
  /** Chunks in flight at once. */
  concurrency: number;
  throttle: TokenBucket;
  /** Continue after this key (a checkpoint); from the start when undefined. */
  start: KeyTuple | undefined;
  /**
   * Filled with the rows whose key the other side cannot hold (raw key → reason): differences of their
   * own kind, kept out of the comparison.
   */
  malformed: Map<string, string>;
  /** Called for every chunk, in key order; a throw stops the scan. */
  onChunk: (chunk: ChunkOutcome) => Promise<void>;
}

export interface ChunkOutcome {
  /** Inclusive upper bound; undefined for the last chunk (which runs to the end of the table). */
  upTo: KeyTuple | undefined;
  authoritativeRows: number;
  otherRows: number;
  /** Distinct keys of the chunk on either side. */
  union: number;
  /** Both sides' digests agreed. */
  equal: boolean;
  /** Row differences found by the row diff of a chunk whose digests differ. */
  diffs: { kind: DiffKind; key: KeyTuple }[];
}

/**
 * Walks a table in key-range chunks. PostgreSQL gives each chunk's upper bound (the key `chunkRows`
 * rows on); both servers then digest the range at the same time. For a chunk whose digests
 * differ both sides list their row hashes, and only the rows whose hashes differ are fetched and diffed
 * (a write landing during the scan costs a few rows, not a chunk).
 * Up to `concurrency` chunks run at once; outcomes are handed over in key order.
 */
export async function scanTable(input: ScanInput): Promise<void> {
  const { db, auth, translator, orders, plan, ignore } = input;
  let size = input.chunkRows;
  const other = otherSide(auth);
  const range = (side: Side, after: KeyTuple | undefined, upTo: KeyTuple | undefined) => ({
    side,
    translator,
    order: orders[side],
    after,
    upTo,
  });
  /** Why a key cannot be read by on one of the sides, or null when both can hold it. */
  const unusable = (key: KeyTuple): string | null => {
    for (const side of [auth, other]) {
      try {
        translator.keyForSide(key, side);
      } catch (error) {
        if (error instanceof TranslationError) return `${side}: ${error.message}`;
        throw error;
      }
    }
    return null;
  };
  // Any key bounds a range on both sides alike; PostgreSQL finds it in its primary-key index, which
  // holds only keys, where InnoDB's clustered primary key would walk the whole rows.
  const bound = (after: KeyTuple | undefined) =>
    chunkBound({
      db: db[BOUND_SIDE],
      side: BOUND_SIDE,
      translator,
      order: orders[BOUND_SIDE],
      after,
      rows: size,
      usable: (key) => unusable(key) === null,
    });

  const digests = (after: KeyTuple | undefined, upTo: KeyTuple | undefined) =>
    Promise.all([
      digestRange(db[auth], range(auth, after, upTo), plan, ignore),
      digestRange(db[other], range(other, after, upTo), plan, ignore),
    ]);

  /**
   * A range whose digests differ: each side's row hashes (key and hash only) show which rows differ,
   * and only those rows are fetched and diffed.
   */
  const resolve = async (
    after: KeyTuple | undefined,
    upTo: KeyTuple | undefined,
  ): Promise<Omit<ChunkOutcome, 'upTo' | 'equal'>> => {
    const [ha, ho] = await Promise.all([
      rowDigests(db[auth], range(auth, after, upTo), plan, ignore),
      rowDigests(db[other], range(other, after, upTo), plan, ignore),
    ]);
    const suspects: KeyTuple[] = [];
    let authRows = ha.size;
    let otherRows = ho.size;
    let union = ha.size;
    for (const k of ho.keys()) if (!ha.has(k)) union += 1;
    const suspect = (k: string): void => {
      const key = JSON.parse(k) as KeyTuple;
      const reason = unusable(key);
      if (reason === null) {
        suspects.push(key);
        return;
      }
      // Neither comparable nor syncable on the other side: reported apart, left out of the counts.
      input.malformed.set(JSON.stringify(key.map(String)), reason);
      union -= 1;
      if (ha.has(k)) authRows -= 1;
      if (ho.has(k)) otherRows -= 1;
    };
    for (const [k, h] of ha) if (ho.get(k) !== h) suspect(k);
    for (const k of ho.keys()) if (!ha.has(k)) suspect(k);
    const diffs: ChunkOutcome['diffs'] = [];
    const read = [...new Set([...translator.primaryKey, ...input.columns])];
    for (let i = 0; i < suspects.length; i += SUSPECT_BATCH) {
      const keys = suspects.slice(i, i + SUSPECT_BATCH);
      const [authRows, otherRows] = await Promise.all([
        readByKeys(db[auth], translator, auth, keys, read),
        readByKeys(db[other], translator, other, keys, read),
      ]);
      diffs.push(
        ...diffEntries(
          entries(translator, authRows, auth, ignore),
          entries(translator, otherRows, other, ignore),
        ),
      );
    }
    return { authoritativeRows: authRows, otherRows, union, diffs };
  };

  const runChunk = async (after: KeyTuple | undefined, upTo: KeyTuple | undefined): Promise<ChunkOutcome> => {
    const [a, o] = await digests(after, upTo);
    if (sameDigest(a, o)) {
      return { upTo, authoritativeRows: a.rows, otherRows: o.rows, union: a.rows, equal: true, diffs: [] };
    }
    return { upTo, equal: false, ...(await resolve(after, upTo)) };
  };

  let after = input.start;
  let next: Promise<KeyTuple | undefined> | null = bound(after);
  try {
    await runOrdered<ChunkOutcome>({
      concurrency: input.concurrency,
      start: async () => {
        if (next === null) return null;
        const upTo = await next;
        const chunkAfter = after;
        // The next bound is looked up while this chunk is digested.
        next = upTo === undefined ? null : bound(upTo);
        next?.catch(() => undefined);
        after = upTo;
        await input.throttle.take(size);
        return { task: runChunk(chunkAfter, upTo) };
      },
      consume: async (outcome) => {
        if (input.adaptive) {
          size = outcome.equal
            ? Math.min(input.chunkRows, Math.ceil(size * 1.25))
            : Math.max(Math.min(MIN_ADAPTIVE_ROWS, input.chunkRows), Math.floor(size / 2));
        }
        await input.onChunk(outcome);
      },
    });
  } finally {
    // A bound looked up ahead of a scan that stopped.
    await next?.catch(() => undefined);
  }
}
