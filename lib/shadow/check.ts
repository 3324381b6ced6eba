import type { Knex } from 'knex';
import type { DualWriteConfig } from '../config/schema.js';
import { DismissReason, type RecordedQuery } from '../report/records.js';
import type { Redactor } from '../report/redact.js';
import { otherSide, type Side } from '../stage/stage.js';
import type { KeyTuple, TranslatorSet } from '../translate/types.js';
import { planResult, type RelationNames, type ResultPlan } from './columns.js';
import { compareResults, DiffKind, type CompareResult, type RowDiff } from './compare.js';
import { confirmByRerun, confirmKeys, type Evidence, type SideRun } from './confirm.js';
import { nonDeterministic, unorderedLimit } from './determinism.js';
import { identifiersOf, tablesNamed } from './fingerprint.js';
import { keyText, pendingKeys, tablesPending } from './keys.js';
import { encodeBindings, ignoredColumns } from './record.js';
import type { ReadObservation, ReadRun } from './types.js';

export interface CheckContext {
  /** The reader's own connections (outbox look-ups, re-reads by key). */
  db: Record<Side, Knex>;
  translators: TranslatorSet | undefined;
  relations: RelationNames;
  config: Readonly<DualWriteConfig>;
  redactor: Redactor;
  /** Time this read on both sides, back to back, for the latency per query shape. */
  timed: boolean;
  /** Which side runs first in the timed pair (alternated by the caller). */
  authoritativeFirst: boolean;
  onPending(table: string, keys: number): void;
  /** Whether a difference was confirmed and recorded before (it is then counted again, not re-confirmed). */
  known?(diff: RowDiff): boolean;
}

interface Common {
  /** Both sides' times of the timed pair. */
  pair: Record<Side, number> | null;
  /** Queries (re-runs) or rows (re-reads by key) read to confirm a difference. */
  confirmReads: number;
  /** Keys (or reads) that were pending in an outbox and waited for. */
  rechecked: number;
}

export type CheckOutcome = Common &
  (
    | { result: 'skipped'; detail: string }
    | { result: 'match' }
    /** Every difference was confirmed and recorded before: seen again. */
    | { result: 'repeated'; diffs: RowDiff[] }
    | {
        result: 'mismatch';
        diffs: RowDiff[];
        evidence: (d: RowDiff) => Evidence;
        wasPending: (d: RowDiff) => boolean;
        /** Result column → source `table.column`, for redaction. */
        sources: Map<string, string>;
        query: Partial<Record<Side, RecordedQuery>>;
        /** Differences of the same read that went away (lag) or could not be settled. */
        dismissed: { reason: DismissReason; count: number } | null;
      }
    | {
        result: 'dismissed';
        reason: DismissReason;
        example: RowDiff;
        count: number;
        evidence: Evidence | null;
      }
  );

/** The query as run on each side for the record; bindings left out when the SQL names a sensitive column. */
function recordedQuery(
  redactor: Redactor,
  runs: Partial<Record<Side, Pick<ReadRun, 'sql' | 'bindings'>>>,
): Partial<Record<Side, RecordedQuery>> {
  const out: Partial<Record<Side, RecordedQuery>> = {};
  for (const [side, run] of Object.entries(runs) as [Side, Pick<ReadRun, 'sql' | 'bindings'>][]) {
    const sensitive = [...identifiersOf(run.sql)].some((id) => redactor.isSensitive(null, id));
    out[side] = { sql: run.sql, bindings: sensitive ? null : encodeBindings(run.bindings) };
  }
  return out;
}

/**
 * Compares one observed read with the other side and confirms any difference before it counts:
 * non-deterministic reads are skipped; differences on rows of one table are re-read by key; others
 * (no key, joined or computed columns) are confirmed by running the whole read again.
 */
