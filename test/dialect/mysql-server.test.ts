import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { installCaptureTriggers } from '../../lib/capture/triggers.js';
import { validateConfig } from '../../lib/config/load.js';
import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { withDatabase } from '../../lib/dialect/urls.js';
import { DualWriteError, ErrorCode } from '../../lib/errors.js';
import { initMetaTables } from '../../lib/meta/init.js';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import type { ConversionResult } from '../../lib/schema/convert.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { verify } from '../../lib/verify/verify.js';
import { useFreshDatabases } from '../support/databases.js';
import { openHandle } from '../support/dualwrite.js';
import { byFlavour, testFlavour } from '../support/flavours.js';

/**
 * What a migration meets on each MySQL-side server, run on the real one: reserved words, invisible
 * columns, functional indexes, enforced CHECK constraints, TIMESTAMP vs DATETIME across session time
 * zones, the 0900 collations, caching_sha2_password, GTID enforcement and triggers under binary logging.
 * Each case runs on both flavours and asserts what that flavour does.
 */
const dbs = useFreshDatabases('dwmyserver');
let dir: string;
let conversion: ConversionResult;
let schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
let translators: TranslatorSet;

const RESERVED_TABLE = `CREATE TABLE \`order\` (
  \`key\` INT NOT NULL PRIMARY KEY,
  \`rank\` INT NOT NULL DEFAULT 0,
  \`groups\` VARCHAR(20) NULL,
  \`window\` VARCHAR(20) NULL,
  \`rows\` INT NULL,
  \`system\` VARCHAR(10) NULL,
  \`generated\` TINYINT(1) NOT NULL DEFAULT 0,
  \`lead\` DATETIME(3) NULL,
  \`range\` JSON NULL,
  \`desc\` TEXT NULL,
  \`user\` VARCHAR(20) NULL,
  INDEX \`select\` (\`rank\`, \`groups\`)
)`;

/** Tables both flavours accept; `functional` differs (MariaDB has no functional key parts). */
const tables = (collations: { ci: string; cs: string }): string[] => [
  RESERVED_TABLE,
  `CREATE TABLE hidden (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(40) NOT NULL,
    secret VARCHAR(40) NULL INVISIBLE
  )`,
  `CREATE TABLE checked (
    id INT NOT NULL PRIMARY KEY,
    qty INT NOT NULL,
    price DECIMAL(8,2) NOT NULL,
    CONSTRAINT qty_positive CHECK (qty > 0),
    CONSTRAINT price_bounded CHECK (\`price\` BETWEEN 0 AND 1000)
  )`,
  // The servers' accent- and case-insensitive and case-sensitive collations: MySQL's 0900 ones are NO PAD.
  `CREATE TABLE collated (
    id INT NOT NULL PRIMARY KEY,
    ai VARCHAR(20) NOT NULL COLLATE ${collations.ci},
    cs VARCHAR(20) NOT NULL COLLATE ${collations.cs},
    UNIQUE KEY uq_ai (ai),
    UNIQUE KEY uq_cs (cs)
  )`,
  `CREATE TABLE times (
    id INT NOT NULL PRIMARY KEY,
    at_ts TIMESTAMP(3) NULL,
    at_dt DATETIME(3) NULL
  )`,
];

async function migrate(): Promise<void> {
  conversion = await convertDatabase(dbs.mysql);
  await applySchema(dbs.pg, conversion);
  await initMetaTables(dbs.mysql, dbs.pg);
  schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  translators = buildTranslators(schemas.mysql, schemas.postgres);
}

async function backfillAll(): Promise<void> {
  const result = await backfill({
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators,
    sourceSchema: schemas.mysql,
  });
  expect(result.tables.filter((t) => t.status !== 'done')).toEqual([]);
}

