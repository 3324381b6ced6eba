import type { Knex } from 'knex';
import { initMetaTables } from '../../../lib/meta/init.js';
import type { TestDatabases } from '../../support/databases.js';
import { introspectMysql } from '../../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../../lib/dialect/postgres/introspect.js';
import { buildTranslators } from '../../../lib/translate/build.js';
import type { TranslatorSet } from '../../../lib/translate/types.js';

/** The same small tables on both sides; MySQL `tokens.ref` is CHAR(36), PostgreSQL's is `uuid`. */
export async function createSyncTables(dbs: TestDatabases): Promise<TranslatorSet> {
  await dbs.mysql.raw(`CREATE TABLE items (
    id INT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL DEFAULT 0,
    active TINYINT(1) NOT NULL DEFAULT 1, note TEXT NULL)`);
  await dbs.pg.raw(`CREATE TABLE items (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name varchar(100) NOT NULL, qty integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true, note text NULL)`);
  await dbs.mysql.raw(
    `CREATE TABLE tokens (id INT NOT NULL PRIMARY KEY, ref CHAR(36) NOT NULL, body TEXT NOT NULL)`,
  );
  await dbs.pg.raw(`CREATE TABLE tokens (id integer PRIMARY KEY, ref uuid NOT NULL, body text NOT NULL)`);
  await dbs.mysql.raw(
    `CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT NOT NULL, PRIMARY KEY (a, b))`,
  );
  await dbs.pg.raw(
    `CREATE TABLE pairs (a integer NOT NULL, b varchar(20) NOT NULL, v integer NOT NULL, PRIMARY KEY (a, b))`,
  );
  await dbs.mysql.raw(`CREATE TABLE big (id BIGINT NOT NULL PRIMARY KEY, v INT NOT NULL)`);
  await dbs.pg.raw(`CREATE TABLE big (id bigint PRIMARY KEY, v integer NOT NULL)`);
  // `seen` records the MySQL session flag the syncer sets, through a trigger.
  await dbs.mysql.raw(`CREATE TABLE flag_probe (id INT PRIMARY KEY, seen INT NULL)`);
  await dbs.mysql.raw(
    `CREATE TRIGGER flag_probe_bi BEFORE INSERT ON flag_probe FOR EACH ROW SET NEW.seen = @dualwrite_sync`,
  );
  await dbs.pg.raw(`CREATE TABLE flag_probe (id integer PRIMARY KEY, seen integer NULL)`);
  await initMetaTables(dbs.mysql, dbs.pg);
  return translatorsFor(dbs.mysql, dbs.pg);
}

/** The real translators, built from both databases' introspected schemas. */
export async function translatorsFor(mysql: Knex, pg: Knex): Promise<TranslatorSet> {
  return buildTranslators(await introspectMysql(mysql), await introspectPostgres(pg));
}

/** All rows of a table ordered by its key, for comparing the two sides. */
export async function rowsOf(
  db: Knex,
  table: string,
  orderBy: string[] = ['id'],
): Promise<Record<string, unknown>[]> {
  const rows = (await db(table).select('*').orderBy(orderBy)) as Record<string, unknown>[];
  return rows.map((r) => ({ ...r }));
}
