import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row } from '../translate/types.js';
import type { ColumnDiff, DiffKind } from '../shadow/compare.js';

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
