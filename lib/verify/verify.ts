import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import type { DualWriteConfig } from '../config/schema.js';
import { isMetaTable, META_TABLES } from '../meta/tables.js';
import { createSilentLogger, type Logger } from '../observe/logger.js';
import { verifyMetrics } from '../report/metrics.js';
import type { MismatchRecord } from '../report/records.js';
import { createRedactor } from '../report/redact.js';
import { deleteState, readState, writeState } from '../report/state.js';
import { findTable, type DatabaseSchema } from '../schema/model.js';
import { estimateRows } from '../backfill/keys.js';
import { TokenBucket } from '../backfill/throttle.js';
import type { RowDiff } from '../shadow/compare.js';
import { confirmKeys } from '../shadow/confirm.js';
import { keyText } from '../shadow/keys.js';
import { ignoredColumns, toRecord } from '../shadow/record.js';
import { planFor, type Side, type Stage } from '../stage/stage.js';
import type { Syncer } from '../sync/types.js';
import type { KeyTuple, TranslatorSet } from '../translate/types.js';
import { keyOrder, type KeyOrder } from './chunks.js';
import { planDigest, type ColumnPath } from './columns.js';
import { sampleRowWidth } from './digest.js';
import { orphanCounts, type OrphanCount } from './orphans.js';
import { scanTable } from './scan.js';

/**
 * Name of the dualwrite_state entry with the last verification `{ at, clean, complete, tables }`; the flip
 * safety check reads it. `clean` is true only when every synced table was verified and none differs.
 */
export const LAST_VERIFY_STATE = 'verify.last';
export const verifyCheckpointName = (table: string): string => `verify.${table}`;

export interface VerifyOptions {
  config: Readonly<DualWriteConfig>;
  mysql: Knex;
  postgres: Knex;
  translators: TranslatorSet;
  /** Introspected schemas: key column types (chunk ordering) and PostgreSQL foreign keys (orphan check). */
  schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
  /** Tables to verify. @default every table of the translators that is not excluded in config */
  tables?: readonly string[];
  /** Rows per primary-key chunk. @default config.verify.chunkSize, else sized by chunkBytes */
  chunkSize?: number;
  /** Bytes of row text per chunk when the chunk size follows the row width. @default config.verify.chunkBytes */
  chunkBytes?: number;
  /** Chunks of a table digested at once (each on both servers). @default config.verify.concurrency */
  concurrency?: number;
  /** Rows per second over all tables (0: no limit). @default 0 */
  maxRowsPerSecond?: number;
  /** Continue a table from its checkpoint when an earlier run stopped part-way. @default true */
  resume?: boolean;
  /** When given, differing keys are synced from the authoritative side and re-checked. */
  repair?: Syncer;
  /** Differing keys kept per table for confirmation and repair (beyond it only counts are kept). @default 100000 */
  maxKeys?: number;
  /** Example differences kept per table in the report. @default 50 */
  maxExamples?: number;
  /** Write the JSON report to config.verify.reportDir and `verify.last` to dualwrite_state. @default true */
  writeReport?: boolean;
  /** @default a silent logger */
  logger?: Logger;
  /** @default a new Registry */
  registry?: Registry;
  /** Called after every chunk. */
  onProgress?: (progress: { table: string; rows: number; estimate: number }) => void;
}

export interface TableVerifyResult {
  table: string;
  /** Distinct keys seen on either side. */
  rowsCompared: number;
  authoritativeRows: number;
  otherRows: number;
  /** Rows on the authoritative side only. */
  missing: number;
  /** Rows on the other side only. */
  extra: number;
  /** Rows on both sides with different values. */
  different: number;
  /**
   * Rows whose key or values the other side cannot hold (a 36-character key that is not a UUID...):
   * differences of their own kind, kept out of the chunk comparison; repair skips them.
   */
  malformed: number;
  /** Differing keys still pending in an outbox when the wait for their sync ran out: not verified. */
  pending: number;
  chunks: number;
  differentChunks: number;
  /** Rows per chunk used for this table (the target when adaptive). */
  chunkRows: number;
  /** Per compared column: hashed inside both servers (`database`) or fetched and hashed in Node (`node`). */
  columns: ColumnPath[];
  orphans: OrphanCount[];
  /** Differing keys were more than maxKeys: counts come from the scan and repair covered only the kept keys. */
  truncated: boolean;
  /** Continued from a checkpoint. */
  resumed: boolean;
  /** `skipped` (only when there are any): keys the repair could not write, the first 20 named. */
  repair: { synced: number; remaining: number; skipped?: { count: number; keys: string[] } } | null;
  /** Example differences, values redacted. */
  examples: MismatchRecord[];
  durationMs: number;
}

