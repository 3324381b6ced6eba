import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDualWrite } from '../../lib/handle/create.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { planFor, STAGES, type Stage } from '../../lib/stage/stage.js';
import { useFreshDatabases } from '../support/databases.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { verify } from '../../lib/verify/verify.js';
import { PG_DIFFERENCES } from './support/differences.js';
import { createFixture, TABLES, type Fixture } from './support/fixture.js';
import { writeMigrationFiles } from './support/ops.js';
import { OPERATIONS } from './support/ops.js';
import {
  appKnexConfig,
  differences,
  runOperations,
  type AppSettings,
  type Difference,
  type OpResult,
} from './support/run.js';

const flavour = process.env['DUALWRITE_TEST_FLAVOUR'] ?? 'custom';
const dbs = useFreshDatabases('dwconf');
let fixture: Fixture;
let dir: string;

/** What every run found, for the report written at the end. */
const report: {
  settings: AppSettings;
  stage: Stage;
  operations: number;
  identical: number;
  differences: Difference[];
}[] = [];

beforeAll(async () => {
  mkdirSync('reports', { recursive: true });
  fixture = await createFixture(dbs);
  dir = mkdtempSync(join(tmpdir(), 'dwconf-'));
  writeMigrationFiles(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync('reports', { recursive: true });
  writeFileSync(`reports/conformance-${flavour}.json`, `${JSON.stringify(report, null, 1)}\n`);
});

async function openHandle(settings: AppSettings, stage: Stage, worker: boolean): Promise<DualWriteDb> {
  return createDualWrite({
    knex: appKnexConfig(settings, dbs.mysqlUrl),
    logger: createSilentLogger(),
    syncWorker: worker,
    env: {},
    config: {
      stage,
      mysql: { url: dbs.mysqlUrl, poolMax: 4 },
      postgres: { url: dbs.pgUrl, poolMax: 4 },
      auditLog: `reports/test-audit-${dbs.name}.jsonl`,
      sync: { pollIntervalMs: 50 },
    },
  });
}

describe.each(['defaults', 'custom'] as const)('app settings: %s', (settings) => {
  let reference: OpResult[] = [];

  it('reference: plain knex on MySQL', async () => {
    await fixture.reset();
    const db: Knex = knexFactory(appKnexConfig(settings, dbs.mysqlUrl));
    const other: Knex = knexFactory(appKnexConfig(settings, dbs.mysqlUrl));
    try {
      reference = await runOperations({ db, other, dir });
    } finally {
      await Promise.all([db.destroy(), other.destroy()]);
    }
    writeFileSync(
      `reports/conformance-reference-${flavour}-${settings}.json`,
      `${JSON.stringify(reference, null, 1)}\n`,
    );
    expect(reference.length).toBe(OPERATIONS.length);
    expect(OPERATIONS.length).toBeGreaterThan(150);
  });

  it.each(STAGES.map((s) => [s]))('stage %s answers as plain knex did', async (stage) => {
    await fixture.reset();
    const db = await openHandle(settings, stage, true);
    const other = await openHandle(settings, stage, false);
    let results: OpResult[];
    let verified: Awaited<ReturnType<typeof verify>> | undefined;
    try {
      results = await runOperations({ db: db as unknown as Knex, other: other as unknown as Knex, dir });
      if (planFor(stage).syncs) {
        await db.dualwrite.worker?.drain({ timeoutMs: 20_000 });
        verified = await verify({
          config: db.dualwrite.config,
          mysql: dbs.mysql,
          postgres: dbs.pg,
          translators: db.dualwrite.translators,
          schemas: { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) },
          tables: [...TABLES],
          writeReport: false,
          resume: false,
        });
      }
    } finally {
      await Promise.all([db.destroy(), other.destroy()]);
    }
    const diffs = differences(reference, results);
    report.push({
      settings,
      stage,
      operations: results.length,
      identical: results.length - diffs.length,
      differences: diffs,
    });
    if (planFor(stage).authoritative === 'mysql') {
      expect(diffs.map((d) => d.name)).toEqual([]);
    } else {
      // Only the differences README.md lists, each with its reason.
      expect(diffs.map((d) => d.name).filter((n) => !(n in PG_DIFFERENCES))).toEqual([]);
    }
    if (verified) {
      // Every write of every form was captured: both databases hold the same rows.
      expect(verified.tables.map((t) => [t.table, t.missing + t.extra + t.different])).toEqual(
        TABLES.map((t) => [t, 0]),
      );
      const quarantined = (await dbs
        .pg('dualwrite_quarantine')
        .select('table_name', 'pk', 'code', 'reason')) as {
        code: string;
      }[];
      // The only poison among the operations: MariaDB's zero date (PostgreSQL cannot hold it).
      expect(quarantined.filter((q) => q.code !== 'zero_date')).toEqual([]);
    }
  });
});
