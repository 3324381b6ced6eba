import { beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { RowTranslator, Row } from '../../lib/translate/types.js';
import {
  createDatabases,
  dropDatabases,
  type TestDatabases,
  uniqueDatabaseName,
  useFreshDatabases,
} from '../support/databases.js';
import { byFlavour } from '../support/flavours.js';

const dbs = useFreshDatabases('dwmatrix');

const MYSQL_COLUMNS = `
  id INT NOT NULL PRIMARY KEY,
  b TINYINT(1) NULL, bit1 BIT(1) NULL,
  ti TINYINT NULL, tiu TINYINT UNSIGNED NULL, si SMALLINT NULL, mi MEDIUMINT NULL,
  i INT NULL, iu INT UNSIGNED NULL, bi BIGINT NULL, biu BIGINT UNSIGNED NULL,
  dec1 DECIMAL(20,6) NULL, fl FLOAT NULL, db DOUBLE NULL,
  ch CHAR(10) NULL, vc VARCHAR(100) NULL, tx TEXT NULL,
  bin BINARY(4) NULL, vb VARBINARY(10) NULL, bl BLOB NULL, bits BIT(10) NULL,
  en ENUM('small','medium','large') NULL, st SET('a','b','c') NULL,
  d DATE NULL, dt DATETIME NULL, dt6 DATETIME(6) NULL, ts TIMESTAMP(3) NULL,
  tm TIME NULL, tm6 TIME(6) NULL, yr YEAR NULL, js JSON NULL, u CHAR(36) NULL`;

const PG_DDL = `
  CREATE TYPE matrix_en AS ENUM ('small','medium','large');
  CREATE TYPE matrix_st AS ENUM ('a','b','c');
  CREATE TABLE matrix (
    id integer PRIMARY KEY, b boolean, bit1 boolean,
    ti smallint, tiu smallint, si smallint, mi integer, i integer, iu bigint, bi bigint, biu numeric(20,0),
    dec1 numeric(20,6), fl real, db double precision,
    ch varchar(10), vc varchar(100), tx text, bin bytea, vb bytea, bl bytea, bits bit(10),
    en matrix_en, st matrix_st[], d date, dt timestamp(0), dt6 timestamp(6), ts timestamptz(3),
    tm interval, tm6 interval, yr smallint, js jsonb, u uuid)`;

/** Edge values, written to MySQL as SQL literals so MySQL's own coercions (SET order, ENUM case...) apply. */
const ROWS: string[] = [
  // all NULL
  '(1' + ', NULL'.repeat(31) + ')',
  // lower bounds and empties
  `(2, 0, b'0', -128, 0, -32768, -8388608, -2147483648, 0, -9223372036854775808, 0,
    -99999999999999.999999, -3.40282e38, -1.7976931348623157e308, '', '', '',
    X'00000000', '', '', b'0', 'small', '', '1000-01-01', '1000-01-01 00:00:00',
    '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000', '-838:59:59', '-838:59:59.000000', 1901, '{}',
    '00000000-0000-0000-0000-000000000000')`,
  // upper bounds, 4-byte characters, nested unicode JSON, big numbers
  `(3, 1, b'1', 127, 255, 32767, 8388607, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
    99999999999999.999999, 3.40282e38, 1.7976931348623157e308, 'abc', '😀 𝄞 日本語 ✓', REPEAT('🦄x', 1000),
    X'DEADBEEF', X'00FF00', X'0001FEFF', b'1111111111', 'large', 'a,b,c', '9999-12-31', '9999-12-31 23:59:59',
    '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', '838:59:59', '838:59:59.000000', 2155,
    '{"b":[1,2,{"c":"é😀\\\\n"}],"a":12345678901234567890123,"z":1.5e3,"n":null,"t":true,"f":-0.0001}',
    'F0E1D2C3-B4A5-4697-8879-6A5B4C3D2E1F')`,
  // MySQL coercions: tinyint(1)=2, ENUM case, SET order/duplicates, fractions, trailing spaces, JSON duplicates
  `(4, 2, b'1', 5, 6, 7, 8, 9, 10, 9007199254740993, 9007199254740993, 1.5, 123456.789, 0.1,
    'pad  ', 'trail  ', 'a\\tb\\nc', X'01', X'', X'00', b'0000000101', 'MEDIUM', 'c,a,c', '2024-02-29',
    '2024-02-29 12:34:56', '2024-02-29 12:34:56.123400', '2024-02-29 12:34:56.5', '-00:00:01',
    '-00:00:01.250000', 0, '{"a":1,"a":[],"A":{"y":2,"x":1}}', '3f2504e0-4f89-11d3-9a0c-0305e82c3301')`,
  `(5, 0, b'0', 0, 0, 0, 0, 0, 0, 0, 0, 0.000001, 0, -0, 'x', 'x', 'x', X'FF', X'FF', X'FF', b'1000000000',
    'medium', 'b', '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00.001',
    '00:00:00', '00:00:00.000001', 2000, '[1, "two", [3.0], {"four": 4}]', NULL)`,
];

let tr: RowTranslator;

async function readMysql(table: string): Promise<Row[]> {
  return (await dbs.mysql(table).select('*').orderBy('id')) as Row[];
}

beforeAll(async () => {
  await dbs.mysql.raw(`CREATE TABLE matrix (${MYSQL_COLUMNS})`);
  await dbs.mysql.raw(`CREATE TABLE matrix_back (${MYSQL_COLUMNS})`);
  await dbs.mysql.raw(`INSERT INTO matrix VALUES ${ROWS.join(',\n')}`);
  await dbs.pg.raw(PG_DDL);
  const mysqlSchema = await introspectMysql(dbs.mysql);
  const pgSchema = await introspectPostgres(dbs.pg);
  tr = buildTranslators(mysqlSchema, pgSchema).table('matrix');
});

describe('type matrix: MySQL → PostgreSQL → MySQL', () => {
  it('picks a translation family per column from both schemas', () => {
    expect(tr.columns).toHaveLength(32);
    const kinds = (tr as unknown as { columnKinds(): Record<string, string> }).columnKinds();
    expect(kinds).toMatchObject({
      b: 'boolean',
      bit1: 'boolean',
      biu: 'integer',
      dec1: 'decimal',
      fl: 'float',
      db: 'double',
      ch: 'text',
      bin: 'binary',
      bits: 'bit',
      en: 'enum',
      st: 'set',
      dt6: 'datetime',
      ts: 'timestamp',
      tm: 'time',
      yr: 'year',
      js: 'json',
      u: 'uuid',
    });
  });

  it('round-trips every edge value equal under normalisation, with one app shape on both sides', async () => {
    const source = await readMysql('matrix');
    expect(source).toHaveLength(ROWS.length);
    await dbs.pg('matrix').insert(source.map((r) => tr.translate(r, 'mysql')));
    const inPg = (await dbs.pg('matrix').select('*').orderBy('id')) as Row[];

    await dbs.mysql('matrix_back').insert(inPg.map((r) => tr.translate(r, 'postgres')));
    const back = await readMysql('matrix_back');

    for (let i = 0; i < source.length; i++) {
      const m = source[i] as Row;
      const p = inPg[i] as Row;
      const b = back[i] as Row;
      expect(tr.normalize(p, 'postgres'), `row ${String(m['id'])} in PG`).toEqual(tr.normalize(m, 'mysql'));
      expect(tr.normalize(b, 'mysql'), `row ${String(m['id'])} back in MySQL`).toEqual(
        tr.normalize(m, 'mysql'),
      );
      expect(tr.toApp(p, 'postgres'), `app shape of row ${String(m['id'])}`).toEqual(tr.toApp(m, 'mysql'));
    }
  });

  it('gives the documented app shape', async () => {
    const [, , max, coerced] = await readMysql('matrix');
    const app = tr.toApp(max as Row, 'mysql');
    expect(app).toMatchObject({
      b: true,
      ti: 127,
      iu: 4294967295,
      bi: '9223372036854775807',
      biu: '18446744073709551615',
      dec1: '99999999999999.999999',
      fl: 3.40282e38,
      ch: 'abc',
      en: 'large',
      st: 'a,b,c',
      d: '9999-12-31',
      dt: '9999-12-31 23:59:59',
      dt6: '9999-12-31 23:59:59.999999',
      ts: '2038-01-19 03:14:07.999',
      tm: '838:59:59',
      yr: 2155,
      u: 'f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f',
    });
    expect(app['bin']).toEqual(Buffer.from('deadbeef', 'hex'));
    expect(app['bits']).toEqual(Buffer.from([0x03, 0xff]));
    expect((app['js'] as Record<string, unknown>)['b']).toEqual([1, 2, { c: 'é😀\n' }]);
    const c = tr.toApp(coerced as Row, 'mysql');
    expect(c).toMatchObject({
      b: true,
      en: 'medium',
      st: 'a,c',
      bi: 9007199254740993n.toString(),
      ch: 'pad',
    });
    expect(c['fl']).toBe(123457);
    expect(c['ts']).toBe('2024-02-29 12:34:56.500');
  });

  it('normalises JSON to one canonical text on both sides, numbers as the MySQL side holds them', async () => {
    const rows = (await dbs.pg('matrix').select('id', 'js').whereIn('id', [3, 4]).orderBy('id')) as Row[];
    const norm = rows.map((r) => tr.normalize(r, 'postgres')['js']);
    // MariaDB stores the text verbatim; MySQL's binary JSON holds a 23-digit integer as a double.
    const big = byFlavour({ mysql: '12345678901234568000000', mariadb: '12345678901234567890123' });
    expect(norm[0]).toBe(`{"a":${big},"b":[1,2,{"c":"é😀\\n"}],"f":-0.0001,"n":null,"t":true,"z":1500}`);
    // jsonb keeps the last duplicate, as do MySQL and the canonical form of MariaDB's verbatim text
    expect(norm[1]).toBe('{"A":{"x":1,"y":2},"a":[]}');
  });

  it('writes app JSON to PostgreSQL holding the numbers MySQL would hold, so both sides keep one document', async () => {
    const doc = '{"big": 12345678901234567890123, "small": 42, "u64": 18446744073709551615, "f": 0.1}';
    const forPg = tr.prepareWrite({ id: 90, js: doc }, 'postgres')['js'] as string;
    await dbs.mysql('matrix_back').insert({ id: 90, js: doc });
    await dbs.pg('matrix').insert({ id: 90, js: forPg });
    const [m] = (await dbs.mysql('matrix_back').select('js').where({ id: 90 })) as Row[];
    const [p] = (await dbs.pg('matrix').select('js').where({ id: 90 })) as Row[];
    expect(tr.normalize(p as Row, 'postgres')['js']).toBe(tr.normalize(m as Row, 'mysql')['js']);
    // What each side actually stores, read back as text.
    const [[raw]] = (await dbs.mysql.raw('SELECT CAST(js AS CHAR) AS t FROM matrix_back WHERE id = 90')) as [
      { t: string }[],
    ];
    const { rows: pgRaw } = (await dbs.pg.raw('SELECT js::text AS t FROM matrix WHERE id = 90')) as {
      rows: { t: string }[];
    };
    const big = (text: string) => /"big": ?([^,}]+)/.exec(text)?.[1];
    expect(Number(big(raw?.t ?? ''))).toBe(Number(big(pgRaw[0]?.t ?? '')));
    expect(big(pgRaw[0]?.t ?? '')).toBe(
      byFlavour({ mysql: '12345678901234568000000', mariadb: '12345678901234567890123' }),
    );
    expect(big(raw?.t ?? '')).toBe(
      byFlavour({ mysql: '1.2345678901234568e22', mariadb: '12345678901234567890123' }),
    );
  });
});

