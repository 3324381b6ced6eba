// Ways to find the rows of a set of composite keys: an IN list of row values, a join against VALUES,
// unnest() (PostgreSQL) / JSON_TABLE (MySQL side), a temporary table, and a key range in walk order.
// The table has a 4-column key (integer, date, uuid, case-insensitive text) on both servers.
// Usage: npm run bench -- keysets [--rows 300000] [--sizes 1000,8000,32000] [--repeat 3]
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import Table from 'cli-table3';
import type { Knex } from 'knex';
import { rowsOf } from '../lib/backfill/keys.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? String(process.argv[i + 1]) : fallback;
}
const rowCount = Number(arg('rows', '300000'));
const sizes = arg('sizes', '1000,8000,32000').split(',').map(Number);
const repeat = Number(arg('repeat', '3'));

type Key = [number, string, string, string];
type Side = 'mysql' | 'postgres';

/** One way to read the rows of `keys`; returns the rows found (or throws). */
interface Strategy {
  name: string;
  side: Side;
  /** Only for keys that are contiguous in key order (a backfill batch). */
  contiguous?: boolean;
  run(db: Knex, keys: readonly Key[]): Promise<number>;
}

const COLS = ['a', 'd', 'u', 't'] as const;
const PG_TYPES = ['integer', 'date', 'uuid', 'character varying(40)'];
const MY_TYPES = ['INT', 'DATE', 'CHAR(36)', 'VARCHAR(40)'];

function inList(side: Side, chunk: number | null): Strategy {
  return {
    name: chunk ? `IN list, ${chunk} keys a statement` : 'IN list, one statement',
    side,
    async run(db, keys) {
      let n = 0;
      const size = chunk ?? keys.length;
      for (let i = 0; i < keys.length; i += size) {
        const part = keys.slice(i, i + size);
        const r = await db.raw(
          `SELECT * FROM ks WHERE (a, d, u, t) IN (${part.map(() => '(?, ?, ?, ?)').join(', ')})`,
          part.flat(),
        );
        n += rowsOf(r).length;
      }
      return n;
    },
  };
}

const pgValues: Strategy = {
  name: 'JOIN (VALUES ...), 65535 parameters a statement',
  side: 'postgres',
  async run(db, keys) {
    let n = 0;
    const size = Math.floor(65_535 / COLS.length);
    const row = `(${PG_TYPES.map((t) => `?::${t}`).join(', ')})`;
    for (let i = 0; i < keys.length; i += size) {
      const part = keys.slice(i, i + size);
      const r = await db.raw(
        `SELECT ks.* FROM ks JOIN (VALUES ${part.map(() => row).join(', ')}) AS v (a, d, u, t)
         ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t`,
        part.flat(),
      );
      n += rowsOf(r).length;
    }
    return n;
  },
};

function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

const pgUnnest: Strategy = {
  name: 'JOIN unnest(arrays), one statement',
  side: 'postgres',
  async run(db, keys) {
    const arrays = COLS.map((_, i) => pgArray(keys.map((k) => String(k[i]))));
    const r = await db.raw(
      `SELECT ks.* FROM ks JOIN unnest(${PG_TYPES.map((t) => `?::${t}[]`).join(', ')}) AS v (a, d, u, t)
       ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t`,
      arrays,
    );
    return rowsOf(r).length;
  },
};

const pgTemp: Strategy = {
  name: 'temporary table (unnest into it) + JOIN',
  side: 'postgres',
  async run(db, keys) {
    return db.transaction(async (trx) => {
      await trx.raw(
        `CREATE TEMP TABLE ks_keys (${COLS.map((c, i) => `${c} ${PG_TYPES[i]}`).join(', ')}) ON COMMIT DROP`,
      );
      const arrays = COLS.map((_, i) => pgArray(keys.map((k) => String(k[i]))));
      await trx.raw(
        `INSERT INTO ks_keys SELECT * FROM unnest(${PG_TYPES.map((t) => `?::${t}[]`).join(', ')})`,
        arrays,
      );
      await trx.raw('ANALYZE ks_keys');
      const r = await trx.raw(
        'SELECT ks.* FROM ks JOIN ks_keys v ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t',
      );
      return rowsOf(r).length;
    });
  },
};