async function verifyClean(): Promise<void> {
  const result = await verify({
    config: validateConfig({
      stage: 'shadow',
      mysql: { url: dbs.mysqlUrl },
      postgres: { url: dbs.pgUrl },
      verify: { reportDir: dir },
    }),
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators,
    schemas,
    writeReport: false,
  });
  expect(result.tables.filter((t) => t.missing + t.extra + t.different > 0)).toEqual([]);
  expect(result.clean).toBe(true);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-myserver-'));
  const collations = byFlavour({
    mysql: { ci: 'utf8mb4_0900_ai_ci', cs: 'utf8mb4_0900_as_cs' },
    mariadb: { ci: 'utf8mb4_unicode_ci', cs: 'utf8mb4_bin' },
  });
  for (const ddl of tables(collations)) await dbs.mysql.raw(ddl);
  if (testFlavour() === 'mysql') {
    await dbs.mysql.raw(`CREATE TABLE functional (
      id INT NOT NULL PRIMARY KEY,
      email VARCHAR(100) NOT NULL,
      UNIQUE KEY email_lower ((lower(email))),
      KEY email_domain ((substring_index(email, '@', -1)))
    )`);
  } else {
    // MariaDB has no functional key parts; its equivalent is an index on a virtual column.
    await expect(
      dbs.mysql.raw('CREATE TABLE functional (id INT PRIMARY KEY, email VARCHAR(100), KEY ((lower(email))))'),
    ).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' });
    await dbs.mysql.raw(`CREATE TABLE functional (
      id INT NOT NULL PRIMARY KEY,
      email VARCHAR(100) NOT NULL,
      email_lower VARCHAR(100) AS (lower(email)) VIRTUAL,
      UNIQUE KEY email_lower (email_lower)
    )`);
  }
  await dbs.mysql.raw(
    "INSERT INTO `order` (`key`, `rank`, `groups`, `window`, `rows`, `system`, `generated`, `lead`, `range`, `desc`, `user`) VALUES (1, 5, 'g', 'w', 3, 's', 1, '2024-01-02 03:04:05.678', '[1, 2]', 'd', 'u'), (2, 6, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL)",
  );
  await dbs.mysql.raw("INSERT INTO hidden (name, secret) VALUES ('a', 's1'), ('b', NULL)");
  await dbs.mysql.raw("INSERT INTO functional (id, email) VALUES (1, 'Ann@Example.com')");
  await dbs.mysql.raw('INSERT INTO checked VALUES (1, 2, 9.99)');
  await dbs.mysql.raw("INSERT INTO collated VALUES (1, 'Élan ', 'Abc'), (2, 'x', 'abc')");
  // An app session in another time zone: TIMESTAMP literals are read in it, DATETIME ones are not.
  const app = createMysqlKnex({ url: dbs.mysqlUrl, pool: { max: 1 } });
  try {
    await app.raw("SET time_zone = '+05:30'");
    await app.raw("INSERT INTO times VALUES (1, '2024-01-01 10:00:00.250', '2024-01-01 10:00:00.250')");
  } finally {
    await app.destroy();
  }
  await migrate();
  await backfillAll();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('MySQL-side servers: what a migration meets', () => {
  it('reports the flavour and the server settings the suite runs against', async () => {
    expect(schemas.mysql.flavor).toBe(testFlavour());
    const [[mode]] = (await dbs.mysql.raw('SELECT @@GLOBAL.sql_mode AS m')) as [{ m: string }[]];
    if (testFlavour() === 'mysql') {
      // A production-like MySQL: GTID enforcement and the binary log on, the default sql_mode.
      const [[row]] = (await dbs.mysql.raw(
        'SELECT @@enforce_gtid_consistency AS gtid, @@log_bin AS binlog, @@gtid_mode AS mode',
      )) as [{ gtid: string; binlog: unknown; mode: string }[]];
      expect({ ...row, binlog: Number(row?.binlog) }).toEqual({ gtid: 'ON', binlog: 1, mode: 'ON' });
      expect(mode?.m).toMatch(/ONLY_FULL_GROUP_BY/);
    } else {
      expect(mode?.m).not.toMatch(/ONLY_FULL_GROUP_BY/);
    }
    // dualwrite's own sessions check their SQL against ONLY_FULL_GROUP_BY on both flavours.
    const [[own]] = (await dbs.mysql.raw('SELECT @@SESSION.sql_mode AS m')) as [{ m: string }[]];
    expect(own?.m).toMatch(/ONLY_FULL_GROUP_BY/);
  });

  it('converts, backfills, dual-writes and verifies tables and columns named by reserved words', async () => {
    expect(conversion.report.tables.find((t) => t.name === 'order')).toBeDefined();
    const db = await openHandle(dbs, 'dual-write', { syncWorker: true });
    try {
      await db('order').insert({ key: 3, rank: 1, groups: 'x', window: 'y', rows: 9, generated: true });
      await db('order')
        .where({ key: 1 })
        .update({ rank: 50, desc: 'changed', range: JSON.stringify({ a: 1 }) });
      await db('order').where({ key: 2 }).del();
      await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
    } finally {
      await db.destroy();
    }
    const onPg = (await dbs
      .pg('order')
      .orderBy('key')
      .select('key', 'rank', 'desc', 'generated')) as unknown[];
    expect(onPg).toEqual([
      { key: 1, rank: 50, desc: 'changed', generated: true },
      { key: 3, rank: 1, desc: null, generated: true },
    ]);
    await verifyClean();
  });

  it('copies invisible columns, which SELECT * leaves out', async () => {
    const hidden = schemas.mysql.tables.find((t) => t.name === 'hidden');
    expect(hidden?.columns.map((c) => c.name)).toEqual(['id', 'name', 'secret']);
    const [[star]] = (await dbs.mysql.raw('SELECT * FROM hidden WHERE id = 1')) as [
      Record<string, unknown>[],
    ];
    expect(Object.keys(star ?? {})).toEqual(['id', 'name']);
    const db = await openHandle(dbs, 'dual-write', { syncWorker: true });
    try {
      await db('hidden').where({ id: 2 }).update({ secret: 's2' });
      await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
    } finally {
      await db.destroy();
    }
    expect(await dbs.pg('hidden').orderBy('id').select('id', 'secret')).toEqual([
      { id: 1, secret: 's1' },
      { id: 2, secret: 's2' },
    ]);
  });

  it('converts functional indexes (MySQL) and indexed generated columns (MariaDB), uniqueness kept', async () => {
    const { rows } = (await dbs.pg.raw(
      "SELECT indexdef FROM pg_indexes WHERE tablename = 'functional' AND indexname <> 'functional_pkey' ORDER BY indexname",
    )) as { rows: { indexdef: string }[] };
    const defs = rows.map((r) => r.indexdef).join('\n');
    if (testFlavour() === 'mysql') {
      expect(defs).toMatch(
        /UNIQUE INDEX functional_email_lower ON public.functional USING btree \(lower\(\(email\)::text\)\)/,
      );
      expect(defs).toMatch(
        /functional_email_domain .*split_part\(\(email\)::text, '@'::text, '-1'::integer\)/,
      );
    } else {
      // The virtual column is computed by PostgreSQL too, and its unique key kept.
      const { rows: cols } = (await dbs.pg.raw(
        "SELECT generation_expression AS g FROM information_schema.columns WHERE table_name = 'functional' AND column_name = 'email_lower'",
      )) as { rows: { g: string }[] };
      expect(cols[0]?.g).toBe('lower((email)::text)');
      expect(defs).toMatch(/UNIQUE INDEX functional_email_lower/);
    }
    await expect(dbs.pg('functional').insert({ id: 2, email: 'ANN@example.COM' })).rejects.toMatchObject({
      code: '23505',
    });
    const table = conversion.report.tables.find((t) => t.name === 'functional');
    expect(JSON.stringify(table)).not.toMatch(/not converted/i);
  });

  it('converts CHECK constraints, which both servers and PostgreSQL enforce', async () => {
    await expect(dbs.mysql('checked').insert({ id: 2, qty: 0, price: 1 })).rejects.toMatchObject({
      errno: byFlavour({ mysql: 3819, mariadb: 4025 }),
    });
    await expect(dbs.pg('checked').insert({ id: 2, qty: 0, price: 1 })).rejects.toMatchObject({
      code: '23514',
    });
    await expect(dbs.pg('checked').insert({ id: 2, qty: 1, price: 1001 })).rejects.toMatchObject({
      code: '23514',
    });
    await dbs.pg('checked').insert({ id: 3, qty: 1, price: 1000 });
    await dbs.pg('checked').where({ id: 3 }).del();
  });

  it('keeps case-insensitive uniqueness and exact text (trailing spaces, accents) across the collations', async () => {
    const mysqlPad = schemas.mysql.tables
      .find((t) => t.name === 'collated')
      ?.columns.find((c) => c.name === 'ai');
    // MySQL's 0900 collations are NO PAD: 'a' and 'a ' are different values, as in PostgreSQL.
    expect(mysqlPad?.padSpace).toBe(byFlavour({ mysql: false, mariadb: true }));
    await expect(dbs.mysql('collated').insert({ id: 3, ai: 'X', cs: 'q' })).rejects.toMatchObject({
      errno: 1062,
    });
    await expect(dbs.pg('collated').insert({ id: 3, ai: 'X', cs: 'q' })).rejects.toMatchObject({
      code: '23505',
    });
    // The case-sensitive key holds 'Abc' and 'abc' on both sides.
    expect(await dbs.pg('collated').orderBy('id').select('ai', 'cs')).toEqual([
      { ai: 'Élan ', cs: 'Abc' },
      { ai: 'x', cs: 'abc' },
    ]);
    const db = await openHandle(dbs, 'dual-write', { syncWorker: true });
    try {
      await db('collated').where({ id: 2 }).update({ ai: 'y  ' });
      await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
    } finally {
      await db.destroy();
    }
    expect(await dbs.pg('collated').where({ id: 2 }).first('ai')).toEqual({ ai: 'y  ' });
  });

  it('keeps TIMESTAMP an instant and DATETIME a wall-clock value, whatever the session time zone', async () => {
    const { rows } = (await dbs.pg.raw(
      "SELECT to_char(at_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS ts, to_char(at_dt, 'YYYY-MM-DD HH24:MI:SS.MS') AS dt FROM times WHERE id = 1",
    )) as { rows: { ts: string; dt: string }[] };
    expect(rows[0]).toEqual({ ts: '2024-01-01 04:30:00.250', dt: '2024-01-01 10:00:00.250' });
    await verifyClean();
  });

  it('connects as a user of the server’s default authentication plugin, with a cold cache', async () => {
    const user = `dw_auth_${dbs.name.slice(-6)}`;
    await dbs.mysql.raw(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'Secret-pw-1'`);
    try {
      await dbs.mysql.raw(`GRANT SELECT ON \`${dbs.name}\`.* TO '${user}'@'127.0.0.1'`);
      await dbs.mysql.raw('FLUSH PRIVILEGES'); // empties caching_sha2_password's cache: full authentication
      const [[plugin]] = (await dbs.mysql.raw(`SELECT plugin FROM mysql.user WHERE user = '${user}'`)) as [
        { plugin: string }[],
      ];
      expect(plugin?.plugin).toBe(
        byFlavour({ mysql: 'caching_sha2_password', mariadb: 'mysql_native_password' }),
      );
      const url = new URL(withDatabase(dbs.mysqlUrl, dbs.name));
      url.username = user;
      url.password = 'Secret-pw-1';
      const knex = createMysqlKnex({ url: url.toString(), pool: { max: 1 } });
      try {
        const [[row]] = (await knex.raw('SELECT CURRENT_USER() AS u')) as [{ u: string }[]];
        expect(row?.u).toBe(`${user}@127.0.0.1`);
      } finally {
        await knex.destroy();
      }
    } finally {
      await dbs.mysql.raw(`DROP USER '${user}'@'127.0.0.1'`);
    }
  });

  it('installs capture triggers, or says which privilege binary logging requires', async () => {
    const user = `dw_trg_${dbs.name.slice(-6)}`;
    await dbs.mysql.raw(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'Secret-pw-2'`);
    try {
      await dbs.mysql.raw(`GRANT ALL PRIVILEGES ON \`${dbs.name}\`.* TO '${user}'@'127.0.0.1'`);
      const url = new URL(dbs.mysqlUrl);
      url.username = user;
      url.password = 'Secret-pw-2';
      const knex = createMysqlKnex({ url: url.toString(), pool: { max: 1 } });
      // `checked` first (tables are in name order), then one named by a reserved word.
      const checked = schemas.mysql.tables.filter((t) => t.name === 'checked' || t.name === 'order');
      try {
        const install = installCaptureTriggers(knex, 'mysql', checked);
        if (testFlavour() === 'mysql') {
          // Binary logging is on and log_bin_trust_function_creators off: creating triggers needs SUPER.
          const error = (await install.catch((e: unknown) => e)) as DualWriteError;
          expect(error).toBeInstanceOf(DualWriteError);
          expect(error.code).toBe(ErrorCode.MissingPrivilege);
          expect(error.table).toBe('checked');
          expect(error.message).toMatch(/log_bin_trust_function_creators/);
        } else {
          await install; // this MariaDB runs without a binary log
        }
      } finally {
        await knex.destroy();
      }
      // With the privilege (root) the same install succeeds on both, and the triggers capture.
      expect(await installCaptureTriggers(dbs.mysql, 'mysql', checked)).toBe(2);
      await dbs.mysql('order').insert({ key: 77, rank: 1 });
      const pending = (await dbs.mysql('dualwrite_outbox').where({ table_name: 'order' }).select('pk')) as {
        pk: string;
      }[];
      expect(pending.map((r) => r.pk)).toContain('[77]');
    } finally {
      await dbs.mysql.raw(`DROP USER '${user}'@'127.0.0.1'`);
    }
  });
});
