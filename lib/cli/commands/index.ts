import type { Command } from 'commander';
import { registerBackfill } from './backfill.js';
import { registerReport } from './report.js';
import { registerSchema } from './schema.js';
import { registerVerify } from './verify.js';

/** Every command registers itself here, one line each. */
export function registerCommands(program: Command): void {
  registerReport(program);
  registerBackfill(program);
  registerSchema(program);
  registerVerify(program);
}
