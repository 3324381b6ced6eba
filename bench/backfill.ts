// Backfill benchmark on Genascope-shaped data: generate in MariaDB, convert the schema, backfill into
// PostgreSQL with keys, indexes and foreign keys in place while a light app write load runs (outbox +
// sync worker), then run pgloader on the same data into a separate database when it is installed.
// A composite-key table (`answer_scores`: integer, date, uuid and case-insensitive text in its primary key)
// of --composite-rows rows is backfilled in the same run, next to the uuid-keyed chat_answers.
// Usage: npm run bench -- backfill [--rows 1000000] [--composite-rows 1000000] [--batch 8000] [--concurrency 1] [--pipeline 2] [--lanes 1] [--write-rate 50] [--no-pgloader]
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import type { Knex } from 'knex';
import { BACKFILL_DEFAULTS, backfill } from '../lib/backfill/backfill.js';
import { rowsOf } from '../lib/backfill/keys.js';
import { introspectMysql } from '../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../lib/dialect/postgres/introspect.js';
import { withDatabase } from '../lib/dialect/urls.js';
import { initMetaTables } from '../lib/meta/init.js';
import { isMetaTable } from '../lib/meta/tables.js';
import { createPostgresKnex } from '../lib/dialect/postgres/connection.js';
import { applySchema, convertDatabase } from '../lib/schema/apply.js';
import { enqueueKeys } from '../lib/sync/outbox.js';
import { KeySyncer } from '../lib/sync/syncer.js';
import { SyncWorker } from '../lib/sync/worker.js';
import { buildTranslators } from '../lib/translate/build.js';
import type { Row } from '../lib/translate/types.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';
import type { GenascopeDataResult } from './genascope-data.js';
import { run } from './support/run.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const answers = arg('rows', 1_000_000);
// Defaults: the library's.
const batchSize = arg('batch', BACKFILL_DEFAULTS.batchSize);
const concurrency = arg('concurrency', BACKFILL_DEFAULTS.concurrency);
const pipeline = arg('pipeline', BACKFILL_DEFAULTS.pipeline);
const lanes = arg('lanes', BACKFILL_DEFAULTS.lanes);
const writeRate = arg('write-rate', 50);
const compositeRows = arg('composite-rows', 1_000_000);
const withPgloader = !process.argv.includes('--no-pgloader') && existsSync('/usr/bin/pgloader');

