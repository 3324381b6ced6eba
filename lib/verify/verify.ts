import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { Registry } from 'prom-client';
import type { DualWriteConfig } from '../config/schema.js';
import { TranslationError } from '../errors.js';
import { isMetaTable, META_TABLES } from '../meta/tables.js';
import { createSilentLogger, type Logger } from '../observe/logger.js';
import { verifyMetrics } from '../report/metrics.js';
import type { MismatchRecord } from '../report/records.js';
import { createRedactor } from '../report/redact.js';
import { deleteState, readState, writeState } from '../report/state.js';
import { findTable, type DatabaseSchema } from '../schema/model.js';
import { canonicalJson } from '../shadow/canonical.js';
import { DiffKind, normalizeRow, type RowDiff } from '../shadow/compare.js';
import { confirmKeys } from '../shadow/confirm.js';
import { keyText } from '../shadow/keys.js';
import { ignoredColumns, toRecord } from '../shadow/record.js';
import { otherSide, planFor, type Side, type Stage } from '../stage/stage.js';
import type { Syncer } from '../sync/types.js';
import type { KeyTuple, Row, RowTranslator, TranslatorSet } from '../translate/types.js';
import { keyOrder, readChunk, type KeyOrder } from './chunks.js';
import { orphanCounts, type OrphanCount } from './orphans.js';

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
  /** Rows per primary-key chunk. @default config.verify.chunkSize */
  chunkSize?: number;
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

/** Digest of a chunk: sorted (key, normalised row) pairs, so both sides hash alike exactly when they hold the same rows. */
function digest(entries: Map<string, string>): string {
  const hash = createHash('sha256');
  for (const k of [...entries.keys()].sort())
    hash
      .update(k)
      .update('\0')
      .update(entries.get(k) ?? '')
      .update('\n');
  return hash.digest('hex');
}

/**
 * Compares whole tables in primary-key chunks: both sides normalised the same way and hashed per chunk;
 * rows are diffed only in chunks whose hashes differ. Differences are then confirmed key by key (keys
 * pending in the outbox are waited for), optionally repaired through `sync`, and re-checked.
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
  const results: TableVerifyResult[] = [];
  for (const table of tables) {
    results.push(await verifyTable(table, auth, options, log));
  }
  const pending = await stalePendingRows(
    { mysql: options.mysql, postgres: options.postgres },
    config.verify.pendingMaxAgeMs,
  );
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
): Promise<TableVerifyResult> {
  const started = Date.now();
  const { config } = options;
  const translator = options.translators.table(table);
  const metrics = verifyMetrics(options.registry ?? new Registry());
  const other = otherSide(auth);
  const db: Record<Side, Knex> = { mysql: options.mysql, postgres: options.postgres };
  const chunkSize = options.chunkSize ?? config.verify.chunkSize;
  const maxKeys = options.maxKeys ?? 100_000;
  const ignore = ignoredColumns(config, table);
  const columns = translator.columns.filter((c) => !ignore.has(c));
  const pgTable = findTable(options.schemas.postgres, table);
  const orders: Record<Side, KeyOrder> = {
    mysql: keyOrder('mysql', findTable(options.schemas.mysql, table), translator.primaryKey, pgTable),
    postgres: keyOrder('postgres', pgTable, translator.primaryKey, pgTable),
  };

  const stateName = verifyCheckpointName(table);
  const saved =
    options.resume === false ? undefined : await readState<Checkpoint>(options.postgres, stateName);
  const resumed = saved !== undefined && !saved.done;
  const cp: Checkpoint = resumed ? saved : freshCheckpoint();
  const estimateRow = (await db[auth](table).count({ n: '*' }).first()) as { n: string | number } | undefined;
  const estimate = Number(estimateRow?.n ?? 0);

  const readAuth = (after: KeyTuple | undefined) =>
    readChunk({
      db: db[auth],
      side: auth,
      translator,
      order: orders[auth],
      columns,
      after,
      upTo: undefined,
      limit: chunkSize,
    });
  /**
   * Reads for one chunk: the other side's rows of the range the authoritative chunk spans, and the next
   * authoritative chunk, at the same time. Started one chunk ahead, so reads overlap the hashing.
   */
  const fetchRange = (after: KeyTuple | undefined, authRows: Row[]) => {
    const last = authRows.length < chunkSize;
    const upTo = last ? undefined : lastGoodKey(translator, authRows, auth);
    const rows = Promise.all([
      readChunk({
        db: db[other],
        side: other,
        translator,
        order: orders[other],
        columns,
        after,
        upTo,
        limit: undefined,
      }),
      upTo ? readAuth(upTo) : Promise.resolve([] as Row[]),
    ]);
    // Awaited below; this only keeps a read that fails while an earlier chunk throws from going unhandled.
    rows.catch(() => undefined);
    return { authRows, upTo, last, rows };
  };
  const malformed = new Map<string, string>();
  let ahead = fetchRange(cp.after ?? undefined, await readAuth(cp.after ?? undefined));
  for (;;) {
    const { authRows, upTo, last } = ahead;
    const [otherRows, nextAuthRows] = await ahead.rows;
    if (!last) ahead = fetchRange(upTo, nextAuthRows);
    const a = entries(translator, authRows, auth, ignore, malformed);
    const o = entries(translator, otherRows, other, ignore, malformed);
    cp.chunks += 1;
    cp.authoritativeRows += a.size;
    cp.otherRows += o.size;
    let union = a.size;
    for (const k of o.keys()) if (!a.has(k)) union += 1;
    cp.rowsCompared += union;
    const equal = digest(a) === digest(o);
    metrics.chunks.inc({ table, result: equal ? 'equal' : 'different' });
    metrics.rows.inc({ table }, union);
    if (!equal) {
      cp.differentChunks += 1;
      for (const diff of diffEntries(a, o)) {
        cp.counts[diff.kind] += 1;
        if (cp.keys.length < maxKeys) cp.keys.push(diff.key);
        else cp.truncated = true;
      }
    }
    cp.after = upTo ?? null;
    cp.done = last;
    await writeState(options.postgres, stateName, cp);
    metrics.progress.set({ table }, estimate > 0 ? Math.min(1, cp.authoritativeRows / estimate) : 1);
    options.onProgress?.({ table, rows: cp.authoritativeRows, estimate });
    if (last) break;
  }

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

