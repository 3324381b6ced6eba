import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LostWrite } from '../ledger.js';
import type { TrafficStats } from '../traffic.js';
import type { StepRecord } from './narrate.js';

/** Machine-readable outcome of a demo run (`<reports>/demo-summary.json`); the e2e test reads it. */
export interface DemoSummary {
  ok: boolean;
  exitCode: number;
  quick: boolean;
  runtimeSeconds: number;
  database: string;
  /** Version of the MySQL-side server the demo migrated from (`9.7.4-2`, `10.11.14-MariaDB-…`). */
  mysqlServer: string | null;
  seedRows: number;
  traffic: TrafficStats | null;
  /** Differences found by the final verification (null when it did not run). */
  verification: { differences: number | null; tables: number; rowsCompared: number };
  /** Acknowledged writes missing or wrong at the end, per database (null when not checked). */
  lostWrites: { mysql: number | null; postgres: number | null; samples: LostWrite[] };
  /** Each stage change: how long writes were held and the slowest write around it. */
  flips: { from: string; to: string; pauseMs: number | null; maxWriteLatencyMs: number }[];
  /** Whether GET /patients/:id answered the same JSON in pg-primary as in mysql-only. */
  sameJsonAcrossStages: boolean | null;
  /** The request compared across stages and both answers. */
  probe?: { path: string; mysqlOnly: unknown; pgPrimary: unknown };
  /** The difference planted in PostgreSQL behind dualwrite's back: found by verify, fixed by repair. */
  repair?: { planted: number; found: number; repaired: number };
  /** Shadow reads over the whole run. */
  shadow?: { checks: number; mismatches: number; errors: number };
  steps: StepRecord[];
  reports: Record<string, string>;
  error?: string;
}

export function emptySummary(database: string, quick: boolean): DemoSummary {
  return {
    ok: false,
    exitCode: 2,
    quick,
    runtimeSeconds: 0,
    database,
    mysqlServer: null,
    seedRows: 0,
    traffic: null,
    verification: { differences: null, tables: 0, rowsCompared: 0 },
    lostWrites: { mysql: null, postgres: null, samples: [] },
    flips: [],
    sameJsonAcrossStages: null,
    steps: [],
    reports: {},
  };
}

export function writeSummary(file: string, summary: DemoSummary): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
}