export interface VerifyResult {
  at: string;
  /** No table differs (and, after a repair, none differs any more). */
  clean: boolean;
  stage: Stage;
  authoritativeSide: Side;
  tables: TableVerifyResult[];
  /**
   * Outbox rows older than `verify.pendingMaxAgeMs`, per side and table: keys not synced (a stalled
   * worker, keys left on a side that gave the role up). A verification with any is not clean.
   */
  pending: PendingRows[];
  durationMs: number;
  /** Where the JSON report was written. */
  reportFile: string | null;
}

export interface PendingRows {
  side: Side;
  table: string;
  rows: number;
  oldestAgeMs: number;
}

/** Outbox rows of both sides older than `maxAgeMs` (database clocks), grouped by side and table. */
async function stalePendingRows(db: Record<Side, Knex>, maxAgeMs: number): Promise<PendingRows[]> {
  const out: PendingRows[] = [];
  for (const side of ['mysql', 'postgres'] as const) {
    const k = db[side];
    const age =
      side === 'mysql'
        ? 'TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(6)) / 1000'
        : 'EXTRACT(EPOCH FROM (clock_timestamp() - MIN(created_at))) * 1000';
    const older =
      side === 'mysql'
        ? k.raw('created_at < NOW(6) - INTERVAL ? MICROSECOND', [maxAgeMs * 1000])
        : k.raw("created_at < clock_timestamp() - (? * interval '1 millisecond')", [maxAgeMs]);
    const rows = (await k(META_TABLES.outbox)
      .select('table_name', k.raw('COUNT(*) AS n'), k.raw(`${age} AS age_ms`))
      .where(older)
      .groupBy('table_name')) as { table_name: string; n: string | number; age_ms: string | number }[];
    for (const r of rows)
      out.push({ side, table: r.table_name, rows: Number(r.n), oldestAgeMs: Math.round(Number(r.age_ms)) });
  }
  return out;
}

interface Checkpoint {
  after: KeyTuple | null;
  authoritativeRows: number;
  otherRows: number;
  rowsCompared: number;
  chunks: number;
  differentChunks: number;
  counts: { missing: number; extra: number; different: number };
  keys: KeyTuple[];
  truncated: boolean;
  done: boolean;
}

const freshCheckpoint = (): Checkpoint => ({
  after: null,
  authoritativeRows: 0,
  otherRows: 0,
  rowsCompared: 0,
  chunks: 0,
  differentChunks: 0,
  counts: { missing: 0, extra: 0, different: 0 },
  keys: [],
  truncated: false,
  done: false,
});