describe('spatial columns ↔ bytea', () => {
  it('round-trip MySQL → PostgreSQL → MySQL and show the app mysql2’s parsed shape', async () => {
    await dbs.mysql.raw(
      'CREATE TABLE geo (id INT PRIMARY KEY, p POINT, l LINESTRING, g GEOMETRY, back INT NULL)',
    );
    await dbs.mysql.raw(`INSERT INTO geo (id, p, l, g) VALUES
      (1, ST_GeomFromText('POINT(1.5 -2)'), ST_GeomFromText('LINESTRING(0 0,1 1,2 0)'),
          ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'))`);
    await dbs.pg.raw('CREATE TABLE geo (id integer PRIMARY KEY, p bytea, l bytea, g bytea, back integer)');
    const geo = buildTranslators(await introspectMysql(dbs.mysql), await introspectPostgres(dbs.pg)).table(
      'geo',
    );
    const [row] = (await dbs.mysql('geo').select('*')) as Row[];
    await dbs.pg('geo').insert(geo.translate(row as Row, 'mysql'));
    const [pgRow] = (await dbs.pg('geo').select('*')) as Row[];
    expect(geo.normalize(pgRow as Row, 'postgres')).toEqual(geo.normalize(row as Row, 'mysql'));
    expect(geo.toApp(pgRow as Row, 'postgres')).toEqual(geo.toApp(row as Row, 'mysql'));
    await dbs.mysql('geo').insert({ ...geo.translate(pgRow as Row, 'postgres'), id: 2, back: 1 });
    const texts = (
      await dbs.mysql.raw('SELECT ST_AsText(p) p, ST_AsText(l) l, ST_AsText(g) g FROM geo ORDER BY id')
    )[0];
    expect(texts[1]).toEqual(texts[0]);
  });
});

