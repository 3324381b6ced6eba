import { beforeAll, describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { validateConfig } from '../../lib/config/load.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { KeyQueryError } from '../../lib/errors.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import { enqueueKeys } from '../../lib/sync/outbox.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { SyncWorker } from '../../lib/sync/worker.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { KeyTuple, Row, TranslatorSet } from '../../lib/translate/types.js';
import { verify } from '../../lib/verify/verify.js';
import { insertMany } from '../backfill/support.js';
import { useFreshDatabases } from '../support/databases.js';

// Composite keys at scale: 4 parts of mixed types (integer, date, uuid, case-insensitive text) and a
// (BIGINT beyond 2^53, text) pair, through every path that turns a set of keys into a statement, with
// key sets far above the size where a row-value IN list exhausts PostgreSQL's stack (54001).
const dbs = useFreshDatabases('dwcompkeys');
const ROWS = 12_000;
let translators: TranslatorSet;

const uuid = (n: number): string =>
  `${n.toString(16).padStart(8, '0')}-${(n % 65536).toString(16).padStart(4, '0')}-4000-8000-${(n * 7919).toString(16).padStart(12, '0')}`;
const day = (n: number): string => new Date(Date.UTC(2024, 0, 1 + (n % 9))).toISOString().slice(0, 10);

function ledgerRow(i: number): Row {
  return {
    account: Math.floor(i / 9),
    day: day(i),
    // Every third uuid upper case in MySQL text: its canonical form is lower case.
    ref: i % 3 === 0 ? uuid(i).toUpperCase() : uuid(i),
    tag: `Tag-${i % 5}-ÄbC`,
    amount: `${i}.25`,
    note: `note ${i}`,
  };
}

const keyOf = (r: Row): KeyTuple => [
  r['account'] as number,
  r['day'] as string,
  String(r['ref']).toLowerCase(),
  r['tag'] as string,
];

/** Normalised rows of both sides by key text (equal sides give equal maps). */
async function snapshot(
  table: string,
): Promise<{ mysql: Map<string, string>; postgres: Map<string, string> }> {
  const tr = translators.table(table);
  const read = async (side: 'mysql' | 'postgres'): Promise<Map<string, string>> => {
    const rows = (await (side === 'mysql' ? dbs.mysql : dbs.pg)(table).select('*')) as Row[];
    return new Map(
      rows.map((r) => [
        JSON.stringify(
          tr.canonicalKey(
            tr.primaryKey.map((c) => r[c]),
            side,
          ),
        ),
        JSON.stringify(tr.normalize(r, side)),
      ]),
    );
  };
  return { mysql: await read('mysql'), postgres: await read('postgres') };
}

async function expectEqual(table: string, rows?: number): Promise<void> {
  const { mysql, postgres } = await snapshot(table);
  if (rows !== undefined) expect(mysql.size).toBe(rows);
  expect(postgres.size).toBe(mysql.size);
  const differing = [...mysql].filter(([k, v]) => postgres.get(k) !== v).map(([k]) => k);
  expect(differing.slice(0, 5)).toEqual([]);
}

const BIG = 9_007_199_254_740_993n; // 2^53 + 1

beforeAll(async () => {
  await dbs.mysql.raw(`CREATE TABLE ledger (
    account INT NOT NULL, day DATE NOT NULL, ref CHAR(36) NOT NULL, tag VARCHAR(40) NOT NULL,
    amount DECIMAL(12,2) NOT NULL, note TEXT NULL,
    PRIMARY KEY (account, day, ref, tag)) DEFAULT CHARSET=utf8mb4`);
  await dbs.mysql.raw(`CREATE TABLE big_pairs (
    id BIGINT NOT NULL, part VARCHAR(10) NOT NULL, v INT NOT NULL, PRIMARY KEY (id, part))`);
  await insertMany(
    dbs.mysql,
    'ledger',
    Array.from({ length: ROWS }, (_, i) => ledgerRow(i)),
    2000,
  );
  await insertMany(
    dbs.mysql,
    'big_pairs',
    Array.from({ length: 3000 }, (_, i) => ({ id: (BIG + BigInt(i)).toString(), part: `p${i % 3}`, v: i })),
  );
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  await initMetaTables(dbs.mysql, dbs.pg);
  const mysqlSchema = await introspectMysql(dbs.mysql);
  const pgSchema = await introspectPostgres(dbs.pg);
  // The converter made `ref` a uuid and kept the text key part case-sensitive on PostgreSQL.
  expect(
    pgSchema.tables.find((t) => t.name === 'ledger')?.columns.find((c) => c.name === 'ref')?.dataType,
  ).toBe('uuid');
  translators = buildTranslators(mysqlSchema, pgSchema);
});

describe('composite keys at scale', () => {
  it.each([
    ['the default batch (8000)', undefined],
    ['one batch of the whole table', 20_000],
  ])('backfills with %s: stale rows refreshed, rows only on the target deleted', async (_name, batchSize) => {
    await dbs.pg('ledger').del();
    await dbs.pg('big_pairs').del();
    // Stale copies of a third of the rows, and 3000 rows MySQL never had.
    await insertMany(
      dbs.pg,
      'ledger',
      [
        ...Array.from({ length: ROWS / 3 }, (_, i) => ({
          ...ledgerRow(i * 3),
          ref: uuid(i * 3),
          amount: '0.00',
        })),
        ...Array.from({ length: 3000 }, (_, i) => ({ ...ledgerRow(ROWS + i), ref: uuid(ROWS + i) })),
      ],
      2000,
    );
    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema: await introspectMysql(dbs.mysql),
      tables: ['ledger', 'big_pairs'],
      restart: true,
      ...(batchSize ? { batchSize } : {}),
    });
    expect(result.tables.map((t) => [t.table, t.status, t.rows, t.deleted]).sort()).toEqual([
      ['big_pairs', 'done', 3000, 0],
      ['ledger', 'done', ROWS, 3000],
    ]);
    await expectEqual('ledger', ROWS);
    await expectEqual('big_pairs', 3000);
  });

  it('syncs 15,000 sparse keys in one call both ways: updates, deletes, absent keys', async () => {
    const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
    // MySQL → PostgreSQL: every other row changed, 2000 deleted, 3000 keys that exist nowhere.
    await dbs.mysql.raw('UPDATE ledger SET amount = amount + 1 WHERE MOD(account, 2) = 0');
    const all = Array.from({ length: ROWS }, (_, i) => ledgerRow(i));
    const gone = all.filter((_, i) => i % 6 === 1);
    for (let i = 0; i < gone.length; i += 500) {
      await dbs
        .mysql('ledger')
        .whereIn(
          ['account', 'day', 'ref', 'tag'],
          gone.slice(i, i + 500).map((r) => [r['account'], r['day'], r['ref'], r['tag']] as string[]),
        )
        .del();
    }
    const keys = [...all, ...Array.from({ length: 3000 }, (_, i) => ledgerRow(ROWS + 50_000 + i))].map(keyOf);
    const toPg = await syncer.sync('ledger', [...keys].reverse(), 'mysql');
    expect(toPg).toMatchObject({ upserted: ROWS - gone.length, deleted: gone.length, quarantined: [] });
    await expectEqual('ledger', ROWS - gone.length);

    // PostgreSQL → MySQL: rows changed and deleted on PostgreSQL, re-inserted ones come back.
    await dbs.pg.raw("UPDATE ledger SET note = note || ' (pg)' WHERE account % 3 = 0");
    await dbs.pg.raw('DELETE FROM ledger WHERE account % 7 = 0');
    await insertMany(
      dbs.pg,
      'ledger',
      gone.map((r) => ({ ...r, ref: String(r['ref']).toLowerCase() })),
      2000,
    );
    const back = await syncer.sync('ledger', keys, 'postgres');
    expect(back.quarantined).toEqual([]);
    await expectEqual('ledger');
    expect((await snapshot('ledger')).mysql.size).toBe(
      Number((await dbs.pg('ledger').count({ n: '*' }).first())?.['n']),
    );
  });

  it('verifies and repairs 9,000 differing rows: chunk re-reads and repairs by key', async () => {
    await dbs.pg.raw('UPDATE ledger SET amount = 0 WHERE account < 1200');
    const differing = Number(
      (await dbs.pg('ledger').where('account', '<', 1200).count({ n: '*' }).first())?.['n'],
    );
    expect(differing).toBeGreaterThan(8000);
    const config = validateConfig({
      stage: 'shadow',
      mysql: { url: dbs.mysqlUrl },
      postgres: { url: dbs.pgUrl },
      verify: { reportDir: `reports/test-${dbs.name}`, chunkSize: 5000 },
      shadow: { recheckTimeoutMs: 2000, recheckIntervalMs: 50 },
    });
    const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
    const repair = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
    const base = { config, mysql: dbs.mysql, postgres: dbs.pg, translators, schemas, writeReport: false };
    const result = await verify({ ...base, tables: ['ledger'], repair });
    const [table] = result.tables;
    expect(table).toMatchObject({ different: differing, missing: 0, extra: 0 });
    expect(table?.repair).toEqual({ synced: differing, remaining: 0 });
    const again = await verify({ ...base, tables: ['ledger'] });
    expect(again.clean).toBe(true);
  });

  it('drains 6,000 outbox keys (BIGINT beyond 2^53 in the key) and quarantines a value PostgreSQL cannot hold', async () => {
    await dbs.mysql.raw('UPDATE big_pairs SET v = v + 1');
    await dbs.mysql.raw(
      "UPDATE ledger SET note = CONCAT('nul', CHAR(0)) WHERE account = 5 AND tag = 'Tag-0-ÄbC'",
    );
    const bad = (
      (await dbs.mysql('ledger').where({ account: 5, tag: 'Tag-0-ÄbC' }).select('*')) as Row[]
    ).map((r) =>
      translators.table('ledger').canonicalKey(
        translators.table('ledger').primaryKey.map((c) => r[c]),
        'mysql',
      ),
    );
    expect(bad.length).toBeGreaterThan(0);
    const bigKeys = ((await dbs.mysql('big_pairs').select('id', 'part')) as Row[]).map(
      (r) => [r['id'], r['part']] as KeyTuple,
    );
    expect(bigKeys.some((k) => BigInt(k[0] as string) > BIG)).toBe(true);
    const ledgerKeys = ((await dbs.mysql('ledger').where('account', '<', 400).select('*')) as Row[]).map(
      keyOf,
    );
    await dbs.mysql.transaction(async (trx) => {
      await enqueueKeys(trx, 'big_pairs', bigKeys);
      await enqueueKeys(trx, 'ledger', ledgerKeys);
    });
    const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
    const worker = new SyncWorker({
      mysql: dbs.mysql,
      pg: dbs.pg,
      syncer,
      authoritative: () => 'mysql',
      logger: createSilentLogger(),
      sync: { batchSize: 2500, retryBaseMs: 50 },
    });
    try {
      worker.notify();
      await worker.drain({ timeoutMs: 60_000 });
    } finally {
      await worker.close();
    }
    // Nothing of big_pairs failed its attempts (the reason would be here).
    expect((await syncer.quarantine.listOpen('big_pairs')).map((q) => q.reason)).toEqual([]);
    await expectEqual('big_pairs', 3000);
    const open = await syncer.quarantine.listOpen('ledger');
    expect(open.map((q) => [q.key, q.code]).sort()).toEqual(bad.map((k) => [k, 'nul_byte']).sort());
    // Fixed at the source, the key syncs and its quarantine entry is resolved.
    await dbs.mysql.raw("UPDATE ledger SET note = 'fixed' WHERE account = 5 AND tag = 'Tag-0-ÄbC'");
    await syncer.sync('ledger', bad, 'mysql');
    expect(await syncer.quarantine.listOpen('ledger')).toEqual([]);
    await expectEqual('ledger');
  });

  it('names table, operation and key range when a statement over many keys fails, with the SQL cut short', async () => {
    await dbs.mysql.raw('ALTER TABLE ledger ADD CONSTRAINT ledger_amount_small CHECK (amount < 1000000)');
    try {
      await dbs.pg.raw('UPDATE ledger SET amount = 5000000 WHERE account = 600');
      const keys = ((await dbs.pg('ledger').where('account', '<', 700).select('*')) as Row[]).map((r) =>
        translators.table('ledger').canonicalKey(
          translators.table('ledger').primaryKey.map((c) => r[c]),
          'postgres',
        ),
      );
      expect(keys.length).toBeGreaterThan(5000);
      const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators, chunkSize: 5000 });
      const error = (await syncer.sync('ledger', keys, 'postgres').catch((e: unknown) => e)) as KeyQueryError;
      expect(error).toBeInstanceOf(KeyQueryError);
      expect(error.code).toBe('DW_KEY_QUERY_FAILED');
      expect(error.table).toBe('ledger');
      expect(error.operation).toBe('upsert rows on mysql');
      expect(error.message).toMatch(
        /^ledger: upsert rows on mysql \(\d+ keys from \[\d+,"2024-01-\d\d",".{36}",".*"\] to \[.*\]\) failed: /,
      );
      expect(error.message).toMatch(/ledger_amount_small/);
      expect(error.message).toMatch(/; SQL: INSERT INTO `ledger` .{100,}… \([\d,]+ characters\)$/);
      expect(error.message.length).toBeLessThan(1200);
    } finally {
      await dbs.mysql
        .raw('ALTER TABLE ledger DROP CHECK ledger_amount_small')
        .catch(() => dbs.mysql.raw('ALTER TABLE ledger DROP CONSTRAINT ledger_amount_small'));
    }
  });
});
