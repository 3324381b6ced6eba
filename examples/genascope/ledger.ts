import type { Knex } from 'knex';
import type { GenascopeTable } from './tables.js';

// The proof that nothing was lost: every write the API acknowledged, folded into the state each row
// must have at the end, checked against a database.

/** One write the API acknowledged (2xx): what the database must hold afterwards. */
export interface LedgerEntry {
  seq: number;
  op: 'create' | 'update' | 'delete';
  table: GenascopeTable;
  id: string;
  /** Scalar column values the write set (compared as text). */
  fields: Record<string, string | null>;
  at: number;
}

/** Expected final state of one row, folded from the ledger. */
export interface Expectation {
  table: GenascopeTable;
  id: string;
  exists: boolean;
  fields: Record<string, string | null>;
}

export function expectations(ledger: readonly LedgerEntry[]): Expectation[] {
  const byKey = new Map<string, Expectation>();
  for (const e of [...ledger].sort((a, b) => a.seq - b.seq)) {
    const key = `${e.table}/${e.id}`;
    const current = byKey.get(key) ?? { table: e.table, id: e.id, exists: true, fields: {} };
    if (e.op === 'delete') {
      current.exists = false;
      current.fields = {};
    } else {
      current.exists = true;
      Object.assign(current.fields, e.fields);
    }
    byKey.set(key, current);
  }
  return [...byKey.values()];
}

export interface LostWrite {
  table: string;
  id: string;
  problem: string;
}

/** Checks every acknowledged write against one database; returns what is missing or wrong. */
export async function findLostWrites(db: Knex, ledger: readonly LedgerEntry[]): Promise<LostWrite[]> {
  const lost: LostWrite[] = [];
  const byTable = new Map<string, Expectation[]>();
  for (const e of expectations(ledger)) byTable.set(e.table, [...(byTable.get(e.table) ?? []), e]);
  for (const [table, expected] of byTable) {
    for (let i = 0; i < expected.length; i += 500) {
      const chunk = expected.slice(i, i + 500);
      const rows = (await db(table).whereIn(
        'id',
        chunk.map((e) => e.id),
      )) as Record<string, unknown>[];
      const found = new Map(rows.map((r) => [String(r['id']), r]));
      for (const e of chunk) {
        const row = found.get(e.id);
        if (!e.exists) {
          if (row) lost.push({ table, id: e.id, problem: 'deleted row is present' });
          continue;
        }
        if (!row) {
          lost.push({ table, id: e.id, problem: 'row is missing' });
          continue;
        }
        for (const [column, value] of Object.entries(e.fields)) {
          const actual = row[column] === null || row[column] === undefined ? null : String(row[column]);
          if (actual !== value) {
            lost.push({ table, id: e.id, problem: `${column} is ${actual} instead of ${value}` });
          }
        }
      }
    }
  }
  return lost;
}
