import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The official MySQL sample database (BSD licence, see the header of sakila-schema.sql). */
export const SAKILA_DIR = fileURLToPath(new URL('../fixtures/sakila/', import.meta.url));

export const SAKILA_ROW_COUNTS: Readonly<Record<string, number>> = {
  actor: 200,
  address: 603,
  category: 16,
  city: 600,
  country: 109,
  customer: 599,
  film: 1000,
  film_actor: 5462,
  film_category: 1000,
  film_text: 1000,
  inventory: 4581,
  language: 6,
  payment: 16049,
  rental: 16044,
  staff: 2,
  store: 2,
};

/** The schema and data scripts (as latin1 text: one char per byte) with the hard-coded `sakila` database renamed to `database`. */
export function sakilaSql(database: string): string {
  const rename = (sql: string): string =>
    sql
      .replace(/\r\n/g, '\n')
      .replace(/^DROP SCHEMA IF EXISTS sakila;$/m, '')
      .replace(/^CREATE SCHEMA sakila;$/m, '')
      .replace(/^USE sakila;$/gm, `USE \`${database}\`;`)
      .replace(/\bsakila\./g, `\`${database}\`.`);
  // latin1 maps bytes 1:1, so the raw PNG bytes inside staff.picture survive the renaming.
  const read = (file: string): string => readFileSync(`${SAKILA_DIR}${file}`, 'latin1');
  return `${rename(read('sakila-schema.sql'))}\n${rename(read('sakila-data.sql'))}`;
}

/**
 * Loads Sakila into an existing MySQL/MariaDB database with the `mysql` command-line client
 * (the scripts use DELIMITER blocks for triggers and procedures, which only the client understands).
 */
export async function loadSakila(mysqlUrl: string): Promise<void> {
  const url = new URL(mysqlUrl);
  const database = url.pathname.replace(/^\//, '');
  const client = process.env['MYSQL_CLIENT'] ?? 'mysql';
  const args = [
    '--no-defaults',
    `-h${url.hostname}`,
    `-P${url.port || '3306'}`,
    `-u${decodeURIComponent(url.username)}`,
    '--default-character-set=binary',
    '--binary-mode',
    database,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(client, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, MYSQL_PWD: decodeURIComponent(url.password) },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`loading sakila failed (${client} exit ${code}): ${stderr}`)),
    );
    child.stdin.end(Buffer.from(sakilaSql(database), 'latin1'));
  });
}
