import type { Knex } from 'knex';
import { TranslationError } from '../errors.js';
import type { DualWriteEvents } from '../observe/events.js';
import { createSilentLogger, type Logger } from '../observe/logger.js';
import type { DualWriteMetrics } from '../observe/metrics.js';
import { dialectFor } from '../dialect/dialects.js';
import { otherSide, type Side } from '../dialect/side.js';
import { chunks } from '../dialect/sql.js';
import { STATE_SIDE } from '../meta/tables.js';
import type { KeyTuple, Row, RowTranslator, TranslatorSet } from '../translate/types.js';
import { bucketsOfKeyTexts, keyText, lockBuckets } from './buckets.js';
import { CopyIn, copyUpsert, existingKeys } from './copy.js';
import { QuarantineStore, type QuarantineEntry } from './quarantine.js';
import { selectByKeys } from '../keys/lookup.js';
import type { SyncOptions, Syncer, SyncResult } from './types.js';
import { deleteKeys, upsertRows } from './upsert.js';

export interface KeySyncerOptions {
  /** Knex of the MySQL side (created with createMysqlKnex). */
  mysql: Knex;
  /** Knex of the PostgreSQL side (created with createPostgresKnex). */
  pg: Knex;
  translators: TranslatorSet;
  logger?: Logger;
  events?: DualWriteEvents;
  metrics?: DualWriteMetrics;
  /** Keys per source read and per delete statement. @default 1000 */
  chunkSize?: number;
  /** Rows at or above which an upsert into PostgreSQL goes through COPY + a staging table. @default 2000 */
  copyThreshold?: number;
  /** PostgreSQL target: `lock_timeout` of the bucket locks and writes, ms (0 = none). @default 10000 */
  lockTimeoutMs?: number;
  /**
   * PostgreSQL target, COPY path: rows of one sync are spread over this many COPY streams, the extra ones
   * on helper transactions (extra pool connections), which commit just before the sync's own
   * transaction. More PostgreSQL backends ingest at once; the pool must have room for them. @default 1
   */
  copyStreams?: number;
}

/** A direct COPY found a key it expected to be absent; the sync is repeated without direct COPY. */
class DirectCopyConflict extends Error {
  constructor(override readonly cause: unknown) {
    super('direct COPY hit an existing key');
  }
}

const DEFAULTS = { chunkSize: 1000, copyThreshold: 2000, lockTimeoutMs: 10_000, copyStreams: 1 } as const;

/**
 * The Syncer: for one table and a set of keys, in ONE target transaction — lock the keys' buckets
 * (ascending), read the keys' current rows from the source, upsert the present ones and delete the
 * absent ones on the target, commit. Because a sync reads the source only after it holds the buckets,
 * whichever of two overlapping syncs commits last wrote the newest image (the ordering invariant).
 */
export class KeySyncer implements Syncer {
  readonly #db: Record<Side, Knex>;
  readonly #translators: TranslatorSet;
  readonly #log: Logger;
  readonly #events: DualWriteEvents | undefined;
  readonly #metrics: DualWriteMetrics | undefined;
  readonly #opts: Required<
    Pick<KeySyncerOptions, 'chunkSize' | 'copyThreshold' | 'lockTimeoutMs' | 'copyStreams'>
  >;
  readonly quarantine: QuarantineStore;

