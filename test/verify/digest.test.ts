import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import { findTable, type DatabaseSchema } from '../../lib/schema/model.js';
import type { Side } from '../../lib/stage/stage.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { keyOrder } from '../../lib/verify/chunks.js';
import { planDigest, type DigestPlan } from '../../lib/verify/columns.js';
import { digestRange, type ChunkDigest } from '../../lib/verify/digest.js';
import { verify, type VerifyOptions } from '../../lib/verify/verify.js';
import { useFreshDatabases } from '../support/databases.js';
import { verifyOptions } from './options.js';

// One column per type family, as the schema conversion turns them into PostgreSQL columns.
const MYSQL_DDL = `CREATE TABLE kinds (
  id INT NOT NULL PRIMARY KEY,
  i INT NULL,
  big BIGINT UNSIGNED NULL,
  amount DECIMAL(12,4) NULL,
  dbl DOUBLE NULL,
  flt FLOAT NULL,
  vc VARCHAR(40) NULL,
  ch CHAR(8) NULL,
  txt TEXT NULL,
  latin VARCHAR(20) CHARACTER SET latin1 NULL,
  uid CHAR(36) NULL,
  size ENUM('small','medium','large') NULL,
  tags SET('a','b','c') NULL,
  flag TINYINT(1) NULL,
  bits BIT(12) NULL,
  bin VARBINARY(16) NULL,
  fixed BINARY(4) NULL,
  blb BLOB NULL,
  d DATE NULL,
  dt DATETIME NULL,
  dt6 DATETIME(6) NULL,
  ts3 TIMESTAMP(3) NULL,
  tm TIME(6) NULL,
  yr YEAR NULL,
  doc JSON NULL
)`;

const ROWS = 40;
const uuid = (i: number): string =>
  `${String(i).padStart(8, '0')}-0000-4000-8000-${String(i * 7).padStart(12, '0')}`;
const row = (i: number): Record<string, unknown> => ({
  id: i,
  i: i * 1000 - 20_000,
  big: i === 1 ? '18446744073709551615' : String(i * 123_456_789),
  amount: `${i}.${String(i * 37)
    .padStart(4, '0')
    .slice(-4)}`,
  dbl: i === 1 ? 0.1 : i * 1.25e-3,
  flt: i * 0.5,
  vc: `value ${i}`,
  ch: `c${i}`,
  txt: i === 2 ? '' : i === 3 ? null : `héllo 😀 ${i}\nline "two" \\ tab\t`,
  latin: `café ${i}`,
  uid: uuid(i),
  size: (['small', 'medium', 'large'] as const)[i % 3],
  tags: i % 4 === 0 ? '' : 'a,c',
  flag: i % 2 === 0,
  bits: Buffer.from([(i >> 4) & 0x0f, (i * 3) & 0xff]),
  bin: Buffer.from([0x00, i, 0xff, 0x10]),
  fixed: Buffer.from([i, 0x00]),
  blb: Buffer.from(`blob ${i}\u0000end`),
  d: `2024-02-${String((i % 28) + 1).padStart(2, '0')}`,
  dt: `2023-12-31 23:59:${String(i % 60).padStart(2, '0')}`,
  dt6:
    i === 4
      ? '2024-01-02 03:04:05.000000'
      : `2024-01-02 03:04:05.${String(i * 12_345)
          .padStart(6, '0')
          .slice(-6)}`,
  ts3: `2030-06-15 12:00:00.${String(i * 7)
    .padStart(3, '0')
    .slice(-3)}`,
  tm: i === 5 ? '-838:59:59.000000' : `${100 + i}:00:01.${String(i).padStart(6, '0')}`,
  yr: 1990 + i,
  doc: JSON.stringify({
    name: `patient ${i}`,
    score: i,
    nested: { list: [1, 'two', null, true] },
    ok: i % 2 === 0,
  }),
});