function range(side: Side): Strategy {
  return {
    name: 'key range of the batch (walk order), filtered',
    side,
    contiguous: true,
    async run(db, keys) {
      const lo = keys[0]!;
      const hi = keys[keys.length - 1]!;
      const want = new Set(keys.map((k) => k.join('\u0000').toLowerCase()));
      // The walk's order is the source's; the text part does not compare alike on both servers, so the
      // range is on the leading integer part only (the same order everywhere), then filtered.
      const r = await db.raw('SELECT * FROM ks WHERE a BETWEEN ? AND ?', [lo[0], hi[0]]);
      return rowsOf(r).filter((row) =>
        want.has(
          [row['a'], String(row['d']).slice(0, 10), String(row['u']), row['t']].join('\u0000').toLowerCase(),
        ),
      ).length;
    },
  };
}

function myValues(flavor: 'mysql' | 'mariadb'): Strategy {
  return {
    name: `JOIN (VALUES ${flavor === 'mysql' ? 'ROW(...)' : '(...)'}), one statement`,
    side: 'mysql',
    async run(db, keys) {
      const row = flavor === 'mysql' ? 'ROW(?, ?, ?, ?)' : '(?, ?, ?, ?)';
      const sql =
        flavor === 'mysql'
          ? `SELECT ks.* FROM ks JOIN (VALUES ${keys.map(() => row).join(', ')}) AS v (a, d, u, t)
             ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t`
          : `WITH v (a, d, u, t) AS (VALUES ${keys.map(() => row).join(', ')})
             SELECT ks.* FROM ks JOIN v ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t`;
      return rowsOf(await db.raw(sql, keys.flat())).length;
    },
  };
}

function myJsonTable(ci: string): Strategy {
  return {
    name: 'JOIN JSON_TABLE(one JSON parameter)',
    side: 'mysql',
    async run(db, keys) {
      const cols = COLS.map(
        (c, i) => `${c} ${MY_TYPES[i]}${i >= 2 ? ` CHARACTER SET utf8mb4 COLLATE ${ci}` : ''} PATH '$[${i}]'`,
      ).join(', ');
      const r = await db.raw(
        `SELECT ks.* FROM JSON_TABLE(?, '$[*]' COLUMNS (${cols})) AS v
         STRAIGHT_JOIN ks ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t`,
        [JSON.stringify(keys)],
      );
      return rowsOf(r).length;
    },
  };
}