  constructor(options: KeySyncerOptions) {
    this.#db = { mysql: options.mysql, postgres: options.pg };
    this.#translators = options.translators;
    this.#log = (options.logger ?? createSilentLogger()).child({ component: 'syncer' });
    this.#events = options.events;
    this.#metrics = options.metrics;
    this.#opts = {
      chunkSize: positive('chunkSize', options.chunkSize ?? DEFAULTS.chunkSize),
      copyThreshold: positive('copyThreshold', options.copyThreshold ?? DEFAULTS.copyThreshold),
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs,
      copyStreams: positive('copyStreams', options.copyStreams ?? DEFAULTS.copyStreams),
    };
    this.quarantine = new QuarantineStore(options.pg);
  }

  /**
   * The keys of a coming sync made canonical, with their lock buckets: work a caller can do while
   * an earlier sync still runs (the backfill prepares its next batch). Pass it as `prepared` to sync()
   * with the same table, keys and side; it is used once.
   */
  prepare(table: string, keys: readonly KeyTuple[], from: Side): PreparedKeys {
    const tr = this.#translators.table(table);
    const map = canonicalKeys(tr, keys, from);
    return { table, from, keys: map, buckets: bucketsOfKeyTexts(table, map.keys()) };
  }

  async sync(
    table: string,
    keys: readonly KeyTuple[],
    from: Side,
    options: KeySyncOptions = {},
  ): Promise<SyncResult> {
    const started = performance.now();
    const tr = this.#translators.table(table);
    const to = otherSide(from);
    // Canonical keys by their text (see keyText), computed once per attempt; a sync consumes its map.
    const fresh = (): PreparedKeys => this.prepare(table, keys, from);
    const ahead = options.prepared;
    const first =
      ahead && ahead.table === table && ahead.from === from && !preparedUsed.has(ahead) ? ahead : fresh();
    preparedUsed.add(first);
    const result: SyncResult = { table, upserted: 0, deleted: 0, quarantined: [] };
    if (first.keys.size === 0) return result;
    const direction = `${from}->${to}`;

    try {
      await this.#syncOnce(tr, first, from, to, options, result, true);
    } catch (error) {
      // A key COPY expected to be absent was there after all (written around the syncer): sync again
      // with upserts only.
      if (!(error instanceof DirectCopyConflict)) throw error;
      this.#log.debug({ table, err: error.cause }, 'direct COPY hit an existing key: retrying with upserts');
      Object.assign(result, { upserted: 0, deleted: 0, quarantined: [] });
      await this.#syncOnce(tr, fresh(), from, to, options, result, false);
    }

    this.#report(result, from, to, direction, performance.now() - started);
    return result;
  }

  /** One attempt of a sync in one target transaction; `direct`: COPY rows absent on the target straight into it. */
  async #syncOnce(
    tr: RowTranslator,
    /** The sync's keys by key text (the keys seen in the source are removed from it) and their buckets. */
    { keys: pending, buckets }: PreparedKeys,
    from: Side,
    to: Side,
    options: SyncOptions,
    result: SyncResult,
    direct: boolean,
  ): Promise<void> {
    const table = tr.table;
    const direction = `${from}->${to}`;
    await this.#db[to].transaction(
      async (trx) => {
        await this.#beginTarget(trx, to);
        try {
          await options.beforeLock?.();
          await lockBuckets(trx, to, buckets, options.sharedLocks === true);
          options.onLocked?.();
          // Only now, with the buckets held, is the source read.
          const chunks = options.readSource
            ? options.readSource()
            : this.#readSource(tr, [...pending.values()], options.source ?? this.#db[from], from);
          const sink =
            dialectFor(to).capabilities.copy && pending.size >= this.#opts.copyThreshold
              ? await PgCopySink.open(trx, tr, pending, options.contiguous === true, direct, {
                  copyThreshold: this.#opts.copyThreshold,
                  streams: this.#opts.copyStreams,
                  db: this.#db.postgres,
                  beginHelper: (helper) => this.#beginTarget(helper, 'postgres'),
                })
              : new UpsertSink(trx, to, tr);
          // Keys still pending once the source is read are deleted on the target.
          const synced: KeyTuple[] = [];
          const pk = tr.primaryKey;
          try {
            for await (const rows of chunks) {
              for (const row of rows) {
                const text = keyText(
                  tr.canonicalKey(
                    pk.map((c) => row[c]),
                    from,
                  ),
                );
                const key = pending.get(text);
                // A row of a key not asked for (a range read) or already seen is not this sync's.
                if (key === undefined) continue;
                pending.delete(text);
                let out: Row;
                try {
                  out = tr.translate(row, from);
                } catch (error) {
                  if (!(error instanceof TranslationError)) throw error;
                  result.quarantined.push({
                    key,
                    code: error.problem,
                    ...(error.column === undefined ? {} : { column: error.column }),
                    reason: error.message,
                  });
                  continue;
                }
                sink.add(out, text, key);
                synced.push(key);
              }
              await sink.flush();
            }
            // Nothing of this sync commits (helper COPY transactions included) before the caller says so.
            await options.beforeCommit?.();
            await sink.end();
          } catch (error) {
            await sink.abort();
            if (direct && sink instanceof PgCopySink && dialectFor(to).errors.isUniqueViolation(error)) {
              throw new DirectCopyConflict(error);
            }
            throw error;
          }
          result.upserted = synced.length;
          const absent: unknown[][] = [];
          for (const key of pending.values()) {
            synced.push(key);
            const targetKey = tryKeyForSide(tr, key, to);
            // A key the target cannot even express cannot have a row there: nothing to delete.
            if (targetKey) absent.push(targetKey);
          }
          result.deleted = await deleteKeys(trx, to, tr, absent, this.#opts.chunkSize);
          // Quarantine bookkeeping happens while the buckets are held, so it is ordered like the rows.
          const store = to === STATE_SIDE ? trx : undefined;
          const entries: QuarantineEntry[] = result.quarantined.map((q) => ({ table, direction, ...q }));
          if (entries.length > 0) await this.quarantine.record(entries, store);
          if (synced.length > 0 && (entries.length > 0 || (await this.quarantine.hasOpen(table, store)))) {
            await this.quarantine.resolve(table, synced, store);
          }
        } finally {
          await this.#endTarget(trx, to);
        }
      },
      { isolationLevel: 'read committed' },
    );
  }

  /** Marks the session as the syncer's (no trigger capture) and bounds lock waits. */
  async #beginTarget(trx: Knex.Transaction, to: Side): Promise<void> {
    await dialectFor(to).syncSession.begin(trx, this.#opts.lockTimeoutMs);
  }

  /** Clears what of the sync session outlives the transaction, before the connection is reused. */
  async #endTarget(trx: Knex.Transaction, to: Side): Promise<void> {
    try {
      await dialectFor(to).syncSession.end(trx);
    } catch (error) {
      this.#log.debug({ err: error }, 'could not reset the sync session flag (connection lost?)');
    }
  }

  /** Current rows of `keys` on the source, a chunk of keys per query. */
  async *#readSource(
    tr: RowTranslator,
    keys: readonly KeyTuple[],
    db: Knex,
    from: Side,
  ): AsyncGenerator<readonly Row[]> {
    for (const part of chunks(keys, this.#opts.chunkSize)) {
      const values = part
        .map((k) => tryKeyForSide(tr, k, from))
        .filter((v): v is unknown[] => v !== undefined);
      if (values.length === 0) continue;
      yield await selectByKeys({ db, side: from, translator: tr }, values, tr.columns, 'read source rows');
    }
  }

  #report(result: SyncResult, from: Side, to: Side, direction: string, ms: number): void {
    const { table } = result;
    if (this.#metrics) {
      if (result.upserted) this.#metrics.synced.inc({ table, op: 'upsert' }, result.upserted);
      if (result.deleted) this.#metrics.synced.inc({ table, op: 'delete' }, result.deleted);
      for (const q of result.quarantined) this.#metrics.quarantined.inc({ table, code: q.code });
    }
    for (const q of result.quarantined) {
      this.#log.warn({ table, key: q.key, code: q.code, column: q.column }, 'key quarantined');
      this.#events?.safeEmit('keyQuarantined', { table, direction, ...q });
    }
    this.#events?.safeEmit('synced', {
      table,
      from,
      to,
      upserted: result.upserted,
      deleted: result.deleted,
      quarantined: result.quarantined.length,
      ms,
    });
  }
}