/** Key of the last row whose key translates (a malformed key cannot bound a range read). */
function lastGoodKey(translator: RowTranslator, rows: readonly Row[], side: Side): KeyTuple | undefined {
  for (let i = rows.length - 1; i >= 0; i--) {
    try {
      return keyOf(translator, rows[i] as Row, side);
    } catch (error) {
      if (!(error instanceof TranslationError)) throw error;
    }
  }
  return undefined;
}

function keyOf(translator: RowTranslator, row: Row, side: Side): KeyTuple {
  return translator.canonicalKey(
    translator.primaryKey.map((c) => row[c]),
    side,
  );
}

/**
 * keyText → canonical text of the normalised row. A row whose key or values cannot be translated is
 * put in `malformed` (its raw key → the reason) instead of aborting the verification.
 */
function entries(
  translator: RowTranslator,
  rows: Row[],
  side: Side,
  ignore: ReadonlySet<string>,
  malformed: Map<string, string>,
) {
  const map = new Map<string, string>();
  for (const row of rows) {
    try {
      const key = keyOf(translator, row, side);
      // A key the other side cannot hold can be neither compared nor synced there.
      translator.keyForSide(key, otherSide(side));
      map.set(keyText(key), canonicalJson(normalizeRow(translator, row, side, ignore)));
    } catch (error) {
      if (!(error instanceof TranslationError)) throw error;
      malformed.set(
        JSON.stringify(translator.primaryKey.map((c) => String(row[c]))),
        `${side}: ${error.message}`,
      );
    }
  }
  return map;
}

function* diffEntries(
  a: Map<string, string>,
  o: Map<string, string>,
): Generator<{ kind: DiffKind; key: KeyTuple }> {
  for (const [k, v] of a) {
    const ov = o.get(k);
    if (ov === undefined) yield { kind: DiffKind.Missing, key: JSON.parse(k) as KeyTuple };
    else if (ov !== v) yield { kind: DiffKind.Different, key: JSON.parse(k) as KeyTuple };
  }
  for (const k of o.keys()) if (!a.has(k)) yield { kind: DiffKind.Extra, key: JSON.parse(k) as KeyTuple };
}

function countKinds(diffs: readonly RowDiff[]): { missing: number; extra: number; different: number } {
  const counts = { missing: 0, extra: 0, different: 0 };
  for (const d of diffs) counts[d.kind] += 1;
  return counts;
}
