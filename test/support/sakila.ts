import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gtidConsistencyEnforced, runMysqlScript } from './mysql-client.js';

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

/**
 * The schema and data scripts (as latin1 text: one char per byte) with the hard-coded `sakila`
 * database renamed to `database`. `innodbOnly` declares the one MyISAM table (film_text) InnoDB,
 * as MySQL's own later Sakila releases do: a server enforcing GTID consistency refuses the film
 * triggers that write it in the same statement as InnoDB tables.
 */
export function sakilaSql(database: string, options: { innodbOnly?: boolean } = {}): string {
  const rename = (sql: string): string => {
    const renamed = sql
      .replace(/\r\n/g, '\n')
      .replace(/^DROP SCHEMA IF EXISTS sakila;$/m, '')
      .replace(/^CREATE SCHEMA sakila;$/m, '')
      .replace(/^USE sakila;$/gm, `USE \`${database}\`;`)
      .replace(/\bsakila\./g, `\`${database}\`.`);
    return options.innodbOnly ? renamed.replace(/ENGINE=MyISAM/g, 'ENGINE=InnoDB') : renamed;
  };
  // latin1 maps bytes 1:1, so the raw PNG bytes inside staff.picture survive the renaming.
  const read = (file: string): string => readFileSync(`${SAKILA_DIR}${file}`, 'latin1');
  return `${rename(read('sakila-schema.sql'))}\n${rename(read('sakila-data.sql'))}`;
}

/**
 * Loads Sakila into an existing MySQL/MariaDB database. film_text stays MyISAM unless the server
 * enforces GTID consistency (see `sakilaSql`).
 */
export async function loadSakila(mysqlUrl: string): Promise<void> {
  const database = new URL(mysqlUrl).pathname.replace(/^\//, '');
  const innodbOnly = await gtidConsistencyEnforced(mysqlUrl);
  await runMysqlScript(mysqlUrl, Buffer.from(sakilaSql(database, { innodbOnly }), 'latin1'), 'sakila');
}