/** A difference planted on PostgreSQL behind dualwrite's back: one character, microsecond or bit. */
interface Plant {
  column: string;
  id: number;
  sql: string;
}
const PLANTS: Plant[] = [
  { column: 'i', id: 6, sql: 'i = i + 1' },
  { column: 'big', id: 1, sql: 'big = big - 1' },
  { column: 'amount', id: 7, sql: 'amount = amount + 0.0001' },
  { column: 'dbl', id: 1, sql: 'dbl = 0.10000000000000002' }, // the next double: one bit
  { column: 'vc', id: 8, sql: "vc = overlay(vc placing 'V' from 1 for 1)" },
  { column: 'ch', id: 9, sql: "ch = 'c9x'" },
  { column: 'txt', id: 10, sql: "txt = replace(txt, '😀', '😁')" },
  { column: 'txt', id: 2, sql: 'txt = NULL' }, // '' on MySQL
  { column: 'txt', id: 3, sql: "txt = ''" }, // NULL on MySQL
  { column: 'latin', id: 11, sql: "latin = replace(latin, 'é', 'è')" },
  { column: 'uid', id: 12, sql: "uid = overlay(uid::text placing 'f' from 36 for 1)::uuid" },
  { column: 'size', id: 13, sql: "size = 'large'" },
  { column: 'tags', id: 14, sql: "tags = '{a}'" },
  { column: 'flag', id: 15, sql: 'flag = NOT flag' },
  { column: 'bits', id: 16, sql: "bits = bits # B'000000000001'" },
  { column: 'bin', id: 17, sql: 'bin = set_byte(bin, 3, get_byte(bin, 3) # 1)' },
  { column: 'fixed', id: 18, sql: 'fixed = set_byte(fixed, 3, 1)' },
  { column: 'blb', id: 19, sql: 'blb = set_byte(blb, 0, get_byte(blb, 0) # 128)' },
  { column: 'd', id: 20, sql: 'd = d + 1' },
  { column: 'dt', id: 21, sql: "dt = dt + interval '1 second'" },
  { column: 'dt6', id: 22, sql: "dt6 = dt6 + interval '1 microsecond'" },
  { column: 'dt6', id: 4, sql: "dt6 = dt6 + interval '1 microsecond'" }, // .000000 on MySQL
  { column: 'ts3', id: 23, sql: "ts3 = ts3 + interval '1 millisecond'" },
  { column: 'tm', id: 24, sql: "tm = tm + interval '1 microsecond'" },
  { column: 'tm', id: 5, sql: "tm = tm + interval '1 second'" }, // -838:59:59 on MySQL
  { column: 'yr', id: 25, sql: 'yr = yr + 1' },
  { column: 'doc', id: 26, sql: `doc = jsonb_set(doc, '{name}', '"patient 2x"')` },
  { column: 'doc', id: 27, sql: `doc = jsonb_set(doc, '{nested,list,0}', '2')` },
  { column: 'flt', id: 28, sql: 'flt = flt + 0.5' },
];

const dbs = useFreshDatabases('dwvdigest');
const flavour = process.env['DUALWRITE_TEST_FLAVOUR'] === 'mariadb' ? 'mariadb' : 'mysql';
let dir: string;
let schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
let translators: TranslatorSet;
let syncer: KeySyncer;
let plan: DigestPlan;

function options(): VerifyOptions {
  return verifyOptions({ dbs, dir, translators, schemas }, {}, { tables: ['kinds'], writeReport: false });
}