/**
 * Compares whole tables in primary-key chunks. Each server digests its own rows of a chunk (canonical
 * text per column rendered in SQL, one hash per row, summed); columns that cannot be rendered alike in
 * SQL are hashed in Node. Rows are fetched and diffed only in chunks whose digests differ. Differences
 * are then confirmed key by key (keys pending in the outbox are waited for), optionally repaired
 * through `sync`, and re-checked.
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const { config, translators } = options;
  const log = (options.logger ?? createSilentLogger()).child({ component: 'verify' });
  const stage = config.stage as Stage;
  const auth = planFor(stage).authoritative;
  const allTables = translators
    .tableNames()
    .filter((t) => !isMetaTable(t) && config.tables[t]?.exclude !== true);
  const tables = options.tables ?? allTables;
  // Only a verification of every synced table can clear a flip.
  const complete = allTables.every((t) => tables.includes(t));
  const throttle = new TokenBucket(options.maxRowsPerSecond ?? 0);
  const db: Record<Side, Knex> = { mysql: options.mysql, postgres: options.postgres };
  const estimates = await estimateRows(db[auth], auth);
  const results: TableVerifyResult[] = [];
  for (const table of tables) {
    results.push(await verifyTable(table, auth, options, log, { db, throttle, estimates }));
  }
  const pending = await stalePendingRows(db, config.verify.pendingMaxAgeMs);
  for (const p of pending) log.warn(p, 'outbox rows not synced: verification cannot be clean');
  const clean =
    pending.length === 0 &&
    results.every(
      (r) =>
        (r.repair ? r.repair.remaining === 0 : r.missing + r.extra + r.different === 0) &&
        r.malformed === 0 &&
        r.pending === 0 &&
        r.orphans.every((o) => o.count === 0),
    );
  const result: VerifyResult = {
    at: new Date().toISOString(),
    clean,
    stage,
    authoritativeSide: auth,
    tables: results,
    pending,
    durationMs: Date.now() - started,
    reportFile: null,
  };
  if (options.writeReport !== false) {
    const dir = config.verify.reportDir;
    await mkdir(dir, { recursive: true });
    const file = join(dir, `verify-${result.at.replace(/[:.]/g, '-')}.json`);
    result.reportFile = file;
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    await writeState(options.postgres, LAST_VERIFY_STATE, {
      at: result.at,
      clean: clean && complete,
      complete,
      tables: results.map((r) => r.table),
      reportFile: file,
    });
  }
  log.info({ clean, tables: results.length, durationMs: result.durationMs }, 'verification finished');
  return result;
}

async function verifyTable(
  table: string,
  auth: Side,
  options: VerifyOptions,
  log: Logger,
  shared: { db: Record<Side, Knex>; throttle: TokenBucket; estimates: ReadonlyMap<string, number> },
): Promise<TableVerifyResult> {
  const started = Date.now();
  const { config } = options;
  const translator = options.translators.table(table);
  const metrics = verifyMetrics(options.registry ?? new Registry());
  const { db } = shared;
  const maxKeys = options.maxKeys ?? 100_000;
  const ignore = ignoredColumns(config, table);
  const columns = translator.columns.filter((c) => !ignore.has(c));
  const mysqlTable = findTable(options.schemas.mysql, table);
  const pgTable = findTable(options.schemas.postgres, table);
  const orders: Record<Side, KeyOrder> = {
    mysql: keyOrder('mysql', mysqlTable, translator.primaryKey, pgTable),
    postgres: keyOrder('postgres', pgTable, translator.primaryKey, pgTable),
  };
  const plan = planDigest({
    translator,
    mysql: mysqlTable,
    pg: pgTable,
    flavour: options.schemas.mysql.flavor ?? 'mysql',
    columns,
    overrides: config.tables[table]?.columns ?? {},
  });

  const malformed = new Map<string, string>();
  const stateName = verifyCheckpointName(table);
  const saved =
    options.resume === false ? undefined : await readState<Checkpoint>(options.postgres, stateName);
  const resumed = saved !== undefined && !saved.done;
  const cp: Checkpoint = resumed ? saved : freshCheckpoint();
  // Progress only: the statistics' estimate, or a count where the table has none yet.
  const [estimate, chunkRows] = await Promise.all([
    shared.estimates.get(table) || countRows(db[auth], table),
    chunkRowsFor(table, db[auth], auth, columns, options),
  ]);

  await scanTable({
    db,
    auth,
    translator,
    orders,
    plan,
    columns,
    ignore,
    chunkRows,
    adaptive: (options.chunkSize ?? config.verify.chunkSize) === undefined,
    concurrency: options.concurrency ?? config.verify.concurrency,
    throttle: shared.throttle,
    start: cp.after ?? undefined,
    malformed,
    onChunk: async (chunk) => {
      cp.chunks += 1;
      cp.authoritativeRows += chunk.authoritativeRows;
      cp.otherRows += chunk.otherRows;
      cp.rowsCompared += chunk.union;
      metrics.chunks.inc({ table, result: chunk.equal ? 'equal' : 'different' });
      metrics.rows.inc({ table }, chunk.union);
      if (!chunk.equal) {
        cp.differentChunks += 1;
        for (const diff of chunk.diffs) {
          cp.counts[diff.kind] += 1;
          if (cp.keys.length < maxKeys) cp.keys.push(diff.key);
          else cp.truncated = true;
        }
      }
      cp.after = chunk.upTo ?? null;
      cp.done = chunk.upTo === undefined;
      await writeState(options.postgres, stateName, cp);
      metrics.progress.set({ table }, estimate > 0 ? Math.min(1, cp.authoritativeRows / estimate) : 1);
      options.onProgress?.({ table, rows: cp.authoritativeRows, estimate });
    },
  });

  const redactor = createRedactor(config);
  const wait = { timeoutMs: config.shadow.recheckTimeoutMs, intervalMs: config.shadow.recheckIntervalMs };
  const confirmInput = { db, translator, authoritativeSide: auth, columns, ignore, wait };
  let diffs: RowDiff[] = [];
  let pending = 0;
  if (cp.keys.length > 0) {
    const confirmed = await confirmKeys({ ...confirmInput, keys: cp.keys });
    diffs = confirmed.diffs;
    // Keys that never synced within the wait are not verified: they count against a clean result.
    pending = confirmed.timedOut.size + confirmed.inFlight.size;
  }
  for (const [key, reason] of malformed) log.warn({ table, key, reason }, 'row the other side cannot hold');
  const counts = cp.truncated ? cp.counts : countKinds(diffs);
  for (const [kind, n] of Object.entries(counts)) if (n > 0) metrics.differences.inc({ table, kind }, n);
  const examples = diffs.slice(0, options.maxExamples ?? 50).map((d) =>
    toRecord(redactor, {
      source: 'verify',
      table,
      diff: d,
      authSide: auth,
      fingerprint: null,
      shape: null,
      context: null,
      rechecked: false,
    }),
  );

  let repair: TableVerifyResult['repair'] = null;
  const skippedKeys = [...malformed.keys()];
  if (options.repair && diffs.length > 0) {
    const keys = diffs.map((d) => d.key as KeyTuple);
    const written: KeyTuple[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      try {
        await options.repair.sync(table, batch, auth);
        written.push(...batch);
      } catch {
        // One key the target cannot take fails its batch: write the others one by one, skip it.
        for (const key of batch) {
          try {
            await options.repair.sync(table, [key], auth);
            written.push(key);
          } catch (error) {
            skippedKeys.push(keyText(key));
            log.warn({ table, key, err: (error as Error).message }, 'repair skipped a key it cannot write');
          }
        }
      }
    }
    const after = await confirmKeys({ ...confirmInput, keys });
    repair = { synced: written.length, remaining: after.diffs.length, ...skippedPart(skippedKeys) };
    log.info(
      { table, synced: written.length, remaining: repair.remaining, skipped: skippedKeys.length },
      'repaired differing keys',
    );
  } else if (options.repair) {
    repair = { synced: 0, remaining: 0, ...skippedPart(skippedKeys) };
  }

  const orphans = pgTable ? await orphanCounts(options.postgres, pgTable) : [];
  const result: TableVerifyResult = {
    table,
    rowsCompared: cp.rowsCompared,
    authoritativeRows: cp.authoritativeRows,
    otherRows: cp.otherRows,
    ...counts,
    malformed: malformed.size,
    pending,
    chunks: cp.chunks,
    differentChunks: cp.differentChunks,
    chunkRows,
    columns: plan.columns,
    orphans,
    truncated: cp.truncated,
    resumed,
    repair,
    examples,
    durationMs: Date.now() - started,
  };
  // The table is finished: the next run starts from the beginning.
  await deleteState(options.postgres, stateName);
  log.info(
    {
      table,
      rows: result.rowsCompared,
      missing: result.missing,
      extra: result.extra,
      different: result.different,
    },
    'table verified',
  );
  return result;
}

function skippedPart(keys: readonly string[]): { skipped?: { count: number; keys: string[] } } {
  return keys.length > 0 ? { skipped: { count: keys.length, keys: keys.slice(0, 20) } } : {};
}

function countKinds(diffs: readonly RowDiff[]): { missing: number; extra: number; different: number } {
  const counts = { missing: 0, extra: 0, different: 0 };
  for (const d of diffs) counts[d.kind] += 1;
  return counts;
}

/** Chunk sizes follow the row width unless fixed: about chunkBytes of row text per chunk. */
const MIN_CHUNK_ROWS = 100;
const MAX_CHUNK_ROWS = 50_000;

async function chunkRowsFor(
  table: string,
  db: Knex,
  auth: Side,
  columns: readonly string[],
  options: VerifyOptions,
): Promise<number> {
  const fixed = options.chunkSize ?? options.config.verify.chunkSize;
  if (fixed !== undefined) return fixed;
  const width = await sampleRowWidth(db, auth, table, columns);
  const bytes = options.chunkBytes ?? options.config.verify.chunkBytes;
  if (width === null || width <= 0) return MAX_CHUNK_ROWS;
  return Math.max(MIN_CHUNK_ROWS, Math.min(MAX_CHUNK_ROWS, Math.floor(bytes / width)));
}

async function countRows(db: Knex, table: string): Promise<number> {
  const row = (await db(table).count({ n: '*' }).first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}