// Types the public sample databases of test/fixtures/corpus bring (see docs/type-mapping.md): converted
// by dualwrite itself, round-tripped MySQL → PostgreSQL → MySQL, one app shape on both sides.
const CORPUS_COLUMNS = `
  id INT NOT NULL PRIMARY KEY,
  nv VARCHAR(40) CHARACTER SET utf8mb3 NULL,
  l1 VARCHAR(70) CHARACTER SET latin1 NULL,
  num NUMERIC(10,2) NULL, money DECIMAL(19,4) NULL, wide VARCHAR(4000) NULL,
  mt MEDIUMTEXT NULL, lt LONGTEXT NULL, mb MEDIUMBLOB NULL, lb LONGBLOB NULL,
  cont ENUM('Asia','Europe','North America','South America') NULL, tf ENUM('T','F') NOT NULL DEFAULT 'F',
  yr SMALLINT NULL, doc JSON NULL,
  gid VARBINARY(32) GENERATED ALWAYS AS (json_unquote(json_extract(doc, _utf8mb4'$._id'))) STORED,
  gschema JSON GENERATED ALWAYS AS (_utf8mb4'{"type":"object"}') VIRTUAL`;

describe('types the corpus brings', () => {
  it('converts them, and round-trips every value MySQL → PostgreSQL → MySQL with one app shape', async () => {
    // Databases of its own: dualwrite converts every table of the MySQL database.
    const own = await createDatabases(uniqueDatabaseName('dwcorptypes'));
    try {
      await corpusTypes(own);
    } finally {
      await dropDatabases(own);
    }
  });
});