const myTemp: Strategy = {
  name: 'temporary table (multi-row INSERT) + JOIN',
  side: 'mysql',
  async run(db, keys) {
    return db.transaction(async (trx) => {
      await trx.raw('DROP TEMPORARY TABLE IF EXISTS ks_keys');
      await trx.raw(
        `CREATE TEMPORARY TABLE ks_keys (${COLS.map((c, i) => `${c} ${MY_TYPES[i]}`).join(', ')}, PRIMARY KEY (a, d, u, t)) ENGINE=InnoDB`,
      );
      for (let i = 0; i < keys.length; i += 5000) {
        const part = keys.slice(i, i + 5000);
        await trx.raw(
          `INSERT IGNORE INTO ks_keys VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
          part.flat(),
        );
      }
      const r = await trx.raw(
        'SELECT ks.* FROM ks_keys v STRAIGHT_JOIN ks ON ks.a = v.a AND ks.d = v.d AND ks.u = v.u AND ks.t = v.t',
      );
      await trx.raw('DROP TEMPORARY TABLE ks_keys');
      return rowsOf(r).length;
    });
  },
};

const dbs = await createDatabases(uniqueDatabaseName('dwbench_keys'));
const out: { side: string; strategy: string; keys: number; order: string; ms: string; found: string }[] = [];
try {
  const [version] = rowsOf(await dbs.mysql.raw('SELECT VERSION() AS v'));
  const flavor = /mariadb/i.test(String(version?.['v'])) ? 'mariadb' : 'mysql';
  const ci = flavor === 'mysql' ? 'utf8mb4_0900_ai_ci' : 'utf8mb4_general_ci';
  await dbs.mysql.raw(
    `CREATE TABLE ks (a INT NOT NULL, d DATE NOT NULL, u CHAR(36) NOT NULL, t VARCHAR(40) COLLATE ${ci} NOT NULL,
     payload VARCHAR(100), PRIMARY KEY (a, d, u, t))`,
  );
  await dbs.pg.raw(
    `CREATE TABLE ks (a integer NOT NULL, d date NOT NULL, u uuid NOT NULL, t varchar(40) NOT NULL,
     payload varchar(100), PRIMARY KEY (a, d, u, t))`,
  );
  // Rows in key order: a walks 0..rows/4, each with 4 (date, uuid, text) parts.
  const all: Key[] = [];
  for (let i = 0; i < rowCount; i++) {
    const day = new Date(Date.UTC(2024, 0, 1 + (i % 4))).toISOString().slice(0, 10);
    all.push([Math.floor(i / 4), day, randomUUID(), `Tag-${i % 97}-ÄbC`]);
  }
  for (let i = 0; i < all.length; i += 5000) {
    const part = all.slice(i, i + 5000).map(([a, d, u, t]) => ({ a, d, u, t, payload: `payload ${a}` }));
    await dbs.mysql('ks').insert(part);
    await dbs.pg('ks').insert(part);
  }
  await dbs.mysql.raw('ANALYZE TABLE ks');
  await dbs.pg.raw('ANALYZE ks');
  const [mysqlVersion] = rowsOf(await dbs.mysql.raw('SELECT VERSION() AS v'));
  console.log(`keysets bench: ${rowCount} rows, 4-column key; MySQL side ${String(mysqlVersion?.['v'])}`);

  const strategies: Strategy[] = [
    inList('postgres', null),
    inList('postgres', 1000),
    pgValues,
    pgUnnest,
    pgTemp,
    range('postgres'),
    inList('mysql', null),
    inList('mysql', 1000),
    myValues(flavor),
    myJsonTable(ci),
    myTemp,
    range('mysql'),
  ];
  const sorted = [...all].sort((x, y) => x[0] - y[0]);
  for (const size of sizes) {
    // Sparse: random keys (an outbox batch, repairs); contiguous: a run in key order (a backfill batch).
    const sparse = [...all].sort(() => Math.random() - 0.5).slice(0, size);
    const start = Math.floor(Math.random() * (rowCount - size));
    const contiguous = sorted.slice(start, start + size);
    for (const s of strategies) {
      for (const [order, keys] of [
        ['sparse', sparse],
        ['contiguous', contiguous],
      ] as const) {
        if (s.contiguous && order === 'sparse') continue;
        const db = s.side === 'mysql' ? dbs.mysql : dbs.pg;
        const times: number[] = [];
        let found = '';
        for (let r = 0; r < repeat; r++) {
          const t0 = performance.now();
          try {
            const n = await s.run(db, keys);
            times.push(performance.now() - t0);
            found = String(n);
          } catch (error) {
            found = `error: ${String((error as { code?: string }).code ?? (error as Error).message.slice(-60))}`;
            break;
          }
        }
        times.sort((x, y) => x - y);
        const ms = times.length > 0 ? times[Math.floor(times.length / 2)]!.toFixed(1) : '-';
        out.push({
          side: s.side === 'mysql' ? flavor : 'postgres',
          strategy: s.name,
          keys: size,
          order,
          ms,
          found,
        });
        console.error(`  ${s.side} ${s.name} ${size} ${order}: ${ms} ms (${found})`);
      }
    }
  }
} finally {
  await dropDatabases(dbs);
}

const table = new Table({
  head: ['side', 'strategy', 'keys', 'keys are', 'median ms', 'rows found'],
  style: { head: [], border: [] },
});
for (const r of out) table.push([r.side, r.strategy, r.keys, r.order, r.ms, r.found]);
console.log(table.toString());
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/keysets.json',
  `${JSON.stringify({ bench: 'keysets', at: new Date().toISOString(), params: { rowCount, sizes, repeat }, results: out }, null, 2)}\n`,
);
