import type { Knex } from 'knex';
import { introspectMysql } from '../../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../../lib/meta/init.js';
import { applySchema, convertDatabase, resetSequences } from '../../../lib/schema/apply.js';
import { KeySyncer } from '../../../lib/sync/syncer.js';
import { buildTranslators } from '../../../lib/translate/build.js';
import type { TranslatorSet } from '../../../lib/translate/types.js';
import type { TestDatabases } from '../../support/databases.js';

/**
 * The app's MySQL schema: every type family an app reads through knex (booleans, big integers,
 * decimals, floats, dates, times, JSON, binary, enums, a case-insensitive unique key, a foreign key,
 * a UUID key). PostgreSQL gets what `dualwrite schema --apply` makes of it.
 */
const MYSQL_DDL = [
  `CREATE TABLE people (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(120) NOT NULL,
    name VARCHAR(100) NOT NULL,
    active TINYINT(1) NOT NULL DEFAULT 1,
    score INT NULL,
    balance DECIMAL(10,2) NOT NULL DEFAULT 0.00,
    big BIGINT NULL,
    ratio DOUBLE NULL,
    born DATE NULL,
    seen_at DATETIME(3) NULL,
    stamped TIMESTAMP NULL DEFAULT NULL,
    meta JSON NULL,
    avatar VARBINARY(16) NULL,
    kind ENUM('basic','pro') NOT NULL DEFAULT 'basic',
    wake TIME NULL,
    UNIQUE KEY people_email (email)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE orders (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    person_id INT NOT NULL,
    amount DECIMAL(10,2) NOT NULL,
    qty INT NOT NULL DEFAULT 1,
    placed_at DATETIME NOT NULL,
    note TEXT NULL,
    CONSTRAINT orders_person FOREIGN KEY (person_id) REFERENCES people (id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE labels (
    code CHAR(36) NOT NULL PRIMARY KEY,
    title VARCHAR(50) NOT NULL,
    weight FLOAT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE counters (
    k VARCHAR(20) NOT NULL PRIMARY KEY,
    n INT NOT NULL DEFAULT 0
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/** Tables in foreign-key order (parents first). */
export const TABLES = ['people', 'orders', 'labels', 'counters'] as const;

export const UUIDS = [
  '3f1b7c2a-9d4e-4b8a-a1c2-0e5f6a7b8c9d',
  '8a2c4e6f-1b3d-4f5a-9c7e-2d4f6a8b0c1e',
  '0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f',
] as const;

/** Rows every run starts from (written to MySQL, copied to PostgreSQL by the Syncer). */
const ROWS: Record<(typeof TABLES)[number], Record<string, unknown>[]> = {
  people: [
    {
      id: 1,
      email: 'Alice@Example.com',
      name: 'alice',
      active: 1,
      score: 10,
      balance: '100.50',
      big: '1234567890123',
      ratio: 0.25,
      born: '1990-04-01',
      seen_at: '2024-01-10 09:00:00.000',
      stamped: '2024-01-10 09:00:00',
      meta: '{"plan": "gold", "tags": ["a", "b"], "n": 1}',
      avatar: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      kind: 'pro',
      wake: '07:30:00',
    },
    {
      id: 2,
      email: 'bob@example.com',
      name: 'Bob',
      active: 0,
      score: null,
      balance: '0.00',
      big: '9007199254740993',
      ratio: null,
      born: null,
      seen_at: '2024-02-29 23:59:59.999',
      stamped: null,
      meta: null,
      avatar: null,
      kind: 'basic',
      wake: null,
    },
    {
      id: 3,
      email: 'carol@example.com',
      name: 'carol',
      active: 1,
      score: 30,
      balance: '-5.25',
      big: null,
      ratio: 1.5,
      born: '2000-12-31',
      seen_at: null,
      stamped: '2023-06-01 12:05:00',
      meta: '{"z": 1, "a": {"deep": true}}',
      avatar: Buffer.from([0x00, 0x01]),
      kind: 'basic',
      wake: '23:59:59',
    },
    {
      id: 4,
      email: 'Dave@example.com',
      name: 'dave',
      active: 1,
      score: 20,
      balance: '20.00',
      big: '-42',
      ratio: 3.141592653589793,
      born: '1985-07-15',
      seen_at: '2024-03-01 00:00:00.001',
      stamped: '2024-03-01 00:00:00',
      meta: '[]',
      avatar: null,
      kind: 'pro',
      wake: '00:00:00',
    },
    {
      id: 5,
      email: 'erin@example.com',
      name: 'Erin',
      active: 0,
      score: 20,
      balance: '7.10',
      big: '0',
      ratio: -0.5,
      born: '1999-01-01',
      seen_at: '2024-01-10 09:00:00.500',
      stamped: null,
      meta: '{"plan": "free"}',
      avatar: null,
      kind: 'basic',
      wake: '12:00:00',
    },
  ],
  orders: [
    { id: 1, person_id: 1, amount: '10.00', qty: 1, placed_at: '2024-01-11 10:00:00', note: 'first' },
    { id: 2, person_id: 1, amount: '25.50', qty: 2, placed_at: '2024-01-12 11:30:00', note: null },
    { id: 3, person_id: 3, amount: '5.25', qty: 5, placed_at: '2024-02-01 08:15:00', note: 'Gift' },
    { id: 4, person_id: 4, amount: '99.99', qty: 1, placed_at: '2024-03-02 18:45:00', note: 'gift' },
    { id: 5, person_id: 4, amount: '0.01', qty: 3, placed_at: '2024-03-03 07:00:00', note: null },
  ],
  labels: [
    { code: UUIDS[0], title: 'Red', weight: 1.5 },
    { code: UUIDS[1], title: 'green', weight: null },
    { code: UUIDS[2], title: 'Blue', weight: 0.25 },
  ],
  counters: [
    { k: 'hits', n: 0 },
    { k: 'misses', n: 3 },
  ],
};

/** Tables an operation may create (schema builder, migrations): dropped by every reset. */
const SCRATCH_TABLES = ['conf_scratch', 'conf_migrated', 'knex_migrations', 'knex_migrations_lock'];

export interface Fixture {
  translators: TranslatorSet;
  /** Empties both databases (tables, identities, outboxes, quarantine) and loads the rows again. */
  reset(): Promise<void>;
}

/** Creates the app schema on MySQL, converts it onto PostgreSQL, creates dualwrite's tables. */
export async function createFixture(dbs: TestDatabases): Promise<Fixture> {
  for (const ddl of MYSQL_DDL) await dbs.mysql.raw(ddl);
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  await initMetaTables(dbs.mysql, dbs.pg);
  const translators = buildTranslators(await introspectMysql(dbs.mysql), await introspectPostgres(dbs.pg));
  const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
  const reset = async (): Promise<void> => {
    await emptyMysql(dbs.mysql);
    for (const t of SCRATCH_TABLES) await dbs.pg.raw(`DROP TABLE IF EXISTS "${t}"`);
    await dbs.pg.raw(
      `TRUNCATE ${[...TABLES, 'dualwrite_outbox', 'dualwrite_quarantine'].map((t) => `"${t}"`).join(', ')} RESTART IDENTITY CASCADE`,
    );
    for (const table of TABLES) {
      await dbs.mysql(table).insert(ROWS[table]);
      const pk = translators.table(table).primaryKey;
      const keys = ROWS[table].map((r) => pk.map((c) => r[c] as string | number));
      await syncer.sync(table, keys, 'mysql');
      await resetSequences(dbs.pg, table);
    }
  };
  return { translators, reset };
}

async function emptyMysql(mysql: Knex): Promise<void> {
  // One connection: FOREIGN_KEY_CHECKS is a session setting.
  await mysql.transaction(async (trx) => {
    await trx.raw('SET FOREIGN_KEY_CHECKS = 0');
    for (const t of [...TABLES, 'dualwrite_outbox', 'dualwrite_quarantine'])
      await trx.raw(`TRUNCATE \`${t}\``);
    await trx.raw('SET FOREIGN_KEY_CHECKS = 1');
  });
  for (const t of SCRATCH_TABLES) {
    await mysql.raw(`DROP TABLE IF EXISTS \`${t}\``);
  }
}
