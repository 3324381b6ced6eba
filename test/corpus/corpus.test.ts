import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { validateConfig } from '../../lib/config/load.js';
import type { DualWriteConfigInput } from '../../lib/config/schema.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { createDualWrite } from '../../lib/handle/create.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import { convertSchema } from '../../lib/schema/convert.js';
import type { Side } from '../../lib/stage/stage.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { Row, TranslatorSet } from '../../lib/translate/types.js';
import { verify } from '../../lib/verify/verify.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../support/databases.js';
import { prng } from '../sync/support/traffic.js';
import { listDatasets, loadDataset, type Dataset } from './dataset.js';
import { RandomWriter, type WriterStats } from './writer.js';

// Every dataset of test/fixtures/corpus (a folder with a dataset.json each): converted, backfilled
// under live writes through the handle, verified to zero differences, flipped to pg-primary, written
// again, verified again. Adding a dataset is adding a folder.

/** Writes through the handle while MySQL is authoritative (during and after the backfill) and after the flip. */
const WRITES = { mysql: 160, postgres: 100 };

interface Figures {
  dataset: string;
  flavour: string;
  tables: number;
  rows: number;
  seconds: number;
  differences: number;
  writes: Record<Side, WriterStats>;
  engineConverted: string[];
  keylessWithoutConfig: string[];
}
const figures: Figures[] = [];

afterAll(() => {
  mkdirSync('reports', { recursive: true });
  writeFileSync(`reports/corpus-${inject('flavour')}.json`, `${JSON.stringify(figures, null, 2)}\n`);
  for (const f of figures) {
    console.log(
      `corpus ${f.flavour} ${f.dataset}: ${f.tables} tables, ${f.rows} rows, ${f.seconds} s, differences ${f.differences}; ` +
        `writes mysql ${summary(f.writes.mysql)}, postgres ${summary(f.writes.postgres)}` +
        (f.engineConverted.length > 0 ? `; loaded as InnoDB: ${f.engineConverted.join(', ')}` : ''),
    );
  }
});

function summary(s: WriterStats): string {
  return `${s.insert} inserts, ${s.update} updates (${s.keyMoves} moving a key), ${s.delete} deletes, ${s.failed} refused`;
}

/** Every row of every table, normalised, by key text, on one side. */
async function dump(db: DualWriteDb, translators: TranslatorSet, side: Side): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const knex = db.dualwrite.knex[side];
  for (const table of translators.tableNames().filter((t) => !t.startsWith('dualwrite_'))) {
    const tr = translators.table(table);
    for (const row of (await knex(table).select('*')) as Row[]) {
      const key = JSON.stringify(
        tr.canonicalKey(
          tr.primaryKey.map((c) => row[c]),
          side,
        ),
      );
      out.set(`${table} ${key}`, JSON.stringify(tr.normalize(row, side)));
    }
  }
  return out;
}

