import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Stage } from './stage.js';

/** One audit line per stage change (JSON Lines). */
export interface StageAuditEntry {
  from: Stage;
  to: Stage;
  /** ISO time of the switch. */
  at: string;
  /** Who asked: `config:<file>`, `api`, `cli`... */
  source: string;
  forced: boolean;
  /** How long writes were held, ms; null when the change moved no authoritative role. */
  pauseMs: number | null;
}

/** Appends the entry to the audit log (creating its folder). Synchronous: the line is down before the stage is used. */
export function appendAudit(path: string, entry: StageAuditEntry): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, `${JSON.stringify(entry)}\n`);
}