/** Keys of a sync prepared ahead of it (KeySyncer.prepare). */
export interface PreparedKeys {
  readonly table: string;
  readonly from: Side;
  /** Canonical keys by key text; the sync consumes it. */
  readonly keys: Map<string, KeyTuple>;
  /** Their lock buckets, ascending. */
  readonly buckets: readonly number[];
}

/** SyncOptions of a KeySyncer. */
export interface KeySyncOptions extends SyncOptions {
  /** The keys prepared ahead by this syncer's prepare() for this table, keys and side. */
  prepared?: PreparedKeys;
}

/** Prepared keys already handed to a sync (a prepared map is consumed). */
const preparedUsed = new WeakSet<PreparedKeys>();

function canonicalKeys(tr: RowTranslator, keys: readonly KeyTuple[], from: Side): Map<string, KeyTuple> {
  const map = new Map<string, KeyTuple>();
  for (const k of keys) {
    const key = tr.canonicalKey(k, from);
    map.set(keyText(key), key);
  }
  return map;
}

/** Where a sync's translated rows go on the target. */
interface RowSink {
  /** `key`: the row's canonical key (a target may compute key columns itself: they are not in `row`). */
  add(row: Row, keyText: string, key: KeyTuple): void;
  /** Called after each chunk of source rows: lets the target catch up. */
  flush(): Promise<void>;
  end(): Promise<void>;
  /** The sync failed: release what is open (the transaction rolls back). */
  abort(): Promise<void>;
}

/** Multi-row INSERT ... ON CONFLICT / ON DUPLICATE KEY UPDATE at the end (small syncs, MySQL targets). */
class UpsertSink implements RowSink {
  readonly #rows: Row[] = [];
  readonly #keys: KeyTuple[] = [];

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly to: Side,
    private readonly tr: RowTranslator,
  ) {}

  add(row: Row, _keyText: string, key: KeyTuple): void {
    this.#rows.push(row);
    this.#keys.push(key);
  }

  async flush(): Promise<void> {}

  async end(): Promise<void> {
    await upsertRows(this.trx, this.to, this.tr, this.#rows, this.#keys);
  }

  async abort(): Promise<void> {}
}

/**
 * PostgreSQL target through COPY. Under the bucket locks no other sync writes these keys, so rows whose
 * key is absent on the target are streamed straight into the table while the source is still being
 * read (`direct`); rows whose key is present are upserted at the end (staging table + ON CONFLICT, or
 * multi-row INSERT ... ON CONFLICT for a few). Without `direct` every row takes the upsert.
 */
