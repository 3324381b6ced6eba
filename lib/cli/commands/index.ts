import type { Command } from 'commander';
import { registerBackfill } from './backfill.js';
import { registerReport } from './report.js';
import { registerSchema } from './schema.js';
import { registerShadow } from './shadow.js';
import { registerVerify } from './verify.js';
import { registerInit } from './init.js';
import { registerStage } from './stage.js';
import { registerStatus } from './status.js';

/** Every command registers itself here, one line each. */
export function registerCommands(program: Command): void {
  registerReport(program);
  registerBackfill(program);
  registerSchema(program);
  registerVerify(program);
  registerInit(program);
  registerStage(program);
  registerStatus(program);
  registerShadow(program);
}
