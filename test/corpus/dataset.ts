import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DualWriteConfigInput } from '../../lib/config/schema.js';
import { gtidConsistencyEnforced, runMysqlScript } from '../support/mysql-client.js';

/** Where the datasets live: one folder each, with a dataset.json (see Dataset). */
export const CORPUS_DIR = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));

/** dataset.json: how to load one public sample database and what dualwrite needs to know of it. */
export interface Dataset {
  name: string;
  /** The folder (set when read). */
  dir: string;
  /** SQL files, relative to the folder, loaded in order with the mysql client. */
  files: string[];
  /** `SET NAMES` sent before the files (they are sent as bytes; a file's own SET NAMES wins). @default utf8mb4 */
  charset?: string;
  /** A database name the files hard-code: their CREATE/DROP/USE of it and `name.` qualifiers are dropped. */
  database?: string;
  /** Scripts run after loading (MySQL) and after the schema conversion (PostgreSQL), relative to the folder. */
  mysqlAfterLoad?: string;
  postgresAfterSchema?: string;
  /** dualwrite config of the dataset (`tables`: declared keys, excluded tables...). */
  config?: Pick<DualWriteConfigInput, 'tables'>;
  /** Tables the random writer leaves alone, with the reason (e.g. maintained by triggers on both sides). */
  noWrites?: Record<string, string>;
  /** Table count and row counts after loading, from the dataset's README. */
  rows: Record<string, number>;
}

/** Every dataset folder of the corpus, by name. */
export function listDatasets(): Dataset[] {
  return readdirSync(CORPUS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(CORPUS_DIR, d.name, 'dataset.json')))
    .map((d) => readDataset(d.name))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function readDataset(folder: string): Dataset {
  const dir = join(CORPUS_DIR, folder);
  const spec = JSON.parse(readFileSync(join(dir, 'dataset.json'), 'utf8')) as Omit<Dataset, 'dir'>;
  return { ...spec, dir };
}

/** What the loader changed to make a file load on this server, for the test's report. */
export interface LoadNotes {
  /** Tables declared MyISAM that were created InnoDB (GTID consistency refuses MyISAM in transactions). */
  engineConverted: string[];
}

/**
 * A file made loadable into any database on this server. Bytes are handled as latin1 text (one
 * character per byte), so data in any encoding passes unchanged; only ASCII statements are rewritten:
 * - the hard-coded database's CREATE/DROP/USE and qualifiers are dropped;
 * - under GTID enforcement (MySQL with enforce_gtid_consistency=ON), ENGINE=MyISAM becomes InnoDB: a
 *   trigger writing a MyISAM table inside an InnoDB transaction is refused there (Sakila's film_text);
 * - CREATE TABLE … SELECT is refused there too: the loader fails naming the file rather than guess.
 */
export function prepareScript(dataset: Dataset, file: string, gtid: boolean, notes: LoadNotes): string {
  let sql = readFileSync(join(dataset.dir, file), 'latin1');
  const db = dataset.database;
  if (db) {
    const name = `\`?${db}\`?`;
    sql = sql
      .replace(new RegExp(`^\\s*(DROP|CREATE)\\s+(SCHEMA|DATABASE)\\b[^;]*\\b${name}[^;]*;`, 'gim'), '')
      .replace(new RegExp(`^\\s*USE\\s+${name}\\s*;`, 'gim'), '')
      .replace(new RegExp(`\\b${name}\\.`, 'g'), '');
  }
  if (gtid) {
    // Each CREATE TABLE statement up to the `;` that ends its line.
    sql = sql.replace(/CREATE TABLE\s+`?(\w+)`?[\s\S]*?;[ \t]*\r?$/gm, (statement: string, table: string) => {
      if (/\bSELECT\b/i.test(statement)) {
        throw new Error(
          `${dataset.name}/${file}: CREATE TABLE ${table} … SELECT cannot run under GTID enforcement; split it into CREATE TABLE and INSERT … SELECT`,
        );
      }
      if (!/ENGINE\s*=\s*MyISAM/i.test(statement)) return statement;
      notes.engineConverted.push(table);
      return statement.replace(/ENGINE\s*=\s*MyISAM/gi, 'ENGINE=InnoDB');
    });
  }
  return `SET NAMES ${dataset.charset ?? 'utf8mb4'};\n${sql}\n`;
}

/** Loads the dataset's files (and its MySQL after-load script) into the URL's database. */
export async function loadDataset(dataset: Dataset, mysqlUrl: string): Promise<LoadNotes> {
  const gtid = await gtidConsistencyEnforced(mysqlUrl);
  const notes: LoadNotes = { engineConverted: [] };
  const files = [...dataset.files, ...(dataset.mysqlAfterLoad ? [dataset.mysqlAfterLoad] : [])];
  for (const file of files) {
    const script = prepareScript(dataset, file, gtid, notes);
    await runMysqlScript(mysqlUrl, Buffer.from(script, 'latin1'), `${dataset.name}/${file}`);
  }
  return notes;
}