class PgCopySink implements RowSink {
  /** COPYs open, the first one on the sync's transaction, the others on helper transactions. */
  readonly #copies: Promise<CopyIn>[] = [];
  readonly #helpers: Knex.Transaction[] = [];
  #columns: string[] | null = null;
  /** Fresh rows not handed to a COPY yet (sent at each flush, a chunk at a time). */
  #fresh: Row[] = [];
  #chunks = 0;
  readonly #stale: Row[] = [];

  private constructor(
    private readonly trx: Knex.Transaction,
    private readonly tr: RowTranslator,
    private readonly present: ReadonlySet<string> | null,
    private readonly opts: PgCopyOptions,
  ) {}

  /** `contiguous`: the keys are a run of the walk (a range read), so the target is looked up by range. */
  static async open(
    trx: Knex.Transaction,
    tr: RowTranslator,
    keys: ReadonlyMap<string, KeyTuple>,
    contiguous: boolean,
    direct: boolean,
    opts: PgCopyOptions,
  ): Promise<PgCopySink> {
    let present: Set<string> | null = null;
    if (direct) {
      present = await existingKeys(trx, tr, keys, (k) => tryKeyForSide(tr, k, 'postgres'), contiguous);
    }
    return new PgCopySink(trx, tr, present, opts);
  }

  add(row: Row, keyText: string): void {
    if (this.present === null || this.present.has(keyText)) {
      this.#stale.push(row);
      return;
    }
    // Rows read with the translator's columns all have the same columns; one that differs is upserted.
    this.#columns ??= Object.keys(row);
    if (sameColumns(row, this.#columns)) this.#fresh.push(row);
    else this.#stale.push(row);
  }

  /**
   * Sends the fresh rows of a chunk. With `streams` > 1, chunks go round-robin to COPYs on helper
   * transactions as well, so several PostgreSQL backends ingest at once (they share nothing but the
   * table). A helper commits before the sync's own transaction, which holds the bucket locks meanwhile.
   */
  async flush(): Promise<void> {
    if (this.#fresh.length === 0) return;
    const i = this.#chunks++ % this.opts.streams;
    if (i === this.#copies.length) {
      const opening = this.#openCopy(i);
      opening.catch(() => undefined); // awaited below and in end()/abort()
      this.#copies.push(opening);
    }
    const copy = await this.#copies[i]!;
    for (const row of this.#fresh) copy.add(row);
    this.#fresh = [];
    await copy.flush();
  }

  async #openCopy(i: number): Promise<CopyIn> {
    if (i === 0) return CopyIn.open(this.trx, this.tr.table, this.#columns!);
    const helper = await this.opts.db.transaction();
    this.#helpers.push(helper);
    await this.opts.beginHelper(helper);
    return CopyIn.open(helper, this.tr.table, this.#columns!);
  }

  async end(): Promise<void> {
    await this.flush();
    const copies = await Promise.all(this.#copies);
    await Promise.all(copies.map((c) => c.end()));
    for (const helper of this.#helpers.splice(0)) await helper.commit();
    const stale = this.#stale;
    if (stale.length === 0) return;
    if (stale.length >= this.opts.copyThreshold) {
      await copyUpsert(this.trx, this.tr.table, this.tr.primaryKey, unionColumns(stale), stale);
    } else {
      await upsertRows(this.trx, 'postgres', this.tr, stale);
    }
  }

  async abort(): Promise<void> {
    const copies = await Promise.all(this.#copies.map((c) => c.catch(() => null)));
    await Promise.all(copies.map((c) => c?.abort()));
    for (const helper of this.#helpers.splice(0)) await helper.rollback().catch(() => undefined);
  }
}

/** How a PgCopySink writes: COPY streams per sync and where helper transactions come from. */
interface PgCopyOptions {
  copyThreshold: number;
  streams: number;
  /** The target's knex (helper transactions). */
  db: Knex;
  /** Marks a helper transaction as the syncer's, like the sync's own. */
  beginHelper: (trx: Knex.Transaction) => Promise<void>;
}

function sameColumns(row: Row, columns: readonly string[]): boolean {
  let n = 0;
  for (const c in row) {
    if (columns[n] !== c) return false;
    n++;
  }
  return n === columns.length;
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(`Expected \`${name}\` to be a positive integer, got \`${String(value)}\``);
  }
  return value;
}

function tryKeyForSide(tr: RowTranslator, key: KeyTuple, side: Side): unknown[] | undefined {
  try {
    return tr.keyForSide(key, side);
  } catch (error) {
    if (error instanceof TranslationError) return undefined;
    throw error;
  }
}

/** COPY takes one column list: a column a translator left out of a row is written as NULL. */
function unionColumns(rows: readonly Row[]): string[] {
  const cols = new Set<string>();
  for (const row of rows) for (const c of Object.keys(row)) cols.add(c);
  return [...cols];
}
