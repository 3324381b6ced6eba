import type { Knex } from 'knex';
import { otherSide, type Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator, TranslatorSet } from '../translate/types.js';
import { canonicalJson } from './canonical.js';
import { tablePlan } from './columns.js';
import { compareResults, type CompareResult, type RowDiff } from './compare.js';
import {
  keyText,
  outboxWatermark,
  pendingKeys,
  readByKeys,
  sleep,
  tablesPending,
  waitForSync,
  type WaitOptions,
} from './keys.js';
import type { ReadRun } from './types.js';

/** Why a difference is believed: how it was confirmed and what was ruled out. */
export interface Evidence {
  /** `key-reread`: the differing rows were re-read by key on both sides; `rerun`: the whole read was run again. */
  method: 'key-reread' | 'rerun';
  /**
   * Re-reads after the first comparison that showed the same difference, each with nothing pending for
   * those keys (or the tables read) in either outbox, before and after, and the authoritative answer
   * the same on both sides of the other side's read.
   */
  reruns: number;
  /** Re-reads made in all (some may have raced writes and did not count). */
  attempts: number;
  /** Whether the keys (or tables) were pending in an outbox when the difference was first seen. */
  pendingAtFirst: boolean;
}

/** A difference's signature: the same difference seen twice has the same one. */
function signature(diffs: readonly RowDiff[]): string {
  return canonicalJson(
    diffs
      .map((d) =>
        canonicalJson([d.kind, d.key, d.columns, d.kind === 'different' ? null : [d.authoritative, d.other]]),
      )
      .sort(),
  );
}

/** One translator as a set (re-reads by key compare one table's rows). */
function single(translator: RowTranslator): TranslatorSet {
  return {
    has: (name) => name === translator.table,
    table: () => translator,
    tableNames: () => [translator.table],
  };
}

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
  /**
   * Re-reads that must show the same difference before it is confirmed (at most three times as many are
   * made). @default 1
   */
  rounds?: number;
  /**
   * Read the authoritative side again after the other side and count a re-read only when both
   * authoritative reads agree (a write that committed and synced in between is seen). @default false
   */
  stable?: boolean;
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
  /** Keys that differed, but not in `rounds` settled re-reads in a row (keyText). */
  unsettled: Set<string>;
  /** Evidence of each confirmed key (keyText). */
  evidence: Map<string, Evidence>;
  /** Rows read on both sides for the re-reads. */
  reads: number;
}

/**
 * Confirms differences on keys: waits (bounded) for keys pending in either outbox to sync, re-reads both
 * sides by key (authoritative first) and compares again; keys written meanwhile are left out. With
 * `rounds` > 1 a key is confirmed only when that many settled re-reads show the same difference. What
 * remains is a real difference, not replication lag.
 */
export async function confirmKeys(input: ConfirmInput): Promise<ConfirmResult> {
  const { db, translator, authoritativeSide: auth, ignore } = input;
  const table = translator.table;
  const other = otherSide(auth);
  const rounds = Math.max(1, input.rounds ?? 1);
  const maxAttempts = rounds === 1 ? 1 : rounds * 3;
  const deadline = Date.now() + input.wait.timeoutMs;
  // Both outboxes: after a flip the newer write of a key may be pending on the side that did not serve.
  const outboxes = [db[auth], db[other]];
  const rechecked = await pendingKeys(outboxes, table, input.keys);
  if (rechecked.size > 0) input.onPending?.(rechecked.size);
  const columns = [...new Set([...translator.primaryKey, ...input.columns])].filter(
    (c) => !ignore.has(c) || translator.primaryKey.includes(c),
  );
  const plan = { ...tablePlan(table, columns), keys: [{ table, columns: translator.primaryKey }] };
  const translators = single(translator);
  const streak = new Map<string, { sig: string; n: number }>();
  const confirmed = new Map<string, RowDiff>();
  const evidence = new Map<string, Evidence>();
  let open = [...input.keys];
  let timedOut = new Set<string>();
  let inFlight = new Set<string>();
  let reads = 0;
  let attempts = 0;
  while (open.length > 0 && attempts < maxAttempts) {
    attempts += 1;
    const pendingNow = attempts === 1 ? rechecked : await pendingKeys(outboxes, table, open);
    const waiting = open.filter((k) => pendingNow.has(keyText(k)));
    timedOut =
      waiting.length > 0
        ? await waitForSync(outboxes, table, waiting, {
            ...input.wait,
            timeoutMs: Math.max(0, deadline - Date.now()),
          })
        : new Set<string>();
    const readable = open.filter((k) => !timedOut.has(keyText(k)));
    if (readable.length === 0) break;
    const authRows = await readByKeys(db[auth], translator, auth, readable, columns);
    const otherRows = await readByKeys(db[other], translator, other, readable, columns);
    const again = input.stable ? await readByKeys(db[auth], translator, auth, readable, columns) : undefined;
    reads += authRows.length + otherRows.length + (again?.length ?? 0);
    const compared = compareResults({
      plan,
      translators,
      authoritativeSide: auth,
      otherSide: other,
      authoritativeRows: authRows,
      otherRows,
    });
    const moved = again ? changedKeys(plan, translators, auth, authRows, again) : new Set<string>();
    inFlight = new Set([...(await pendingKeys(outboxes, table, readable))].concat([...moved]));
    const byKey = new Map(compared.diffs.map((d) => [keyText(d.key as KeyTuple), d]));
    const next: KeyTuple[] = open.filter((k) => timedOut.has(keyText(k)));
    for (const k of readable) {
      const t = keyText(k);
      if (inFlight.has(t)) {
        next.push(k);
        continue;
      }
      const d = byKey.get(t);
      if (!d) {
        streak.delete(t);
        continue;
      }
      const sig = signature([d]);
      const s = streak.get(t);
      const n = s?.sig === sig ? s.n + 1 : 1;
      streak.set(t, { sig, n });
      if (n >= rounds) {
        confirmed.set(t, d);
        evidence.set(t, { method: 'key-reread', reruns: n, attempts, pendingAtFirst: rechecked.has(t) });
      } else next.push(k);
    }
    open = next;
    if (Date.now() >= deadline) break;
  }
  const left = new Set(open.map(keyText));
  const unsettled = new Set([...left].filter((t) => !timedOut.has(t) && !inFlight.has(t)));
  return {
    diffs: [...confirmed.values()],
    rechecked,
    timedOut: new Set([...timedOut].filter((t) => left.has(t))),
    inFlight: new Set([...inFlight].filter((t) => left.has(t))),
    unsettled,
    evidence,
    reads,
  };
}

