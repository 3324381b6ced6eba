import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { tableColumnSpec } from '../../lib/shape/mysql-fields.js';
import {
  columnDefinition,
  connectionConfig,
  parseRows,
  type ColumnDefinition,
} from '../../lib/shape/mysql2-internals.js';
import { useFreshDatabases } from '../support/databases.js';

/**
 * The contract with mysql2's internals (its column definition, text row parser and connection config):
 * rows rebuilt from MySQL's text must come out exactly as mysql2 gives them from MySQL itself, with
 * the default settings and with custom ones, and the column definitions made from the introspected
 * schema must carry what the parser and typeCast functions read.
 */
const dbs = useFreshDatabases('dwmysql2');
let app: Knex;

const SETTINGS: Record<string, Record<string, unknown>> = {
  defaults: {},
  custom: {
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: true,
    timezone: 'Z',
  },
};

beforeAll(async () => {
  await dbs.mysql.raw(`CREATE TABLE shapes (
    id INT NOT NULL PRIMARY KEY, flag TINYINT(1) NULL, big BIGINT NULL, amount DECIMAL(8,3) NULL, ratio DOUBLE NULL,
    day DATE NULL, at DATETIME(3) NULL, label VARCHAR(20) NULL, bytes VARBINARY(8) NULL, wake TIME NULL
  ) DEFAULT CHARSET=utf8mb4`);
  await dbs.mysql('shapes').insert([
    {
      id: 1,
      flag: 1,
      big: '9007199254740993',
      amount: '12.500',
      ratio: 0.1,
      day: '2024-02-29',
      at: '2024-02-29 12:34:56.789',
      label: 'héllo',
      bytes: Buffer.from([1, 2]),
      wake: '07:00:00',
    },
    { id: 2 },
  ]);
});

afterAll(async () => {
  await app?.destroy();
});

/** MySQL's text for each column, read as mysql2 reads it raw (typeCast off: buffers). */
async function wireRows(k: Knex): Promise<(Buffer | null)[][]> {
  const [rows] = (await k
    .raw('SELECT * FROM shapes ORDER BY id')
    .options({ typeCast: false, rowsAsArray: true })) as [(Buffer | null)[][]];
  return rows;
}

describe.each(Object.keys(SETTINGS))('mysql2 %s settings', (name) => {
  it('parses rebuilt rows exactly as mysql2 parses MySQL’s', async () => {
    const u = new URL(dbs.mysqlUrl);
    const connection = {
      host: u.hostname,
      port: Number(u.port),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: u.pathname.slice(1),
      ...SETTINGS[name],
    };
    app = knexFactory({ client: 'mysql2', connection });
    try {
      const [expected, fields] = (await app.raw('SELECT * FROM shapes ORDER BY id')) as [
        unknown[],
        ColumnDefinition[],
      ];
      const table = (await introspectMysql(dbs.mysql)).tables.find((t) => t.name === 'shapes')!;
      const defs = table.columns.map((c) =>
        columnDefinition(
          tableColumnSpec(c, table, { schema: connection.database, table: 'shapes', name: c.name }, 224),
        ),
      );
      // What the parser and typeCast read of a column definition is MySQL's.
      const view = (f: ColumnDefinition): unknown[] => [
        f.name,
        f.columnType,
        f.characterSet,
        f.columnLength,
        f.decimals,
      ];
      expect(defs.map(view)).toEqual(fields.map(view));
      const wire = await wireRows(app);
      const rebuilt = parseRows(defs, wire, {}, connectionConfig(connection));
      expect(rebuilt).toEqual(expected);
    } finally {
      await app.destroy();
    }
  });
});
