import { beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { applySchema, convertDatabase, resetSequences } from '../../lib/schema/apply.js';
import type { ConversionResult } from '../../lib/schema/convert.js';
import { detectUuidColumns } from '../../lib/schema/uuid.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { Row } from '../../lib/translate/types.js';
import { useFreshDatabases } from '../support/databases.js';

const dbs = useFreshDatabases('dwconvert');
const LONG = 'a_table_name_that_is_long_enough_to_push_index_names_past_63';
let result: ConversionResult;
const userReport = () => result.report.tables.find((t) => t.name === 'user')!;

beforeAll(async () => {
  await dbs.mysql.raw(`CREATE TABLE \`user\` (
    id CHAR(36) NOT NULL PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    legacy_ref VARCHAR(36) NULL,
    \`order\` INT NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    flags BIT(1) NOT NULL DEFAULT b'0',
    mask BIT(4) NOT NULL DEFAULT b'0101',
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    touched TIMESTAMP NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP,
    note VARCHAR(20) DEFAULT 'it''s ?',
    UNIQUE KEY uq_email (email)
  ) COMMENT 'people'`);
  await dbs.mysql.raw(`CREATE TABLE ${LONG} (
    n INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id CHAR(36) NULL,
    code VARCHAR(20) COLLATE utf8mb4_bin NOT NULL COMMENT 'case matters',
    UNIQUE KEY a_unique_key_name_that_is_also_rather_long_x (code),
    KEY a_unique_key_name_that_is_also_rather_long_y (code, n),
    CONSTRAINT fk_long_user FOREIGN KEY (user_id) REFERENCES \`user\` (id) ON DELETE SET NULL ON UPDATE CASCADE
  )`);
  await dbs.mysql.raw(
    `CREATE TABLE tokens (id CHAR(36) COLLATE utf8mb4_bin PRIMARY KEY, hits TIME NULL, notes TEXT NULL,
      bin BLOB NULL, stamp TIMESTAMP NOT NULL DEFAULT '2001-02-03 04:05:06',
      made DATE NULL DEFAULT (curdate()), ref VARCHAR(40) NULL DEFAULT (uuid()),
      KEY ix_notes (notes(10)), UNIQUE KEY uq_bin (bin(4)))`,
  );
  await dbs.mysql('tokens').insert({ id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', hits: '10:30:00' });
  await dbs.mysql.raw('CREATE VIEW active_users AS SELECT id FROM `user` WHERE is_active');
  await dbs.mysql('user').insert([
    { id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', email: 'a@x.test', legacy_ref: 'not-a-uuid' },
    { id: 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', email: 'b@x.test', legacy_ref: null },
  ]);
  result = await convertDatabase(dbs.mysql, {
    tables: {
      [LONG]: { columns: { code: { type: 'text' } } },
      tokens: { columns: { hits: { type: 'time(0)' } } },
    },
  });
  await applySchema(dbs.pg, result);
});

describe('convertSchema', () => {
  it('decides UUID columns from the data, keeps FK ends consistent and lets config override', async () => {
    const schema = await introspectMysql(dbs.mysql);
    const uuids = await detectUuidColumns(dbs.mysql, schema);
    // tokens.id holds an upper-case UUID under a case-sensitive collation: it could not be found by its
    // lower-case canonical key, so it stays text
    expect([...uuids].sort()).toEqual([`${LONG}.user_id`, 'user.id']);
    const forced = await detectUuidColumns(dbs.mysql, schema, { user: { columns: { id: { uuid: false } } } });
    expect([...forced]).toEqual([]); // the FK end follows the referenced column
    const col = (t: string, c: string) =>
      result.report.tables.find((x) => x.name === t)?.columns.find((x) => x.column === c);
    expect(col('user', 'id')?.to).toBe('uuid');
    expect(col('user', 'legacy_ref')?.to).toBe('varchar(36)');
    expect(col(LONG, 'code')).toMatchObject({
      to: 'text',
      warnings: [expect.stringContaining('overridden')],
    });
  });

  it("translates defaults: boolean 1/0, b'0', CURRENT_TIMESTAMP(6), literals with quotes and ?", async () => {
    const cols = Object.fromEntries(userReport().columns.map((c) => [c.column, c]));
    expect(cols['is_active']).toMatchObject({ to: 'boolean', defaultTo: 'true' });
    expect(cols['flags']).toMatchObject({ to: 'boolean', defaultTo: 'false' });
    expect(cols['mask']).toMatchObject({ to: 'bit(4)', defaultTo: "B'0101'" });
    expect(cols['created_at']).toMatchObject({
      to: 'timestamp(6)',
      defaultTo: "(CURRENT_TIMESTAMP(6) AT TIME ZONE 'UTC')",
    });
    expect(cols['touched']).toMatchObject({ to: 'timestamptz(0)', defaultTo: null });
    await dbs.pg('user').insert({ id: 'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', email: 'c@x.test' });
    const row = (await dbs.pg('user').where({ email: 'c@x.test' }).first()) as Record<string, unknown>;
    expect(row).toMatchObject({ order: 0, is_active: true, flags: false, mask: '0101', note: "it's ?" });
    const now = await dbs.pg.raw(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS d`);
    expect(String(row['created_at']).slice(0, 10)).toBe((now.rows[0] as { d: string }).d);
  });

  it('quotes reserved identifiers and keeps generated names unique within 63 bytes', async () => {
    const pg = await introspectPostgres(dbs.pg);
    const long = pg.tables.find((t) => t.name === LONG);
    const names = [...(long?.indexes ?? []), ...(long?.uniqueKeys ?? [])].map((i) => i.name);
    expect(names).toHaveLength(3); // two keys + the index MariaDB adds for the foreign key
    expect(new Set(names).size).toBe(3);
    for (const n of names) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
    expect(long?.foreignKeys[0]).toMatchObject({
      referencedTable: 'user',
      onDelete: 'SET NULL',
      onUpdate: 'CASCADE',
    });
    expect(long?.columns.find((c) => c.name === 'code')?.comment).toBe('case matters');
    expect(pg.tables.find((t) => t.name === 'user')?.comment).toBe('people');
  });

  it('enforces case-insensitive unique keys of _ci columns on lower(col), and exact ones plainly', async () => {
    await expect(
      dbs.pg('user').insert({ id: 'd0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14', email: 'C@X.TEST' }),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      dbs.mysql('user').insert({ id: 'd0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14', email: 'A@X.TEST' }),
    ).rejects.toThrow(/Duplicate entry/);
    await dbs.pg(LONG).insert([{ code: 'abc' }, { code: 'ABC' }]);
    expect(userReport().warnings.join()).toContain('lower(email)');
  });

  it('converts AUTO_INCREMENT to identity and resets the sequence after explicit ids', async () => {
    await dbs.pg(LONG).insert({ n: 100, code: 'explicit' });
    await resetSequences(dbs.pg, LONG);
    const [row] = (await dbs.pg(LONG).insert({ code: 'next' }).returning('n')) as { n: string }[];
    expect(Number(row?.n)).toBe(101);
  });

  it('mimics ON UPDATE CURRENT_TIMESTAMP: only when another column changed, never for sync writes', async () => {
    const id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
    const old = '2001-01-01 00:00:00';
    await dbs.pg('user').insert({ id, email: 'e@x.test', updated_at: old, touched: `${old}+00` });
    const read = async () => (await dbs.pg('user').where({ id }).first()) as Record<string, string>;

    await dbs.pg('user').where({ id }).update({ email: 'e@x.test' }); // no-op update
    expect(await read()).toMatchObject({ updated_at: old, touched: `${old}+00` });

    await dbs.pg('user').where({ id }).update({ order: 5, updated_at: '2002-02-02 00:00:00' }); // explicit value kept
    const explicit = await read();
    expect(explicit['updated_at']).toBe('2002-02-02 00:00:00');
    expect(explicit['touched']).not.toBe(`${old}+00`);

    await dbs.pg.transaction(async (trx) => {
      await trx.raw(`SELECT set_config('dualwrite.sync', '1', true)`);
      await trx('user').where({ id }).update({ order: 6 });
    });
    expect((await read())['updated_at']).toBe('2002-02-02 00:00:00');

    await dbs.pg('user').where({ id }).update({ order: 7 });
    const changed = await read();
    expect(changed['updated_at']).not.toBe('2002-02-02 00:00:00');
    expect(changed['updated_at']!.slice(0, 4)).toBe(String(new Date().getUTCFullYear()));
  });

  it('TIME becomes interval, or time of day when the config says so', async () => {
    const hits = result.report.tables
      .find((t) => t.name === 'tokens')
      ?.columns.find((c) => c.column === 'hits');
    expect(hits?.to).toBe('time(0)');
    const tr = buildTranslators(await introspectMysql(dbs.mysql), await introspectPostgres(dbs.pg)).table(
      'tokens',
    );
    const [row] = (await dbs.mysql('tokens').select('*')) as Row[];
    await dbs.pg('tokens').insert(tr.translate(row as Row, 'mysql'));
    const [pgRow] = (await dbs.pg('tokens').select('*')) as Row[];
    expect(pgRow).toMatchObject({ id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', hits: '10:30:00' });
    expect(tr.toApp(pgRow as Row, 'postgres')).toEqual(tr.toApp(row as Row, 'mysql'));
    expect(() => tr.translate({ id: 'x', hits: '25:00:00' }, 'mysql')).toThrow(/not a time of day/);
  });

  it('converts prefix indexes to left()/substring(), TIMESTAMP literal defaults as UTC, curdate() and uuid()', async () => {
    expect(result.ddl).toContain('"tokens_ix_notes" ON "tokens" ((left("notes", 10)))');
    expect(result.ddl).toContain('"tokens_uq_bin" ON "tokens" ((substring("bin" from 1 for 4)))');
    await dbs.pg.transaction(async (trx) => {
      await trx.raw("SET LOCAL TimeZone = 'America/New_York'");
      // a value far beyond btree's entry size limit is still indexable through its prefix
      await trx('tokens').insert({ id: 'long', notes: 'x'.repeat(20_000), bin: Buffer.from('abcd1') });
    });
    const row = (await dbs.pg('tokens').where({ id: 'long' }).first()) as Row;
    expect(row['stamp']).toBe('2001-02-03 04:05:06+00');
    expect(row['made']).toBe(new Date().toISOString().slice(0, 10));
    expect(String(row['ref'])).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    await expect(dbs.pg('tokens').insert({ id: 'other', bin: Buffer.from('abcd2') })).rejects.toThrow(
      /duplicate key/,
    );
  });

  it('lists views and routines as not converted', () => {
    expect(result.report.notConverted).toEqual([
      { kind: 'view', name: 'active_users', reason: expect.stringContaining('not translated') },
    ]);
    expect(result.ddl).not.toContain('active_users');
  });
});