/** Keys whose row changed between two reads of the same side (or appeared, or went). */
function changedKeys(
  plan: Parameters<typeof compareResults>[0]['plan'],
  translators: TranslatorSet,
  side: Side,
  first: readonly Row[],
  second: readonly Row[],
): Set<string> {
  const c = compareResults({
    plan,
    translators,
    authoritativeSide: side,
    otherSide: side,
    authoritativeRows: first,
    otherRows: second,
  });
  return new Set(c.diffs.map((d) => keyText(d.key as KeyTuple)));
}

/** A run and the side it ran on. */
export interface SideRun {
  side: Side;
  run: ReadRun;
}

export interface RerunInput {
  /** Outboxes of both databases, the authoritative one first. */
  outboxes: readonly [Knex, Knex];
  /**
   * Whether nothing the read depends on is pending in either outbox, given the runs seen so far (a keyed
   * result checks its rows' keys, other tables are checked whole).
   */
  quiet(runs: readonly SideRun[]): Promise<boolean>;
  /** Called when something the read depends on is pending and the wait for its sync begins. */
  onPending?: () => void;
  /** Tables the read involves (null: any table), for the wait until the outboxes drained past the read. */
  tables: readonly string[] | null;
  authoritativeSide: Side;
  /** The runs that showed the difference first (served and other side). */
  seen: readonly SideRun[];
  run(side: Side): Promise<ReadRun>;
  /** Compares a run of the authoritative side with a run of `side` (plans the columns from their metadata). */
  compare(authoritative: ReadRun, against: ReadRun, side: Side): Promise<CompareResult>;
  /** Re-runs that must show the same difference before it is confirmed (at most three times as many are made). */
  rounds: number;
  wait: WaitOptions;
}

export interface RerunResult {
  /** `confirmed`: the difference held in `rounds` settled re-runs; `lag`: a re-run matched; `unsettled`: writes kept racing the read. */
  outcome: 'confirmed' | 'lag' | 'unsettled';
  /** The differences of the last settled re-run (confirmed only). */
  compared: CompareResult | null;
  /** The runs that confirmed it (for the record and replay). */
  runs: { authoritative: ReadRun; other: ReadRun } | null;
  evidence: Evidence;
  /** Queries run on both sides for the re-runs. */
  reads: number;
}

/**
 * Confirms a difference of a read without keys (or with differences in joined and computed columns) by
 * running it again on both sides once both outboxes have drained past it. A re-run that matches makes
 * it lag. A re-run counts towards confirmation only when it is settled: nothing it depends on pending in
 * either outbox before and after it, and the authoritative side answering the same before and after the
 * other side's run. The difference is confirmed when `rounds` settled re-runs show it the same.
 */
export async function confirmByRerun(input: RerunInput): Promise<RerunResult> {
  const { outboxes, tables } = input;
  const auth = input.authoritativeSide;
  const other = otherSide(auth);
  const deadline = Date.now() + input.wait.timeoutMs;
  const maxAttempts = input.rounds * 3;
  const seen = [...input.seen];
  const pendingAtFirst = !(await input.quiet(seen));
  if (pendingAtFirst) input.onPending?.();
  let watermarks = await Promise.all(outboxes.map(outboxWatermark));
  let attempts = 0;
  let reads = 0;
  let streak: { sig: string; n: number } | undefined;
  const evidence = (n: number): Evidence => ({ method: 'rerun', reruns: n, attempts, pendingAtFirst });
  while (attempts < maxAttempts && Date.now() < deadline) {
    // Entries written before the read (and before the previous re-run) must have synced first.
    while ((await tablesPending(outboxes, tables, watermarks)) && Date.now() < deadline)
      await sleep(input.wait.intervalMs);
    attempts += 1;
    const before = await input.quiet(seen);
    const first = await input.run(auth);
    const otherRun = await input.run(other);
    const second = await input.run(auth);
    reads += 3;
    seen.push({ side: auth, run: first }, { side: other, run: otherRun }, { side: auth, run: second });
    const compared = await input.compare(first, otherRun, other);
    if (compared.diffs.length === 0)
      return { outcome: 'lag', compared: null, runs: null, evidence: evidence(0), reads };
    const settled =
      before && (await input.compare(first, second, auth)).diffs.length === 0 && (await input.quiet(seen));
    if (!settled) {
      // Raced by a write: this re-run tells nothing either way.
      watermarks = await Promise.all(outboxes.map(outboxWatermark));
      continue;
    }
    const sig = signature(compared.diffs);
    streak = streak?.sig === sig ? { sig, n: streak.n + 1 } : { sig, n: 1 };
    if (streak.n >= input.rounds)
      return {
        outcome: 'confirmed',
        compared,
        runs: { authoritative: first, other: otherRun },
        evidence: evidence(streak.n),
        reads,
      };
  }
  return { outcome: 'unsettled', compared: null, runs: null, evidence: evidence(streak?.n ?? 0), reads };
}