/** Rows that differ between the sides, every table included (excluded ones are kept by each side itself). */
async function compareAll(db: DualWriteDb, translators: TranslatorSet): Promise<string[]> {
  const [m, p] = [await dump(db, translators, 'mysql'), await dump(db, translators, 'postgres')];
  const keys = new Set([...m.keys(), ...p.keys()]);
  return [...keys]
    .filter((k) => m.get(k) !== p.get(k))
    .slice(0, 5)
    .map(
      (k) =>
        `${k}: mysql ${m.get(k)?.slice(0, 200) ?? 'none'}, postgres ${p.get(k)?.slice(0, 200) ?? 'none'}`,
    );
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function writeFor(writer: RandomWriter, n: number, alongside?: Promise<unknown>): Promise<void> {
  let done = false;
  void alongside?.finally(() => (done = true));
  for (let i = 0; i < n || (alongside && !done); i++) await writer.step();
}

describe('public sample databases converge', () => {
  it.each(listDatasets().map((d) => [d.name, d] as const))('%s', async (_name, dataset: Dataset) => {
    const started = performance.now();
    const dbs = await createDatabases(uniqueDatabaseName(`dwcorpus_${dataset.name}`));
    let db: DualWriteDb | undefined;
    try {
      // 1. Load, as the dataset's README does, on this server.
      const notes = await loadDataset(dataset, dbs.mysqlUrl);
      const loaded = await introspectMysql(dbs.mysql);
      const counts: Record<string, number> = {};
      for (const t of loaded.tables) {
        counts[t.name] = Number(((await dbs.mysql(t.name).count({ n: '*' }).first()) as { n: unknown }).n);
      }
      expect(counts).toEqual(dataset.rows);

      // 2. Convert; tables no key identifies are listed before anything moves.
      const tablesConfig = (dataset.config?.tables ?? {}) as NonNullable<DualWriteConfigInput['tables']>;
      const keylessWithoutConfig = convertSchema(loaded).report.keyless.map((k) => k.table);
      const conversion = await convertDatabase(dbs.mysql, { tables: tablesConfig });
      expect(conversion.report.keyless).toEqual([]);
      await applySchema(dbs.pg, conversion);
      if (dataset.postgresAfterSchema) {
        await applySchema(dbs.pg, readFileSync(join(dataset.dir, dataset.postgresAfterSchema), 'utf8'));
      }
      await initMetaTables(dbs.mysql, dbs.pg);

      const reportDir = `reports/test-${dbs.name}`;
      const config: DualWriteConfigInput = {
        stage: 'dual-write',
        mysql: { url: dbs.mysqlUrl, poolMax: 6 },
        postgres: { url: dbs.pgUrl, poolMax: 6 },
        tables: tablesConfig,
        verify: { reportDir },
        shadow: { mismatchLog: `${reportDir}/mismatches.jsonl`, recheckTimeoutMs: 5000 },
        auditLog: `${reportDir}/audit.jsonl`,
      };
      db = await createDualWrite({ config, logger: createSilentLogger(), env: {} });
      const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
      const translators = buildTranslators(schemas.mysql, schemas.postgres, { tables: tablesConfig });
      const excluded = Object.entries(tablesConfig)
        .filter(([, t]) => t?.exclude)
        .map(([name]) => name);
      const writable = translators
        .tableNames()
        .filter((t) => !t.startsWith('dualwrite_') && !excluded.includes(t) && !dataset.noWrites?.[t]);
      const writer = (seed: number): RandomWriter =>
        new RandomWriter({ db: db!, schema: schemas.mysql, translators, tables: writable, rand: prng(seed) });
      const handle = db;
      const drained = (side: Side) => async () =>
        Number(
          (
            (await handle.dualwrite.knex[side]('dualwrite_outbox').count({ n: '*' }).first()) as {
              n: unknown;
            }
          ).n,
        ) === 0;
      const verified = async (stage: 'dual-write' | 'pg-primary'): Promise<number> => {
        const result = await verify({
          config: validateConfig({ ...config, stage }),
          mysql: dbs.mysql,
          postgres: dbs.pg,
          translators,
          schemas,
        });
        const differing = result.tables.filter((t) => t.missing + t.extra + t.different > 0);
        expect(
          differing.map((t) => [t.table, t.missing, t.extra, t.different, t.examples.slice(0, 2)]),
        ).toEqual([]);
        expect(result.clean).toBe(true);
        return result.tables.reduce((n, t) => n + t.missing + t.extra + t.different, 0);
      };

      // 3. MySQL authoritative: backfill while the app writes, then drain and verify.
      const mysqlWriter = writer(7);
      const copy = backfill({
        mysql: dbs.mysql,
        postgres: dbs.pg,
        translators,
        sourceSchema: schemas.mysql,
        exclude: excluded,
      });
      await writeFor(mysqlWriter, WRITES.mysql, copy);
      const copied = await copy;
      expect(copied.tables.filter((t) => t.status !== 'done' && !excluded.includes(t.table))).toEqual([]);
      await until(drained('mysql'), 60_000, 'the MySQL outbox to drain');
      let differences = await verified('dual-write');
      expect(await compareAll(db, translators)).toEqual([]);

      // 4. The flip, writes on PostgreSQL synced back to MySQL, verify again.
      await db.dualwrite.flip('pg-primary');
      expect(db.dualwrite.stage).toBe('pg-primary');
      const pgWriter = writer(8);
      await writeFor(pgWriter, WRITES.postgres);
      await until(drained('postgres'), 60_000, 'the PostgreSQL outbox to drain');
      differences += await verified('pg-primary');
      expect(await compareAll(db, translators)).toEqual([]);
      expect(mysqlWriter.stats.insert + mysqlWriter.stats.update + mysqlWriter.stats.delete).toBeGreaterThan(
        WRITES.mysql / 2,
      );
      expect(pgWriter.stats.insert + pgWriter.stats.update + pgWriter.stats.delete).toBeGreaterThan(
        WRITES.postgres / 2,
      );

      // Every table the app writes was written.
      const written = new Set([
        ...Object.keys(mysqlWriter.stats.tables),
        ...Object.keys(pgWriter.stats.tables),
      ]);
      expect(writable.filter((t) => !written.has(t))).toEqual([]);
      // Nothing waits in quarantine: every key written reached the other side.
      expect(
        await dbs.pg('dualwrite_quarantine').whereNull('resolved_at').select('table_name', 'pk', 'reason'),
      ).toEqual([]);

      figures.push({
        dataset: dataset.name,
        flavour: inject('flavour'),
        tables: loaded.tables.length,
        rows: Object.values(counts).reduce((a, b) => a + b, 0),
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
        differences,
        writes: { mysql: mysqlWriter.stats, postgres: pgWriter.stats },
        engineConverted: notes.engineConverted,
        keylessWithoutConfig,
      });
    } finally {
      await db?.destroy();
      await dropDatabases(dbs);
    }
  });
});
