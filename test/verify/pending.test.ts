import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { buildTranslators } from '../../lib/translate/build.js';
import { verify, type VerifyOptions } from '../../lib/verify/verify.js';
import { useFreshDatabases } from '../support/databases.js';

// Verification is never clean while an outbox holds old rows (a key that never syncs would otherwise
// hide its difference for good), and a row the other side cannot hold is a difference, not an abort.
const dbs = useFreshDatabases('dwvpend');
let dir: string;

async function options(extra: Partial<VerifyOptions> = {}): Promise<VerifyOptions> {
  const config = validateConfig({
    stage: 'shadow',
    mysql: { url: dbs.mysqlUrl },
    postgres: { url: dbs.pgUrl },
    verify: { reportDir: dir, pendingMaxAgeMs: 5000 },
    shadow: { recheckTimeoutMs: 500, recheckIntervalMs: 50 },
  });
  const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  return {
    config,
    mysql: dbs.mysql,
    postgres: dbs.pg,
    schemas,
    translators: buildTranslators(schemas.mysql, schemas.postgres, config),
    writeReport: false,
    ...extra,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-vpend-'));
  await dbs.mysql.raw(
    'CREATE TABLE docs (id CHAR(36) NOT NULL PRIMARY KEY, title VARCHAR(40) NOT NULL) ENGINE=InnoDB',
  );
  await dbs.pg.raw('CREATE TABLE docs (id uuid PRIMARY KEY, title varchar(40) NOT NULL)');
  await initMetaTables(dbs.mysql, dbs.pg);
  const rows = Array.from({ length: 30 }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    title: `doc ${i}`,
  }));
  await dbs.mysql('docs').insert(rows);
  await dbs.pg('docs').insert(rows);
});

describe('verify: pending outbox rows and malformed keys', () => {
  it('is clean when both sides agree and no outbox row is old', async () => {
    const result = await verify(await options());
    expect(result).toMatchObject({ clean: true, pending: [] });
  });

  it('is not clean while an outbox row older than the bound waits, and names it with its age', async () => {
    const key = '["00000000-0000-4000-8000-000000000003"]';
    // A key left behind (its sync never ran): the row is equal now, the outbox promise is not kept.
    await dbs
      .mysql('dualwrite_outbox')
      .insert({ table_name: 'docs', pk: key, created_at: dbs.mysql.raw('NOW(6) - INTERVAL 1 HOUR') });
    try {
      const result = await verify(await options());
      expect(result.clean).toBe(false);
      expect(result.pending).toHaveLength(1);
      expect(result.pending[0]).toMatchObject({ side: 'mysql', table: 'docs', rows: 1 });
      expect(result.pending[0]?.oldestAgeMs).toBeGreaterThan(3_500_000);
    } finally {
      await dbs.mysql('dualwrite_outbox').del();
    }
  });

  it('reports a 36-character key that is not a UUID as malformed instead of aborting; repair skips it and says so', async () => {
    await dbs.mysql('docs').insert({ id: 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', title: 'quarantined' });
    await dbs
      .mysql('docs')
      .where({ id: '00000000-0000-4000-8000-000000000007' })
      .update({ title: 'changed' });
    try {
      const result = await verify(await options());
      const docs = result.tables.find((t) => t.table === 'docs');
      expect(result.clean).toBe(false);
      expect(docs).toMatchObject({ malformed: 1, different: 1, missing: 0 });
      const o = await options();
      const repaired = await verify({
        ...o,
        repair: new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators: o.translators }),
      });
      const after = repaired.tables.find((t) => t.table === 'docs');
      expect(after?.repair).toMatchObject({ synced: 1, remaining: 0, skipped: { count: 1 } });
      expect(after?.repair?.skipped?.keys[0]).toContain('zzzz');
      expect(
        await dbs.pg('docs').where({ id: '00000000-0000-4000-8000-000000000007' }).first(),
      ).toMatchObject({ title: 'changed' });
    } finally {
      await dbs.mysql('docs').where({ id: 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz' }).del();
    }
  });
});
