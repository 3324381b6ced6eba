import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row } from '../translate/types.js';
import type { ColumnDiff, DiffKind } from '../shadow/compare.js';
import type { Evidence } from '../shadow/confirm.js';

/** Why a shadow-read difference was set aside instead of counted. */
export const DismissReason = {
  /** A re-run (or re-read by key) matched once the outboxes had drained: replication lag. */
  Lag: 'lag',
  /** Writes kept racing the re-runs (or the keys stayed pending): it could not be settled either way. */
  Unsettled: 'unsettled',
  /** LIMIT without ORDER BY and no key in the result: each server picks its own rows. */
  UnorderedLimit: 'unordered-limit',
} as const;
export type DismissReason = (typeof DismissReason)[keyof typeof DismissReason];

/** A query as run on one side, kept so `dualwrite shadow replay` can run it again. */
export interface RecordedQuery {
  sql: string;
  /** Bindings (Buffers as `{ $hex }`, dates as `{ $date }`); null when the SQL names a sensitive column. */
  bindings: unknown;
}

/** One difference found by a shadow read or a verification, as kept in the JSON-lines log. Values are redacted. */
export interface MismatchRecord {
  /** ISO time the difference was confirmed. */
  at: string;
  source: 'shadow' | 'verify';
  table: string | null;
  /** Canonical primary key, or null for results without a key. */
  key: KeyTuple | null;
  kind: DiffKind;
  /** Differing columns with both sides' normalised values (sensitive ones hashed or redacted). */
  columns: ColumnDiff[];
  /** Both sides' normalised rows (redacted), for side-by-side examples. */
  rows: { authoritative: Row | null; other: Row | null };
  authoritativeSide: Side;
  /** Query-shape fingerprint and shape (shadow reads only). */
  fingerprint: string | null;
  shape: string | null;
  /** Request context the app attached, when it gave one. */
  context: Record<string, unknown> | null;
  /** True when the key was pending in the outbox and was re-checked after it synced. */
  rechecked: boolean;
  /**
   * `confirmed`: the difference held when re-read (it counts for the flip); `dismissed`: it went away or
   * could not be settled (`reason`), kept as evidence only. @default 'confirmed' (records of older versions)
   */
  status?: 'confirmed' | 'dismissed';
  reason?: DismissReason;
  /** How the difference was confirmed (or what was tried), with a sentence for people. */
  evidence?: (Evidence & { summary: string }) | null;
  /** Rows of the read that differed (dismissed records keep one example). */
  differences?: number;
  /** Table of `key`, when it is not the query's table (a join or raw read keyed by another table). */
  keyTable?: string | null;
  /** The read as run on each side, for `dualwrite shadow replay`. */
  query?: Partial<Record<Side, RecordedQuery>> | null;
}

/** Whether a record counts as a mismatch (older records, without a status, do). */
export function isConfirmed(record: Pick<MismatchRecord, 'status'>): boolean {
  return record.status !== 'dismissed';
}

export async function appendMismatches(file: string, records: readonly MismatchRecord[]): Promise<void> {
  if (records.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Reads the mismatch log; a missing file is an empty log, an unreadable line is skipped. */
export async function readMismatches(file: string): Promise<MismatchRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: MismatchRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MismatchRecord);
    } catch {
      // A line cut by a crash mid-append: the rest of the log is still good.
    }
  }
  return out;
}