const results: Record<string, number | string> = {};
const dbs = await createDatabases(uniqueDatabaseName('dwbench_bf'));
const pgloaderDb = `${dbs.name}_pgl`;
try {
  // 1. Data and schema.
  // In a process of its own, so the RSS measured below is the backfill's, not the generator's leftovers.
  const generated = await run(process.execPath, [
    '--import',
    'tsx',
    fileURLToPath(new URL('./genascope-data.ts', import.meta.url)),
    '--rows',
    String(answers),
    '--url',
    dbs.mysqlUrl,
  ]);
  if (generated.code !== 0) throw new Error(`generating data failed: ${generated.stderr}`);
  const gen = JSON.parse(generated.stdout.trim().split('\n').pop()!) as GenascopeDataResult;
  results['source_rows'] = gen.total;
  results['generate_rows_per_s'] = Math.round(gen.total / (gen.ms / 1000));
  if (compositeRows > 0) {
    await generateCompositeTable(dbs.mysql, compositeRows);
    results['source_rows'] = gen.total + compositeRows;
  }
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  await initMetaTables(dbs.mysql, dbs.pg);
  const mysqlSchema = await introspectMysql(dbs.mysql);
  const translators = buildTranslators(mysqlSchema, await introspectPostgres(dbs.pg));

  // 2. A light app write load on chat_answers through the outbox, drained by a sync worker (the live path).
  const liveSyncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
  const worker = new SyncWorker({
    mysql: dbs.mysql,
    pg: dbs.pg,
    syncer: liveSyncer,
    authoritative: () => 'mysql',
    sync: { retryBaseMs: 200 },
  });
  const sessions = rowsOf(await dbs.mysql.raw('SELECT id FROM chat_sessions ORDER BY RAND() LIMIT 500')).map(
    (r) => r['id'] as string,
  );
  const questions = rowsOf(await dbs.mysql.raw('SELECT id FROM chat_questions')).map(
    (r) => r['id'] as string,
  );
  const existing = rowsOf(await dbs.mysql.raw('SELECT id FROM chat_answers ORDER BY RAND() LIMIT 2000')).map(
    (r) => r['id'] as string,
  );
  const touched = new Set<string>();
  let writing = true;
  let writes = 0;
  // Writes start on schedule (not one after the other), at most 20 in flight, like requests of an app.
  let writesDone = 0;
  const appWrite = async (n: number): Promise<void> => {
    const op = n % 5;
    let id: string;
    await dbs.mysql.transaction(async (trx) => {
      if (op < 2 || existing.length === 0) {
        id = randomUUID();
        await trx('chat_answers').insert({
          id,
          session_id: sessions[n % sessions.length],
          question_id: questions[n % questions.length],
          answer_text: `live answer ${n}`,
          answer_value: JSON.stringify({ value: 'yes', live: n }),
        });
        existing.push(id);
      } else if (op < 4) {
        id = existing[n % existing.length]!;
        await trx('chat_answers')
          .where({ id })
          .update({ answer_text: `edited ${n}` });
      } else {
        id = existing.splice(n % existing.length, 1)[0]!;
        await trx('chat_answers').where({ id }).del();
      }
      await enqueueKeys(trx, 'chat_answers', [[id]]);
      touched.add(id);
    });
    worker.notify();
    writesDone++;
  };
  const writer = (async () => {
    const started = performance.now();
    const inflight = new Set<Promise<void>>();
    while (writing) {
      const due = started + (writes * 1000) / writeRate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inflight.size >= 20) await Promise.race(inflight);
      const p: Promise<void> = appWrite(writes).finally(() => inflight.delete(p));
      inflight.add(p);
      writes++;
    }
    await Promise.all(inflight);
  })();

  // 3. The backfill, sampling RSS.
  let peakRss = process.memoryUsage().rss;
  results['rss_before_backfill_mb'] = Math.round(peakRss / 2 ** 20);
  let peakHeap = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  }, 100);
  const tableRates: { table: string; rows: number; seconds: number }[] = [];
  const result = await backfill({
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators,
    sourceSchema: mysqlSchema,
    batchSize,
    concurrency,
    pipeline,
    lanes,
    onEvent: (e) => {
      if (e.type === 'tableDone') {
        console.error(`  ${e.table}: ${e.rowsDone} rows in ${(e.durationMs / 1000).toFixed(1)} s`);
        tableRates.push({ table: e.table, rows: e.rowsDone, seconds: e.durationMs / 1000 });
      }
    },
  });
  clearInterval(sampler);
  writing = false;
  await writer;
  await worker.drain({ timeoutMs: 120_000 });
  await worker.close();
  if (!result.ok)
    throw new Error(`backfill failed: ${JSON.stringify(result.tables.filter((t) => t.status !== 'done'))}`);
  results['backfill_rows'] = result.rows;
  // The two large tables, each on its own (tables are copied one at a time with concurrency 1).
  for (const [label, table] of [
    ['uuid_key_chat_answers', 'chat_answers'],
    ['composite_key_answer_scores', 'answer_scores'],
  ] as const) {
    const t = tableRates.find((r) => r.table === table);
    if (!t) continue;
    results[`${label}_rows`] = t.rows;
    results[`${label}_seconds`] = Number(t.seconds.toFixed(1));
    results[`${label}_rows_per_s`] = Math.round(t.rows / Math.max(0.001, t.seconds));
  }
  results['backfill_seconds'] = Number((result.durationMs / 1000).toFixed(1));
  results['rows_per_s'] = Math.round(result.rowsPerSecond);
  results['peak_rss_mb'] = Math.round(peakRss / 2 ** 20);
  results['peak_heap_used_mb'] = Math.round(peakHeap / 2 ** 20);
  results['peak_external_mb'] = Math.round(peakExternal / 2 ** 20);
  results['app_writes_during'] = writesDone;
  results['app_writes_per_s'] = Math.round(writesDone / (result.durationMs / 1000));

  // 4. Check: equal counts on every table, and every key the app touched plus a sample equal row for row.
  let countMismatches = 0;
  let sourceRowsNow = 0;
  for (const t of mysqlSchema.tables) {
    const [m] = rowsOf(await dbs.mysql.raw('SELECT COUNT(*) AS n FROM ??', [t.name]));
    if (!isMetaTable(t.name)) sourceRowsNow += Number(m?.['n']);
    const [p] = rowsOf(await dbs.pg.raw('SELECT COUNT(*) AS n FROM ??', [t.name]));
    if (Number(m?.['n']) !== Number(p?.['n'])) countMismatches++;
  }
  const tr = translators.table('chat_answers');
  const sample = [...touched, ...existing.slice(0, 1000)];
  let rowMismatches = 0;
  for (let i = 0; i < sample.length; i += 1000) {
    const ids = sample.slice(i, i + 1000);
    const norm = (rows: Row[], side: 'mysql' | 'postgres'): Map<string, string> =>
      new Map(rows.map((r) => [String(r['id']).toLowerCase(), JSON.stringify(tr.normalize(r, side))]));
    const m = norm((await dbs.mysql('chat_answers').whereIn('id', ids)) as Row[], 'mysql');
    const p = norm((await dbs.pg('chat_answers').whereIn('id', ids)) as Row[], 'postgres');
    for (const id of ids) if (m.get(id.toLowerCase()) !== p.get(id.toLowerCase())) rowMismatches++;
  }
  results['tables_with_count_mismatch'] = countMismatches;
  results['sampled_rows_mismatched'] = rowMismatches;
  results['sampled_rows'] = sample.length;

  // 5. pgloader on the same data (no concurrent writes: it cannot follow them), into its own database.
  if (withPgloader) {
    await dbs.pg.raw(`DROP DATABASE IF EXISTS "${pgloaderDb}"`);
    await dbs.pg.raw(`CREATE DATABASE "${pgloaderDb}"`);
    // Our own tables (outbox, locks...) are not part of the data.
    const loadFile = join(tmpdir(), `${pgloaderDb}.load`);
    await writeFile(
      loadFile,
      `LOAD DATABASE FROM ${dbs.mysqlUrl} INTO ${withDatabase(dbs.pgUrl, pgloaderDb).replace(/^postgres:/, 'postgresql:')}
       EXCLUDING TABLE NAMES MATCHING ~/^dualwrite_/;\n`,
    );
    const t0 = performance.now();
    // Its default 1 GB Lisp heap runs out on this data now and then ("Heap exhausted"): give it room.
    const out = await run('/usr/bin/time', ['-v', 'pgloader', '--dynamic-space-size', '4096', loadFile]);
    const seconds = (performance.now() - t0) / 1000;
    if (out.code !== 0) throw new Error(`pgloader failed: ${out.stderr.slice(-2000)}`);
    // pgloader can exit 0 having loaded nothing: count what arrived.
    const pgl = createPostgresKnex({ url: withDatabase(dbs.pgUrl, pgloaderDb), pool: { max: 1 } });
    let loaded = 0;
    try {
      for (const t of mysqlSchema.tables) {
        if (isMetaTable(t.name)) continue;
        loaded += Number(
          rowsOf(await pgl.raw(`SELECT COUNT(*) AS n FROM ${dbs.name}."${t.name}"`))[0]?.['n'],
        );
      }
    } finally {
      await pgl.destroy();
    }
    if (loaded !== sourceRowsNow)
      throw new Error(`pgloader loaded ${loaded} of ${sourceRowsNow} rows:\n${out.stdout.slice(-3000)}`);
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(out.stderr);
    results['pgloader_seconds'] = Number(seconds.toFixed(1));
    results['pgloader_rows_per_s'] = Math.round(loaded / seconds);
    results['pgloader_peak_rss_mb'] = rss ? Math.round(Number(rss[1]) / 1024) : 'n/a';
    results['ratio_vs_pgloader'] = Number(
      ((results['rows_per_s'] as number) / (loaded / seconds)).toFixed(2),
    );
  }
} finally {
  await dbs.pg.raw(`DROP DATABASE IF EXISTS "${pgloaderDb}" WITH (FORCE)`).catch(() => undefined);
  await dropDatabases(dbs);
}