export async function checkRead(obs: ReadObservation, ctx: CheckContext): Promise<CheckOutcome> {
  const auth = obs.servedBy;
  const other = otherSide(auth);
  const common: Common = { pair: null, confirmReads: 0, rechecked: 0 };
  const volatile = nonDeterministic(obs.sql);
  if (volatile) return { ...common, result: 'skipped', detail: volatile };

  let otherRun: ReadRun;
  if (ctx.timed) {
    const [first, second] = ctx.authoritativeFirst ? [auth, other] : [other, auth];
    const a = await obs.run(first);
    const b = await obs.run(second);
    common.pair = { [first]: a.ms, [second]: b.ms } as Record<Side, number>;
    otherRun = first === other ? a : b;
  } else otherRun = await obs.run(other);
  const served: ReadRun = {
    rows: obs.rows,
    fields: obs.fields ?? null,
    ms: obs.latencyMs,
    sql: obs.sql,
    bindings: obs.bindings ?? [],
  };

  const { config: cfg, translators } = ctx;
  const ignored = (table: string | null, column: string): boolean =>
    table !== null && cfg.tables[table]?.columns?.[column]?.ignoreInCompare === true;
  const compareRuns = async (
    a: ReadRun,
    b: ReadRun,
    bSide: Side,
  ): Promise<{ plan: ResultPlan; result: CompareResult }> => {
    await ctx.relations.load(ctx.db.postgres, [a.fields, b.fields]);
    const plan = planResult({
      authoritative: a,
      other: b,
      table: obs.table,
      translators,
      relations: ctx.relations.map,
      ignored,
    });
    const result = compareResults({
      plan,
      translators,
      authoritativeSide: auth,
      otherSide: bSide,
      authoritativeRows: a.rows,
      otherRows: b.rows,
    });
    return { plan, result };
  };

  const { plan, result: first } = await compareRuns(served, otherRun, other);
  if (first.diffs.length === 0) return { ...common, result: 'match' };
  if (ctx.known && first.diffs.every((d) => ctx.known?.(d)))
    return { ...common, result: 'repeated', diffs: first.diffs };

  const sources = new Map<string, string>();
  for (const c of plan.columns) if (c.source) sources.set(c.name, `${c.source.table}.${c.source.column}`);
  const wait = { timeoutMs: cfg.shadow.recheckTimeoutMs, intervalMs: cfg.shadow.recheckIntervalMs };
  const rounds = cfg.shadow.confirmRuns;
  const keyTable = first.key?.table;
  const named = translators ? tablesNamed(`${obs.sql}\n${otherRun.sql}`, translators.tableNames()) : [];
  // A row missing from a join (or a read filtered on other tables) may be missing for a reason outside
  // the row: only a read of its own table can be confirmed by reading the key.
  const ownTableOnly = named.every((t) => t === keyTable);
  const ownColumns = (d: RowDiff): boolean =>
    d.kind === DiffKind.Different
      ? d.columns.every((c) => c.source?.startsWith(`${keyTable}.`) === true)
      : ownTableOnly;
  if (keyTable && translators && first.diffs.every(ownColumns)) {
    const translator = translators.table(keyTable);
    for (const c of translator.columns) if (!sources.has(c)) sources.set(c, `${keyTable}.${c}`);
    const confirmed = await confirmKeys({
      db: ctx.db,
      translator,
      authoritativeSide: auth,
      keys: first.diffs.map((d) => d.key as KeyTuple),
      columns: plan.columns
        .filter((c) => c.source?.table === keyTable)
        .map((c) => c.source?.column as string),
      ignore: ignoredColumns(cfg, keyTable),
      wait,
      rounds,
      stable: true,
      onPending: (keys) => ctx.onPending(keyTable, keys),
    });
    common.confirmReads = confirmed.reads;
    common.rechecked = confirmed.rechecked.size;
    const unsettled = confirmed.unsettled.size + confirmed.timedOut.size + confirmed.inFlight.size;
    const dismissedCount = first.diffs.length - confirmed.diffs.length;
    const dismissedReason = unsettled > 0 ? DismissReason.Unsettled : DismissReason.Lag;
    if (confirmed.diffs.length === 0) {
      return {
        ...common,
        result: 'dismissed',
        reason: dismissedReason,
        example: first.diffs[0] as RowDiff,
        count: first.diffs.length,
        evidence: {
          method: 'key-reread',
          reruns: 0,
          attempts: Math.max(1, ...[...confirmed.evidence.values()].map((e) => e.attempts)),
          pendingAtFirst: confirmed.rechecked.size > 0,
        },
      };
    }
    const evidenceOf = (d: RowDiff): Evidence =>
      confirmed.evidence.get(keyText(d.key as KeyTuple)) ?? {
        method: 'key-reread',
        reruns: rounds,
        attempts: rounds,
        pendingAtFirst: false,
      };
    return {
      ...common,
      result: 'mismatch',
      diffs: confirmed.diffs,
      evidence: evidenceOf,
      wasPending: (d) => confirmed.rechecked.has(keyText(d.key as KeyTuple)),
      sources,
      query: recordedQuery(ctx.redactor, { [auth]: served, [other]: otherRun }),
      dismissed: dismissedCount > 0 ? { reason: dismissedReason, count: dismissedCount } : null,
    };
  }

  if (!first.key && unorderedLimit(obs.sql)) {
    return {
      ...common,
      result: 'dismissed',
      reason: DismissReason.UnorderedLimit,
      example: first.diffs[0] as RowDiff,
      count: first.diffs.length,
      evidence: null,
    };
  }
  const tables = [
    ...new Set([
      ...named,
      ...(obs.table && translators?.has(obs.table) ? [obs.table] : []),
      ...plan.columns.flatMap((c) => c.source?.table ?? []),
    ]),
  ];
  const outboxes: [Knex, Knex] = [ctx.db[auth], ctx.db[other]];
  // A keyed result depends on its rows' keys (a hot table stays comparable); other tables count whole.
  const keyed = first.key;
  const keyTranslator = keyed && translators ? translators.table(keyed.table) : undefined;
  const otherKeyNames = keyed?.columns.map((n) => plan.columns.find((c) => c.name === n)?.otherName ?? n);
  const quiet = async (runs: readonly SideRun[]): Promise<boolean> => {
    const whole = keyTranslator ? tables.filter((t) => t !== keyTranslator.table) : tables;
    if (
      (whole.length > 0 || !keyTranslator) &&
      (await tablesPending(outboxes, whole.length > 0 ? whole : null))
    )
      return false;
    if (!keyTranslator || !keyed || !otherKeyNames) return true;
    const keys = new Map<string, KeyTuple>();
    for (const { side, run } of runs) {
      // The other side's rows carry its column names.
      const names = side === auth ? keyed.columns : otherKeyNames;
      for (const row of run.rows) {
        const values = names.map((n) => row[n]);
        if (values.some((v) => v === null || v === undefined)) continue;
        const k = keyTranslator.canonicalKey(values, side);
        keys.set(keyText(k), k);
      }
    }
    return (await pendingKeys(outboxes, keyTranslator.table, [...keys.values()])).size === 0;
  };
  const rerun = await confirmByRerun({
    outboxes,
    quiet,
    onPending: () => ctx.onPending(keyed?.table ?? obs.table ?? tables[0] ?? '(raw)', 0),
    tables: tables.length > 0 ? tables : null,
    authoritativeSide: auth,
    seen: [
      { side: auth, run: served },
      { side: other, run: otherRun },
    ],
    run: (side) => obs.run(side),
    compare: async (a, b, side) => (await compareRuns(a, b, side)).result,
    rounds,
    wait,
  });
  common.confirmReads = rerun.reads;
  common.rechecked = rerun.evidence.pendingAtFirst ? 1 : 0;
  if (rerun.outcome !== 'confirmed' || !rerun.compared || !rerun.runs) {
    return {
      ...common,
      result: 'dismissed',
      reason: rerun.outcome === 'lag' ? DismissReason.Lag : DismissReason.Unsettled,
      example: first.diffs[0] as RowDiff,
      count: first.diffs.length,
      evidence: rerun.evidence,
    };
  }
  return {
    ...common,
    result: 'mismatch',
    diffs: rerun.compared.diffs,
    evidence: () => rerun.evidence,
    wasPending: () => rerun.evidence.pendingAtFirst,
    sources,
    query: recordedQuery(ctx.redactor, { [auth]: rerun.runs.authoritative, [other]: rerun.runs.other }),
    dismissed: null,
  };
}
