import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../lib/meta/init.js';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { verify, type VerifyOptions } from '../../lib/verify/verify.js';
import { useFreshDatabases } from '../support/databases.js';
import { verifyOptions } from './options.js';

const ROWS = 3000;
const dbs = useFreshDatabases('dwvscan');
let dir: string;
let schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
let translators: TranslatorSet;
let syncer: KeySyncer;

function options(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return verifyOptions(
    { dbs, dir, translators, schemas },
    // About 60 rows per chunk: the table spans some fifty chunks.
    { verify: { chunkBytes: 2048, concurrency: 3 } },
    { tables: ['events'], writeReport: false, ...extra },
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-vscan-'));
  await dbs.mysql.raw('CREATE TABLE events (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL)');
  await dbs.pg.raw('CREATE TABLE events (id integer PRIMARY KEY, label varchar(40) NOT NULL)');
  await dbs
    .mysql('events')
    .insert(Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, label: `event ${i + 1}` })));
  await initMetaTables(dbs.mysql, dbs.pg);
  schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  translators = buildTranslators(schemas.mysql, schemas.postgres);
  syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
  await syncer.sync(
    'events',
    Array.from({ length: ROWS }, (_, i) => [i + 1]),
    'mysql',
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verify chunking', () => {
  it('sizes chunks by row width and finds each difference in its chunk, several chunks at a time', async () => {
    await dbs.pg('events').where({ id: 7 }).delete();
    await dbs.pg('events').where({ id: 1500 }).update({ label: 'event 15OO' });
    await dbs.pg('events').insert({ id: 5000, label: 'extra' });
    try {
      const result = await verify(options());
      const events = result.tables[0];
      expect(events).toMatchObject({ rowsCompared: ROWS + 1, missing: 1, extra: 1, different: 1 });
      expect(events?.chunkRows).toBeGreaterThan(20);
      expect(events?.chunkRows).toBeLessThan(200);
      expect(events?.chunks).toBeGreaterThan(15);
      expect(events?.differentChunks).toBeGreaterThanOrEqual(2);
      expect(new Map(events?.examples.map((e) => [JSON.stringify(e.key), e.kind]))).toEqual(
        new Map([
          ['[7]', 'missing'],
          ['[1500]', 'different'],
          ['[5000]', 'extra'],
        ]),
      );
    } finally {
      await syncer.sync('events', [[7], [1500], [5000]], 'mysql');
    }
  });

  it('keeps to maxRowsPerSecond', async () => {
    const started = performance.now();
    const result = await verify(options({ maxRowsPerSecond: 1500 }));
    expect(result.clean).toBe(true);
    // 3000 rows at 1500 rows/s from an empty bucket: about two seconds (unthrottled: a fraction of one).
    expect(performance.now() - started).toBeGreaterThan(1700);
  });
});
