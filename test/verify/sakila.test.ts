import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { verify, type VerifyOptions, type VerifyResult } from '../../lib/verify/verify.js';
import { useFreshDatabases } from '../support/databases.js';
import { SAKILA_ROW_COUNTS, loadSakila } from '../support/sakila.js';
import { verifyOptions } from './options.js';

const dbs = useFreshDatabases('dwvsakila');
let dir: string;
let schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
let translators: TranslatorSet;

function options(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return verifyOptions(
    { dbs, dir, translators, schemas },
    {
      verify: { chunkSize: 2000 },
      // Each side maintains last_update itself (ON UPDATE / trigger): left out of the comparison.
      tables: {
        customer: { sensitiveColumns: ['email'], columns: { last_update: { ignoreInCompare: true } } },
      },
    },
    extra,
  );
}

/** Tables that differ, with their counts. */
function differing(result: VerifyResult) {
  return Object.fromEntries(
    result.tables
      .filter((t) => t.missing + t.extra + t.different > 0)
      .map((t) => [t.table, { missing: t.missing, extra: t.extra, different: t.different }]),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-vsakila-'));
  await loadSakila(dbs.mysqlUrl);
  // Sakila has no JSON and no fractional-second column: add one of each, as an app migration would.
  await dbs.mysql.raw(
    'ALTER TABLE customer ADD COLUMN prefs JSON NULL, ADD COLUMN verified_at DATETIME(6) NULL',
  );
  await dbs.mysql.raw(
    `UPDATE customer SET verified_at = TIMESTAMPADD(MICROSECOND, customer_id * 1013, '2024-01-02 03:04:05'),
       prefs = JSON_OBJECT('lang', IF(customer_id % 2, 'en', 'fr'), 'marketing', JSON_OBJECT('sms', customer_id % 3 = 0, 'mail', TRUE), 'stores', JSON_ARRAY(store_id))`,
  );
  await initMetaTables(dbs.mysql, dbs.pg);
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  translators = buildTranslators(schemas.mysql, schemas.postgres);
  await backfill({ mysql: dbs.mysql, postgres: dbs.pg, translators, sourceSchema: schemas.mysql });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verify on Sakila', () => {
  it('finds exactly the injected differences and nothing after repair', async () => {
    const clean = await verify(options());
    expect(differing(clean)).toEqual({});
    expect(clean.clean).toBe(true);
    for (const [table, rows] of Object.entries(SAKILA_ROW_COUNTS)) {
      expect(clean.tables.find((t) => t.table === table)?.rowsCompared, table).toBe(rows);
    }

    await dbs.pg('film_actor').where({ actor_id: 1, film_id: 1 }).delete(); // a missing row (composite key)
    await dbs.pg('category').insert({ category_id: 100, name: 'Westerns' }); // an extra row
    await dbs.pg('customer').where({ customer_id: 5 }).update({ email: 'someone.else@example.org' }); // one column
    await dbs.pg.raw(
      `UPDATE customer SET verified_at = verified_at + interval '1 microsecond' WHERE customer_id = 7`,
    ); // a timestamp fraction
    // The same JSON document with its keys in another order: not a difference.
    // (last_update kept: MySQL's ON UPDATE CURRENT_TIMESTAMP would change it otherwise.)
    await dbs.mysql.raw(
      `UPDATE customer SET last_update = last_update,
         prefs = CONCAT('{"stores": [', store_id, '], "marketing": {"mail": true, "sms": true}, "lang": "en"}')
       WHERE customer_id = 9`,
    );
    const [c9] = (await dbs.pg('customer').where({ customer_id: 9 }).select('prefs', 'store_id')) as {
      prefs: string;
      store_id: number;
    }[];
    expect(JSON.parse(c9?.prefs ?? '')).toEqual({
      lang: 'en',
      marketing: { sms: true, mail: true },
      stores: [c9?.store_id],
    });

    const found = await verify(options());
    expect(found.clean).toBe(false);
    expect(differing(found)).toEqual({
      film_actor: { missing: 1, extra: 0, different: 0 },
      category: { missing: 0, extra: 1, different: 0 },
      customer: { missing: 0, extra: 0, different: 2 },
    });
    const examples = (table: string) =>
      Object.fromEntries(
        (found.tables.find((t) => t.table === table)?.examples ?? []).map((e) => [
          JSON.stringify(e.key),
          { kind: e.kind, columns: e.columns.map((c) => c.column) },
        ]),
      );
    expect(examples('film_actor')).toEqual({ '[1,1]': { kind: 'missing', columns: [] } });
    expect(examples('category')).toEqual({ '[100]': { kind: 'extra', columns: [] } });
    expect(examples('customer')).toEqual({
      '[5]': { kind: 'different', columns: ['email'] },
      '[7]': { kind: 'different', columns: ['verified_at'] },
    });
    const fraction = found.tables.find((t) => t.table === 'customer')?.examples.find((e) => e.key?.[0] === 7);
    expect(fraction?.columns[0]).toMatchObject({
      authoritative: expect.stringMatching(/\.007091$/),
      other: expect.stringMatching(/\.007092$/),
    });
    // email is sensitive: hashed in the report, never in clear.
    const email = found.tables.find((t) => t.table === 'customer')?.examples.find((e) => e.key?.[0] === 5);
    expect(email?.columns[0]?.other).toMatch(/^sha256:/);

    const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
    const repaired = await verify(
      options({ repair: syncer, tables: ['category', 'customer', 'film_actor'] }),
    );
    expect(repaired.tables.every((t) => t.repair?.remaining === 0)).toBe(true);
    expect(
      repaired.tables.filter((t) => t.repair && t.repair.synced > 0).map((t) => [t.table, t.repair]),
    ).toEqual([
      ['category', { synced: 1, remaining: 0 }],
      ['customer', { synced: 2, remaining: 0 }],
      ['film_actor', { synced: 1, remaining: 0 }],
    ]);
    const after = await verify(options());
    expect(differing(after)).toEqual({});
    expect(after.clean).toBe(true);
  });
});
