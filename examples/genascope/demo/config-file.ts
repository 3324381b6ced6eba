import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type { DualWriteConfigInput } from '../../../lib/config/schema.js';

/**
 * The operator's config file of the demo. Stage changes are edits of its `stage:` line, exactly what
 * an operator would do by hand; the app's handle watches the file and reloads it.
 */
export class DemoConfigFile {
  constructor(readonly path: string) {}

  /** Writes the whole file (first run). */
  create(config: DualWriteConfigInput): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const header =
      '# dualwrite configuration of the Genascope demo.\n' +
      '# Change `stage` to move the migration; the running app reloads this file.\n';
    this.replace(header + stringify(config));
  }

  /** Edits only the `stage` value, keeping the rest of the file (and its comments) as it is. */
  setStage(stage: string): void {
    const doc = parseDocument(readFileSync(this.path, 'utf8'));
    doc.set('stage', stage);
    this.replace(doc.toString());
  }

  stage(): string {
    return String(parseDocument(readFileSync(this.path, 'utf8')).get('stage'));
  }

  // Write-then-rename so a watcher never reads half a file.
  private replace(text: string): void {
    const tmp = join(dirname(this.path), `.${Date.now()}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, this.path);
  }
}