async function corpusTypes(dbs: TestDatabases): Promise<void> {
  for (const t of ['corpus_types', 'corpus_types_back']) {
    await dbs.mysql.raw(`CREATE TABLE ${t} (${CORPUS_COLUMNS}) DEFAULT CHARSET=utf8mb4`);
  }
  await dbs.mysql.raw(`INSERT INTO corpus_types (id) VALUES (1)`);
  await dbs.mysql
    .raw(`INSERT INTO corpus_types (id, nv, l1, num, money, wide, mt, lt, mb, lb, cont, tf, yr, doc)
      VALUES (2, 'São Paulo ß', 'Bob’s ¼ café', 12345678.99, -922337203685477.5808, REPEAT('x', 4000),
        'line\\r\\nnext', REPEAT('é', 5000), X'00FF', '', 'North America', 'T', -1523,
        '{"_id": "00005de917d80000000000000000", "Name": "Aruba", "LifeExpectancy": 78.4000015258789, "IndepYear": null}')`);
  const conversion = await convertDatabase(dbs.mysql);
  const columns = Object.fromEntries(
    conversion.report.tables.find((t) => t.name === 'corpus_types')!.columns.map((c) => [c.column, c.to]),
  );
  expect(columns).toMatchObject({
    nv: 'varchar(40)',
    l1: 'varchar(70)',
    num: 'numeric(10,2)',
    money: 'numeric(19,4)',
    wide: 'varchar(4000)',
    mt: 'text',
    lt: 'text',
    mb: 'bytea',
    lb: 'bytea',
    cont: '"corpus_types_cont_t"',
    tf: '"corpus_types_tf_t"',
    yr: 'smallint',
    doc: 'jsonb',
    gid: 'bytea',
    gschema: 'jsonb',
  });
  await applySchema(dbs.pg, conversion);
  const pgSchema = await introspectPostgres(dbs.pg);
  // PostgreSQL computes both generated columns itself.
  const pgColumns = pgSchema.tables.find((t) => t.name === 'corpus_types')!.columns;
  expect(pgColumns.filter((c) => c.generated).map((c) => c.name)).toEqual(['gid', 'gschema']);
  const corpus = buildTranslators(await introspectMysql(dbs.mysql), pgSchema).table('corpus_types');

  const source = (await dbs.mysql('corpus_types').select('*').orderBy('id')) as Row[];
  await dbs.pg('corpus_types').insert(source.map((r) => corpus.translate(r, 'mysql')));
  const inPg = (await dbs.pg('corpus_types').select('*').orderBy('id')) as Row[];
  await dbs.mysql('corpus_types_back').insert(inPg.map((r) => corpus.translate(r, 'postgres')));
  const again = (await dbs.mysql('corpus_types_back').select('*').orderBy('id')) as Row[];
  for (let i = 0; i < source.length; i++) {
    const m = source[i] as Row;
    expect(corpus.normalize(inPg[i] as Row, 'postgres'), `row ${String(m['id'])} in PG`).toEqual(
      corpus.normalize(m, 'mysql'),
    );
    expect(corpus.normalize(again[i] as Row, 'mysql'), `row ${String(m['id'])} back`).toEqual(
      corpus.normalize(m, 'mysql'),
    );
    expect(corpus.toApp(inPg[i] as Row, 'postgres')).toEqual(corpus.toApp(m, 'mysql'));
  }
  const app = corpus.toApp(source[1] as Row, 'mysql');
  expect(app).toMatchObject({
    nv: 'São Paulo ß',
    l1: 'Bob’s ¼ café',
    num: '12345678.99',
    money: '-922337203685477.5808',
    mt: 'line\r\nnext',
    cont: 'North America',
    tf: 'T',
    yr: -1523,
  });
  expect(app['lb']).toEqual(Buffer.alloc(0));
  expect(app['mb']).toEqual(Buffer.from([0x00, 0xff]));
  expect(app['gid']).toEqual(Buffer.from('00005de917d80000000000000000'));
  expect(app['gschema']).toEqual({ type: 'object' });
  // latin1 is cp1252 in MySQL: ’ is stored as the single byte 0x92.
  const [[bytes]] = (await dbs.mysql.raw('SELECT HEX(l1) AS h FROM corpus_types WHERE id = 2')) as [
    { h: string }[],
  ];
  expect(bytes?.h).toBe('426F62927320BC20636166E9');
}