/** Both servers' in-database digests of the whole table. */
async function digests(): Promise<Record<Side, ChunkDigest>> {
  const tr = translators.table('kinds');
  const one = (side: Side) =>
    digestRange(
      side === 'mysql' ? dbs.mysql : dbs.pg,
      {
        side,
        translator: tr,
        order: keyOrder(
          side,
          findTable(schemas[side], 'kinds'),
          tr.primaryKey,
          findTable(schemas.postgres, 'kinds'),
        ),
        after: undefined,
        upTo: undefined,
      },
      plan,
      new Set(),
    );
  return { mysql: await one('mysql'), postgres: await one('postgres') };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-vdigest-'));
  await dbs.mysql.raw(MYSQL_DDL);
  await dbs.mysql('kinds').insert(Array.from({ length: ROWS }, (_, i) => row(i + 1)));
  await initMetaTables(dbs.mysql, dbs.pg);
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  translators = buildTranslators(schemas.mysql, schemas.postgres);
  syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
  await syncer.sync(
    'kinds',
    Array.from({ length: ROWS }, (_, i) => [i + 1]),
    'mysql',
  );
  const tr = translators.table('kinds');
  plan = planDigest({
    translator: tr,
    mysql: findTable(schemas.mysql, 'kinds'),
    pg: findTable(schemas.postgres, 'kinds'),
    flavour,
    columns: tr.columns,
    overrides: {},
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('in-database chunk digests', () => {
  it('renders equal values byte for byte alike on both servers: one digest, no row fetched', async () => {
    const nodeColumns = flavour === 'mariadb' ? ['flt', 'doc'] : ['flt'];
    expect(plan.nodeColumns).toEqual(nodeColumns);
    const result = await verify(options());
    const kinds = result.tables[0];
    expect(kinds).toMatchObject({
      rowsCompared: ROWS,
      missing: 0,
      extra: 0,
      different: 0,
      differentChunks: 0,
    });
    expect(kinds?.columns.filter((c) => c.path === 'node').map((c) => c.column)).toEqual(nodeColumns);
    expect(kinds?.columns.find((c) => c.column === 'flt')?.reason).toMatch(/FLOAT/);
    const d = await digests();
    expect(d.mysql).toEqual(d.postgres);
    expect(d.mysql.hash).toMatch(/^-?\d+$/);
  });

  it.each(PLANTS)('catches a one-unit change of $column (row $id)', async ({ column, id, sql }) => {
    await dbs.pg.raw(`UPDATE kinds SET ${sql} WHERE id = ?`, [id]);
    try {
      const d = await digests();
      if (plan.nodeColumns.includes(column)) {
        // Hashed in Node for this flavour: the Node digest of those columns catches it.
        expect(d.mysql.hash).toBe(d.postgres.hash);
        expect(d.mysql.node).not.toBe(d.postgres.node);
      } else {
        expect(d.mysql.hash).not.toBe(d.postgres.hash);
      }
      const result = await verify(options());
      const kinds = result.tables[0];
      expect(kinds).toMatchObject({ missing: 0, extra: 0, different: 1, differentChunks: 1 });
      expect(kinds?.examples.map((e) => [e.key, e.columns.map((c) => c.column)])).toEqual([[[id], [column]]]);
    } finally {
      await syncer.sync('kinds', [[id]], 'mysql');
    }
    const again = await digests();
    expect(again.mysql).toEqual(again.postgres);
  });

  it('takes the canonical form, not the stored text: upper-case UUIDs and trailing CHAR spaces are equal', async () => {
    await dbs.mysql.raw('UPDATE kinds SET uid = UPPER(uid), ch = ? WHERE id = 30', ['c30   ']);
    try {
      const d = await digests();
      expect(d.mysql).toEqual(d.postgres);
      expect((await verify(options())).clean).toBe(true);
    } finally {
      await dbs.mysql.raw('UPDATE kinds SET uid = LOWER(uid) WHERE id = 30');
    }
  });

  it('finds rows missing and extra on PostgreSQL', async () => {
    await dbs.pg('kinds').where({ id: 31 }).delete();
    await dbs.pg.raw('INSERT INTO kinds (id, i) VALUES (900, 1)');
    try {
      const result = await verify(options());
      expect(result.tables[0]).toMatchObject({ rowsCompared: ROWS + 1, missing: 1, extra: 1, different: 0 });
    } finally {
      await syncer.sync('kinds', [[31], [900]], 'mysql');
    }
    expect((await verify(options())).clean).toBe(true);
  });
});
