// Verification throughput over Genascope-shaped data (uuid keys, JSON answers, timestamps).
// Usage: npm run bench -- verify [--answers 200000] [--chunk 2000]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Table from 'cli-table3';
import { backfill } from '../lib/backfill/backfill.js';
import { validateConfig } from '../lib/config/load.js';
import { introspectMysql } from '../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../lib/meta/init.js';
import { applySchema, convertDatabase } from '../lib/schema/apply.js';
import { buildTranslators } from '../lib/translate/build.js';
import { verify } from '../lib/verify/verify.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';
import { generateGenascopeData } from './genascope-data.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const answers = arg('answers', 200_000);
const chunk = arg('chunk', 2000);

const dbs = await createDatabases(uniqueDatabaseName('dwbench_verify'));
const dir = await mkdtemp(join(tmpdir(), 'dwbench-verify-'));
try {
  const generated = await generateGenascopeData(dbs.mysqlUrl, { chatAnswers: answers });
  await initMetaTables(dbs.mysql, dbs.pg);
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  const translators = buildTranslators(schemas.mysql, schemas.postgres);
  const copyStarted = performance.now();
  await backfill({ mysql: dbs.mysql, postgres: dbs.pg, translators, sourceSchema: schemas.mysql });
  const copyMs = performance.now() - copyStarted;

  const config = validateConfig({
    stage: 'shadow',
    mysql: { url: dbs.mysqlUrl },
    postgres: { url: dbs.pgUrl },
    verify: { reportDir: dir, chunkSize: chunk },
  });
  const started = performance.now();
  const result = await verify({ config, mysql: dbs.mysql, postgres: dbs.pg, translators, schemas });
  const seconds = (performance.now() - started) / 1000;
  const rows = result.tables.reduce((n, t) => n + t.rowsCompared, 0);

  const table = new Table({ head: ['table', 'rows', 'ms', 'rows/s', 'differ'] });
  for (const t of result.tables) {
    table.push([
      t.table,
      t.rowsCompared,
      t.durationMs,
      Math.round(t.rowsCompared / Math.max(0.001, t.durationMs / 1000)),
      t.missing + t.extra + t.different,
    ]);
  }
  console.log(table.toString());
  const results = {
    rows_compared: rows,
    seconds: Math.round(seconds * 100) / 100,
    rows_per_s: Math.round(rows / seconds),
    chunk_size: chunk,
    clean: result.clean,
    tables: result.tables.length,
    generated_rows: generated.total,
    backfill_seconds: Math.round(copyMs / 10) / 100,
  };
  console.log(JSON.stringify(results));
  await mkdir('bench-results', { recursive: true });
  await writeFile(
    'bench-results/verify.json',
    `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
  await dropDatabases(dbs);
}
