import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import type { Stage } from './stage.js';

/**
 * Sets `stage` in a JSON or YAML config file (YAML comments and layout kept) and replaces the file
 * atomically, so a watching process never reads half a file. Returns the stage the file had.
 */
export function writeStageToFile(file: string, stage: Stage): string | undefined {
  const text = readFileSync(file, 'utf8');
  let previous: string | undefined;
  let next: string;
  if (/\.json$/i.test(file)) {
    const obj = JSON.parse(text) as Record<string, unknown>;
    previous = typeof obj['stage'] === 'string' ? obj['stage'] : undefined;
    obj['stage'] = stage;
    next = `${JSON.stringify(obj, null, 2)}\n`;
  } else {
    const doc = parseDocument(text);
    if (doc.errors.length > 0) throw new ConfigError(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const old: unknown = doc.get('stage');
    previous = typeof old === 'string' ? old : undefined;
    doc.set('stage', stage);
    next = doc.toString();
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, file);
  return previous;
}
