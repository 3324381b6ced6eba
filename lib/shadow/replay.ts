import type { Knex } from 'knex';
import type { DualWriteConfig } from '../config/schema.js';
import { driverResult } from '../dialect/results.js';
import { runObserved } from '../handle/knex-internals.js';
import { isConfirmed, type MismatchRecord, type RecordedQuery } from '../report/records.js';
import { createRedactor } from '../report/redact.js';
import type { Side } from '../stage/stage.js';
import type { KeyTuple, TranslatorSet } from '../translate/types.js';
import { checkRead } from './check.js';
import { RelationNames } from './columns.js';
import { canonicalJson } from './canonical.js';
import { decodeBindings } from './record.js';
import type { ReadObservation, ReadRun } from './types.js';

export interface ReplayOptions {
  config: Readonly<DualWriteConfig>;
  db: Record<Side, Knex>;
  translators: TranslatorSet;
  records: readonly MismatchRecord[];
}

/** What replaying one recorded difference found. */
export interface ReplayResult {
  table: string | null;
  key: KeyTuple | null;
  kind: MismatchRecord['kind'];
  fingerprint: string | null;
  /** `fixed`: both sides answer the same now; `differs`: the difference is confirmed again; `unsettled`: writes raced every re-run; `skipped`: nothing to re-run (no key, bindings withheld). */
  outcome: 'fixed' | 'differs' | 'unsettled' | 'skipped';
  /** Differences found now (differs), or why it was skipped. */
  differences: number;
  detail: string;
}

/** Runs recorded SQL again on one side, timed and with its field metadata, like the handle does. */
async function runRecorded(db: Knex, side: Side, query: RecordedQuery): Promise<ReadRun> {
  const bindings = decodeBindings(query.bindings ?? []);
  const { result, response, ms } = await runObserved(db.raw(query.sql, bindings as Knex.RawBinding));
  const { rows, fields } = driverResult[side](response ?? result);
  return { rows, fields, ms, sql: query.sql, bindings };
}

/** A key read of the record's row on one side (a builder, so its field metadata come along). */
async function runKeyRead(
  db: Knex,
  side: Side,
  translators: TranslatorSet,
  table: string,
  key: KeyTuple,
): Promise<ReadRun> {
  const t = translators.table(table);
  const values = t.keyForSide(key, side);
  const query = db(table).select(t.columns as string[]);
  t.primaryKey.forEach((c, i) => query.where(c, values[i] as Knex.Value));
  const { sql, bindings } = query.toSQL();
  const { result, response, ms } = await runObserved(query);
  return {
    rows: result as Record<string, unknown>[],
    fields: driverResult[side](response).fields,
    ms,
    sql,
    bindings,
  };
}

/** The read a record can be re-run as: its recorded query when its bindings were kept, else its key. */
function replayable(
  record: MismatchRecord,
  opts: ReplayOptions,
): ((side: Side) => Promise<ReadRun>) | string {
  const q = record.query;
  if (q?.mysql && q.postgres && q.mysql.bindings !== null && q.postgres.bindings !== null) {
    const byside = { mysql: q.mysql, postgres: q.postgres };
    return (side) => runRecorded(opts.db[side], side, byside[side]);
  }
  const table = record.keyTable ?? record.table;
  if (record.key && table && opts.translators.has(table)) {
    const key = record.key;
    return (side) => runKeyRead(opts.db[side], side, opts.translators, table, key);
  }
  return record.query
    ? 'the query names a sensitive column: its bindings were not recorded, and the result has no key'
    : 'the record has neither a query nor a key';
}

/**
 * Re-runs recorded mismatching reads now, through the same comparison and confirmation as live shadow
 * reads (current config and translators): after a mapping was fixed, each should come out `fixed`.
 * Each distinct query (or key) is run once; dismissed records are left out.
 */
export async function replayMismatches(opts: ReplayOptions): Promise<ReplayResult[]> {
  const relations = new RelationNames();
  const redactor = createRedactor(opts.config);
  const done = new Map<string, Omit<ReplayResult, 'table' | 'key' | 'kind' | 'fingerprint'>>();
  const out: ReplayResult[] = [];
  for (const record of opts.records.filter(isConfirmed)) {
    const base = { table: record.table, key: record.key, kind: record.kind, fingerprint: record.fingerprint };
    const run = replayable(record, opts);
    if (typeof run === 'string') {
      out.push({ ...base, outcome: 'skipped', differences: 0, detail: run });
      continue;
    }
    const id = canonicalJson(
      record.query?.mysql?.bindings != null ? record.query : [record.keyTable ?? record.table, record.key],
    );
    const seen = done.get(id);
    if (seen) {
      out.push({ ...base, ...seen });
      continue;
    }
    const auth = record.authoritativeSide;
    const served = await run(auth);
    const observation: ReadObservation = {
      table: record.query ? record.table : (record.keyTable ?? record.table),
      sql: served.sql,
      bindings: served.bindings,
      servedBy: auth,
      rows: served.rows,
      fields: served.fields,
      latencyMs: served.ms,
      context: undefined,
      at: Date.now(),
      run,
    };
    const outcome = await checkRead(observation, {
      db: opts.db,
      translators: opts.translators,
      relations,
      config: opts.config,
      redactor,
      timed: false,
      authoritativeFirst: true,
      onPending: () => undefined,
    });
    const result: Omit<ReplayResult, 'table' | 'key' | 'kind' | 'fingerprint'> =
      outcome.result === 'mismatch' || outcome.result === 'repeated'
        ? {
            outcome: 'differs',
            differences: outcome.diffs.length,
            detail: 'the difference is confirmed again',
          }
        : outcome.result === 'dismissed' && outcome.reason !== 'lag'
          ? { outcome: 'unsettled', differences: outcome.count, detail: `not settled (${outcome.reason})` }
          : outcome.result === 'skipped'
            ? { outcome: 'skipped', differences: 0, detail: `non-deterministic (${outcome.detail})` }
            : { outcome: 'fixed', differences: 0, detail: 'both sides answer the same' };
    done.set(id, result);
    out.push({ ...base, ...result });
  }
  return out;
}
