import { beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { TranslationError, ValueProblem } from '../../lib/errors.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { Row, RowTranslator, TranslatorSet } from '../../lib/translate/types.js';
import { useFreshDatabases } from '../support/databases.js';

// One test per trap of shared/reference/mysql-to-postgres.md §2 that concerns values, showing the
// handling dualwrite chose. Schema-level traps (1, 13, 14, 15, 21) are shown in test/schema/convert.test.ts.
const dbs = useFreshDatabases('dwtraps');
let set: TranslatorSet;
let tr: RowTranslator;

beforeAll(async () => {
  await dbs.mysql.raw(`CREATE TABLE t (
    id CHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(50) COLLATE utf8mb4_general_ci NULL,
    code CHAR(5) NULL,
    legacy VARCHAR(20) CHARACTER SET utf8mb3 NULL,
    stripped VARCHAR(20) NULL,
    d DATE NULL, dz DATE NULL, dt DATETIME NULL, ts TIMESTAMP NULL,
    status ENUM('active','inactive') NULL, tags SET('x','y','z') NULL,
    doc JSON NULL, small TINYINT NULL, f FLOAT NULL)`);
  await dbs.pg.raw(`CREATE TYPE t_status_t AS ENUM ('active','inactive');
    CREATE TYPE t_tags_t AS ENUM ('x','y','z');
    CREATE TABLE t (id uuid PRIMARY KEY, name varchar(50), code varchar(5), legacy varchar(20), stripped varchar(20),
      d date, dz date, dt timestamp(0), ts timestamptz(0), status t_status_t, tags t_tags_t[], doc jsonb,
      small smallint CHECK (small BETWEEN -128 AND 127), f real)`);
  set = buildTranslators(await introspectMysql(dbs.mysql), await introspectPostgres(dbs.pg), {
    tables: { t: { columns: { stripped: { transform: 'strip-nul' }, dz: { zeroDate: 'null' } } } },
  });
  tr = set.table('t');
});

const ID = '5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f';

function problemOf(fn: () => unknown): { problem: string; column: string | undefined; key: unknown } {
  try {
    fn();
  } catch (error) {
    if (error instanceof TranslationError)
      return { problem: error.problem, column: error.column, key: error.key };
    throw error;
  }
  throw new Error('expected a TranslationError');
}

async function viaMysql(values: Row, laxMode = false): Promise<Row> {
  await dbs.mysql('t').delete();
  if (laxMode) {
    // Legacy data written under MariaDB's permissive defaults (dualwrite's own sessions refuse it).
    await dbs.mysql.transaction(async (trx) => {
      await trx.raw("SET SESSION sql_mode = ''");
      await trx('t').insert({ id: ID, ...values });
      await trx.raw("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE'");
    });
  } else {
    await dbs.mysql('t').insert({ id: ID, ...values });
  }
  return (await dbs.mysql('t').first()) as Row;
}

describe('traps of the reference, value by value', () => {
  it('1. case-insensitive text keeps its case in both databases (uniqueness is the schema’s job)', async () => {
    const row = await viaMysql({ name: 'ÁBC' });
    expect(tr.translate(row, 'mysql')['name']).toBe('ÁBC');
    expect(tr.normalize({ name: 'ÁBC' }, 'mysql')).not.toEqual(tr.normalize({ name: 'abc' }, 'postgres'));
  });

  it('2. PAD SPACE: trailing spaces ignored when comparing CHAR and PAD SPACE columns', async () => {
    const row = await viaMysql({ code: 'ab   ', name: 'x  ' });
    expect(row['code']).toBe('ab'); // MySQL strips CHAR padding on read
    await dbs.pg('t').delete();
    await dbs.pg('t').insert({ ...tr.translate(row, 'mysql'), code: 'ab  ' });
    const pgRow = (await dbs.pg('t').first()) as Row;
    expect(tr.normalize(pgRow, 'postgres')).toEqual(tr.normalize(row, 'mysql'));
    expect(tr.toApp(pgRow, 'postgres')['code']).toBe('ab');
  });

  it('3. rows are keyed by a canonical primary key, whatever the case of a UUID', () => {
    expect(tr.canonicalKey([ID.toUpperCase()], 'mysql')).toEqual(tr.canonicalKey([ID], 'postgres'));
    expect(tr.keyForSide([ID], 'postgres')).toEqual([ID]);
  });

  it('5. NUL bytes: rejected towards PostgreSQL with the key, or stripped when the column says so', async () => {
    const row = await viaMysql({ name: 'a\0b', stripped: 'c\0d' });
    expect(row['name']).toBe('a\0b');
    expect(problemOf(() => tr.translate(row, 'mysql'))).toEqual({
      problem: ValueProblem.NulByte,
      column: 'name',
      key: [ID],
    });
    expect(tr.translate({ ...row, name: 'ab' }, 'mysql')['stripped']).toBe('cd');
  });

  it('6. \\u0000 inside JSON: valid for MariaDB, rejected for jsonb', async () => {
    const row = await viaMysql({ doc: '{"a":"x\\u0000y"}' });
    expect(problemOf(() => tr.translate(row, 'mysql')).problem).toBe(ValueProblem.JsonNulEscape);
    expect(problemOf(() => tr.prepareWrite({ doc: { a: 'x\0y' } }, 'postgres')).problem).toBe(
      ValueProblem.JsonNulEscape,
    );
    expect(problemOf(() => tr.translate({ id: ID, doc: '{"a":' }, 'mysql')).problem).toBe(
      ValueProblem.InvalidJson,
    );
    expect(problemOf(() => tr.translate({ id: ID, doc: '"\\ud800"' }, 'mysql')).problem).toBe(
      ValueProblem.InvalidJson,
    );
    // A raw lone surrogate (not an escape) and trailing text are refused as well; an escaped backslash
    // before `u0000` is no NUL.
    expect(problemOf(() => tr.translate({ id: ID, doc: '["\ud800"]' }, 'mysql')).problem).toBe(
      ValueProblem.InvalidJson,
    );
    expect(problemOf(() => tr.translate({ id: ID, doc: '{"a":1} x' }, 'mysql')).problem).toBe(
      ValueProblem.InvalidJson,
    );
    expect(tr.translate({ id: ID, doc: '{"a":"\\\\u0000","n":1.50e400}' }, 'mysql')['doc']).toBe(
      '{"a":"\\\\u0000","n":1.50e400}',
    );
  });

  it('7. 4-byte characters cannot go back into a utf8mb3 column', () => {
    expect(tr.translate({ legacy: 'plain' }, 'postgres')['legacy']).toBe('plain');
    expect(problemOf(() => tr.translate({ id: ID, legacy: 'emoji 😀' }, 'postgres')).problem).toBe(
      ValueProblem.InvalidValue,
    );
  });

  it('8. zero dates: rejected by default, NULL where the column allows it, NULL when comparing', async () => {
    const row = await viaMysql({ d: '0000-00-00', dz: '2024-02-00', dt: '0000-00-00 00:00:00' }, true);
    expect(row).toMatchObject({ d: '0000-00-00', dz: '2024-02-00' });
    expect(problemOf(() => tr.translate(row, 'mysql'))).toMatchObject({
      problem: ValueProblem.ZeroDate,
      column: 'd',
    });
    const ok = tr.translate({ ...row, d: null, dt: null }, 'mysql');
    expect(ok['dz']).toBeNull();
    expect(tr.normalize(row, 'mysql')).toMatchObject({ d: null, dz: null, dt: null });
  });

  it('9. ranges: TIMESTAMP past 2038, infinity, year 10000 and integer overflow are refused before writing', async () => {
    const outOfRange = [
      { ts: '2038-01-19 03:14:08+00' },
      { ts: '1969-12-31 23:59:59+00' },
      { d: 'infinity' },
      { dt: '10000-01-01 00:00:00' },
      { d: '0044-03-15 BC' },
    ];
    for (const v of outOfRange) {
      expect(problemOf(() => tr.translate({ id: ID, ...v }, 'postgres')).problem, JSON.stringify(v)).toBe(
        ValueProblem.DateOutOfRange,
      );
    }
    expect(tr.translate({ ts: '2038-01-19 03:14:07+00' }, 'postgres')['ts']).toBe('2038-01-19 03:14:07');
    expect(problemOf(() => tr.translate({ id: ID, small: 200 }, 'postgres')).problem).toBe(
      ValueProblem.NumberOutOfRange,
    );
    // PG's own CHECK (from the conversion) refuses what MySQL's TINYINT refuses
    await expect(dbs.pg('t').insert({ id: ID, small: 200 })).rejects.toThrow(/check constraint/);
  });

  it('10. fractional seconds are truncated in JS, so MariaDB (truncates) and PostgreSQL (rounds) agree', async () => {
    const date = new Date('2024-05-01T10:20:30.678Z');
    const mysqlRow = await viaMysql(tr.prepareWrite({ dt: date }, 'mysql'));
    await dbs.pg('t').delete();
    await dbs.pg('t').insert(tr.prepareWrite({ id: ID, dt: date }, 'postgres'));
    const pgRow = (await dbs.pg('t').first()) as Row;
    expect(mysqlRow['dt']).toBe('2024-05-01 10:20:30');
    expect(pgRow['dt']).toBe('2024-05-01 10:20:30');
  });

  it('11. time zones: offsets and Dates are stored as UTC on both sides', async () => {
    const written = tr.prepareWrite(
      { ts: '2024-05-01T12:00:00+02:00', dt: new Date('2024-05-01T10:00:00Z') },
      'mysql',
    );
    expect(written).toEqual({ ts: '2024-05-01 10:00:00', dt: '2024-05-01 10:00:00' });
    const mysqlRow = await viaMysql(written);
    await dbs.pg('t').delete();
    await dbs.pg('t').insert(tr.translate(mysqlRow, 'mysql'));
    const pgRow = (await dbs.pg('t').first()) as Row;
    expect(pgRow['ts']).toBe('2024-05-01 10:00:00+00');
    expect(tr.toApp(pgRow, 'postgres')).toMatchObject({
      ts: '2024-05-01 10:00:00',
      dt: '2024-05-01 10:00:00',
    });
  });

  it('12. ENUM matched case-insensitively like MySQL; SET sorted and de-duplicated; bad members refused', async () => {
    const prepared = tr.prepareWrite({ status: 'ACTIVE', tags: ['z', 'x', 'z'] }, 'postgres');
    expect(prepared).toEqual({ status: 'active', tags: ['x', 'z'] });
    const mysqlRow = await viaMysql({ status: 'ACTIVE', tags: 'z,x,z' });
    expect(mysqlRow).toMatchObject({ status: 'active', tags: 'x,z' });
    await dbs.pg('t').delete();
    await dbs.pg('t').insert(tr.translate(mysqlRow, 'mysql'));
    const pgRow = (await dbs.pg('t').first()) as Row;
    expect(pgRow['tags']).toBe('{x,z}');
    expect(tr.toApp(pgRow, 'postgres')['tags']).toBe('x,z');
    expect(problemOf(() => tr.prepareWrite({ status: 'archived' }, 'postgres')).problem).toBe(
      ValueProblem.InvalidEnumValue,
    );
    expect(problemOf(() => tr.translate({ id: ID, status: '' }, 'mysql')).problem).toBe(
      ValueProblem.InvalidEnumValue,
    );
  });

  it('16. JSON compared losslessly: big integers differ, key order and spacing do not', () => {
    const a = tr.normalize({ doc: '{"n": 12345678901234567890, "b": 1}' }, 'mysql');
    const b = tr.normalize({ doc: '{"b": 1, "n": 12345678901234567891}' }, 'postgres');
    const c = tr.normalize({ doc: '{"b":1,"n":12345678901234567890}' }, 'postgres');
    expect(a).not.toEqual(b);
    expect(a).toEqual(c);
  });

  it('22. JS arrays for JSON columns are serialised as JSON, not as PostgreSQL array literals', async () => {
    const prepared = tr.prepareWrite({ id: ID.toUpperCase(), doc: [1, 2], name: 'arr' }, 'postgres');
    expect(prepared).toEqual({ id: ID, doc: '[1,2]', name: 'arr' });
    await dbs.pg('t').delete();
    await dbs.pg('t').insert(prepared);
    expect(tr.toApp((await dbs.pg('t').first()) as Row, 'postgres')['doc']).toEqual([1, 2]);
  });

  it('FLOAT compares at 6 significant digits (MySQL text protocol vs real)', async () => {
    const mysqlRow = await viaMysql({ f: 123456.789 });
    await dbs.pg('t').delete();
    await dbs.pg('t').insert({ id: ID, f: 123456.789 });
    const pgRow = (await dbs.pg('t').first()) as Row;
    expect(mysqlRow['f']).not.toBe(pgRow['f']);
    expect(tr.normalize(pgRow, 'postgres')['f']).toBe(tr.normalize(mysqlRow, 'mysql')['f']);
  });

  it('invalid UUIDs cannot go to a uuid column; errors carry table, column and key', () => {
    const e = problemOf(() => tr.translate({ id: 'not-a-uuid' }, 'mysql'));
    expect(e).toMatchObject({ problem: ValueProblem.InvalidUuid, column: 'id' });
    expect(() => set.table('missing')).toThrow(/not on both databases/);
    // towards MySQL values are only reshaped: MySQL itself accepts or refuses what the codec cannot read
    expect(tr.prepareWrite({ id: 'not-a-uuid', dt: 'soon', status: 'archived' }, 'mysql')).toEqual({
      id: 'not-a-uuid',
      dt: 'soon',
      status: 'archived',
    });
    expect(problemOf(() => tr.prepareWrite({ id: 'not-a-uuid' }, 'postgres')).problem).toBe(
      ValueProblem.InvalidUuid,
    );
  });
});