/**
 * answer_scores: `rows` rows keyed by (clinic_id INT, day DATE, patient_ref CHAR(36) holding uuids,
 * metric VARCHAR case-insensitive), generated by MySQL itself (INSERT … SELECT over a digits cross join,
 * 100,000 rows a statement: fine under GTID enforcement).
 */
async function generateCompositeTable(mysql: Knex, rows: number): Promise<void> {
  await mysql.raw(`CREATE TABLE answer_scores (
    clinic_id INT NOT NULL, day DATE NOT NULL, patient_ref CHAR(36) NOT NULL, metric VARCHAR(40) NOT NULL,
    score DECIMAL(8,2) NOT NULL, note VARCHAR(100) NULL,
    PRIMARY KEY (clinic_id, day, patient_ref, metric)) DEFAULT CHARSET=utf8mb4`);
  const digits = `(${Array.from({ length: 10 }, (_, d) => `SELECT ${d} AS d`).join(' UNION ALL ')})`;
  const step = 100_000;
  for (let from = 0; from < rows; from += step) {
    await mysql.raw(
      `INSERT INTO answer_scores (clinic_id, day, patient_ref, metric, score, note)
       SELECT n DIV 40, DATE_ADD('2024-01-01', INTERVAL n % 30 DAY),
              LOWER(CONCAT(LPAD(HEX(n), 8, '0'), '-0000-4000-8000-', LPAD(HEX(n * 7919), 12, '0'))),
              CONCAT('Metric-', n % 7, '-Äb'), (n % 100000) / 100, CONCAT('score ', n)
       FROM (SELECT ? + a.d + b.d * 10 + c.d * 100 + d.d * 1000 + e.d * 10000 AS n
             FROM ${digits} a, ${digits} b, ${digits} c, ${digits} d, ${digits} e) AS t
       WHERE n < ?`,
      [from, rows],
    );
  }
  await mysql.raw('ANALYZE TABLE answer_scores');
}

const table = new Table({ head: ['metric', 'value'] });
for (const [k, v] of Object.entries(results)) table.push([k, String(v)]);
console.log(
  `backfill bench: ${answers} chat_answers (${results['source_rows']} rows), batch ${batchSize}, concurrency ${concurrency}, pipeline ${pipeline}, lanes ${lanes}, ${writeRate} app writes/s`,
);
console.log(table.toString());
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/backfill.json',
  `${JSON.stringify({ bench: 'backfill', at: new Date().toISOString(), params: { rows: answers, compositeRows, batchSize, concurrency, pipeline, lanes, writeRate, pgloader: withPgloader }, results }, null, 2)}\n`,
);
