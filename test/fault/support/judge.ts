import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';

/** One write of an app's ledger; `end` is Infinity while in doubt (no answer: killed, or failed). */
export interface LedgerWrite {
  token: string;
  kind: 'upsert' | 'insert' | 'txn' | 'delete';
  key: number;
  begin: number;
  end: number;
  acked: boolean;
  /** Id the insert (or the transaction's insert) was given. */
  id: string;
  error?: string;
}

export function readLedgers(files: readonly string[]): LedgerWrite[] {
  const byToken = new Map<string, LedgerWrite>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // a process killed before it opened its ledger
    }
    for (const line of text.split('\n')) {
      const parts = line.split(' ');
      const [tag, token] = parts;
      if (!token) continue;
      if (tag === 'B') {
        byToken.set(token, {
          token,
          kind: parts[2] as LedgerWrite['kind'],
          key: Number(parts[3]),
          begin: Number(parts[4]),
          end: Number.POSITIVE_INFINITY,
          acked: false,
          id: '',
        });
      } else if (tag === 'A') {
        const w = byToken.get(token);
        if (w) Object.assign(w, { end: Number(parts[2]), acked: true, id: parts[3] ?? '' });
      } else if (tag === 'E') {
        const w = byToken.get(token);
        if (w) w.error = parts.slice(3).join(' ');
      }
    }
  }
  return [...byToken.values()];
}

export interface Verdict {
  acknowledged: number;
  failed: number;
  /** Acknowledged writes whose effect is not in the final state and was not superseded. */
  lost: number;
  /** Rows that differ between MySQL and PostgreSQL. */
  differences: number;
  /** Longest time an acknowledged write took, ms. */
  maxPauseMs: number;
  details: string[];
  /** A few messages of writes the app was told failed (in doubt: they may have committed). */
  errors: string[];
}

type Rows = Map<string, string>;

async function rowsOf(db: Knex, table: string, valueColumn: string): Promise<Rows> {
  const rows = (await db(table).select('id', valueColumn)) as Record<string, unknown>[];
  return new Map(rows.map((r) => [String(r['id']), String(r[valueColumn])]));
}

function compare(a: Rows, b: Rows, table: string, details: string[]): number {
  let n = 0;
  for (const id of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(id) !== b.get(id)) {
      n++;
      if (details.length < 20) details.push(`${table} ${id}: mysql ${a.get(id)} / postgres ${b.get(id)}`);
    }
  }
  return n;
}

/**
 * Judges the final state read straight from both databases against the ledgers. A counter must hold
 * the value of a write that may be the last one: no acknowledged write began after it ended (a delete
 * leaves it absent). Every acknowledged insert must be there with its payload, under its own id.
 */
export async function judge(
  writes: readonly LedgerWrite[],
  dbs: { mysql: Knex; pg: Knex },
  authoritative: 'mysql' | 'postgres',
): Promise<Verdict> {
  const details: string[] = [];
  const m = {
    counters: await rowsOf(dbs.mysql, 'counters', 'v'),
    events: await rowsOf(dbs.mysql, 'events', 'payload'),
  };
  const p = {
    counters: await rowsOf(dbs.pg, 'counters', 'v'),
    events: await rowsOf(dbs.pg, 'events', 'payload'),
  };
  const differences =
    compare(m.counters, p.counters, 'counters', details) + compare(m.events, p.events, 'events', details);
  const truth = authoritative === 'mysql' ? m : p;
  const acked = writes.filter((w) => w.acked);
  let lost = 0;
  // Counters: per key, the final value's write must not have ended before an acknowledged write began.
  const byKey = new Map<number, LedgerWrite[]>();
  for (const w of writes) {
    if (w.kind === 'insert') continue;
    const list = byKey.get(w.key);
    if (list) list.push(w);
    else byKey.set(w.key, [w]);
  }
  const byToken = new Map(writes.map((w) => [w.token, w]));
  for (const [key, list] of byKey) {
    const lastAckedBegin = Math.max(
      ...list.filter((w) => w.acked).map((w) => w.begin),
      Number.NEGATIVE_INFINITY,
    );
    if (lastAckedBegin === Number.NEGATIVE_INFINITY) continue;
    const value = truth.counters.get(String(key));
    const candidates =
      value === undefined
        ? list.filter((w) => w.kind === 'delete')
        : [byToken.get(value)].filter((w) => w?.key === key);
    const ok = candidates.some((w) => w !== undefined && w.end >= lastAckedBegin);
    if (!ok) {
      lost++;
      if (details.length < 40)
        details.push(`counters ${key}: holds ${value ?? 'nothing'}, an acknowledged write began after it`);
    }
  }
  // Events: each acknowledged insert under its id with its payload; no id acknowledged twice.
  const seen = new Map<string, string>();
  for (const w of acked) {
    if (w.kind !== 'insert' && w.kind !== 'txn') continue;
    if (seen.has(w.id)) {
      lost++;
      details.push(`events ${w.id}: acknowledged to ${seen.get(w.id)} and ${w.token}`);
      continue;
    }
    seen.set(w.id, w.token);
    if (truth.events.get(w.id) !== w.token) {
      lost++;
      if (details.length < 40)
        details.push(`events ${w.id}: holds ${truth.events.get(w.id) ?? 'nothing'}, acknowledged ${w.token}`);
    }
  }
  const maxPauseMs = Math.max(0, ...acked.map((w) => w.end - w.begin));
  return {
    acknowledged: acked.length,
    failed: writes.filter((w) => !w.acked && w.error !== undefined).length,
    lost,
    differences,
    maxPauseMs: Math.round(maxPauseMs),
    details,
    errors: [...new Set(writes.flatMap((w) => (w.error ? [w.error.slice(0, 160)] : [])))].slice(0, 4),
  };
}
