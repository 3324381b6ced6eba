// Verification throughput on Genascope-shaped data against the servers' own ceiling, measured in one run on
// the same data while the app writes through the handle. The ceiling: both servers scanning every compared
// column of every table at the same time with a trivial aggregate (COUNT of each column), nothing sent to Node.
// Usage: npm run bench -- verify [--answers 1000000] [--write-rate 50] [--chunk N] [--concurrency N] [--keep]
// MySQL side: MYSQL_URL, else the local server of DUALWRITE_FLAVOUR (`mysql`, the default, or `mariadb`).
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import Table from 'cli-table3';
import { backfill } from '../lib/backfill/backfill.js';
import { validateConfig } from '../lib/config/load.js';
import { rowsOf } from '../lib/backfill/keys.js';
import { introspectMysql } from '../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../lib/dialect/postgres/introspect.js';
import { createDualWrite } from '../lib/handle/create.js';
import { initMetaTables } from '../lib/meta/init.js';
import { isMetaTable } from '../lib/meta/tables.js';
import { createSilentLogger } from '../lib/observe/logger.js';
import { applySchema, convertDatabase } from '../lib/schema/apply.js';
import { findTable, type DatabaseSchema } from '../lib/schema/model.js';
import type { Side } from '../lib/stage/stage.js';
import { buildTranslators } from '../lib/translate/build.js';
import type { KeyTuple, TranslatorSet } from '../lib/translate/types.js';
import { chunkBound, keyOrder, rangeClauses } from '../lib/verify/chunks.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';
import type { GenascopeDataResult } from './genascope-data.js';
import { run } from './support/run.js';

function arg(name: string, fallback: number | undefined): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const answers = arg('answers', 1_000_000) as number;
const writeRate = arg('write-rate', 50) as number;
const chunk = arg('chunk', undefined);
const concurrency = arg('concurrency', undefined);
// The ceiling scans with the parallelism verification uses.
const parallel =
  concurrency ?? validateConfig({ mysql: { url: '-' }, postgres: { url: '-' } }).verify.concurrency;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const round = (v: number, digits = 0): number => Number(v.toFixed(digits));
const results: Record<string, number | string | boolean> = {};
const loadBefore = load();
const dbs = await createDatabases(uniqueDatabaseName('dwbench_verify'));
const dir = await mkdtemp(join(tmpdir(), 'dwbench-verify-'));
try {
  // 1. Data (generated in a process of its own), schema, backfill.
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
  const gen = JSON.parse(generated.stdout.trim().split('\n').pop() ?? '{}') as GenascopeDataResult;
  await initMetaTables(dbs.mysql, dbs.pg);
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  const translators = buildTranslators(schemas.mysql, schemas.postgres);
  const copied = await backfill({
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators,
    sourceSchema: schemas.mysql,
  });
  if (!copied.ok) throw new Error('backfill failed');
  // Fresh tables: statistics and visibility maps as a server that has run a while would have them.
  await dbs.pg.raw('VACUUM ANALYZE');

  // 2. The app writes through the handle (dual-write: MySQL authoritative, outbox drained to PostgreSQL).
  const app = await createDualWrite({
    config: { stage: 'dual-write', mysql: { url: dbs.mysqlUrl }, postgres: { url: dbs.pgUrl } },
    logger: createSilentLogger(),
    translators,
    env: {},
  });
  const sessions = rowsOf(await dbs.mysql.raw('SELECT id FROM chat_sessions LIMIT 500')).map((r) =>
    String(r['id']),
  );
  const questions = rowsOf(await dbs.mysql.raw('SELECT id FROM chat_questions')).map((r) => String(r['id']));
  const existing = rowsOf(await dbs.mysql.raw('SELECT id FROM chat_answers LIMIT 2000')).map((r) =>
    String(r['id']),
  );
  let writing = true;
  let writes = 0;
  const appWrite = async (n: number): Promise<void> => {
    const op = n % 5;
    if (op < 2 || existing.length === 0) {
      const id = randomUUID();
      await app('chat_answers').insert({
        id,
        session_id: sessions[n % sessions.length],
        question_id: questions[n % questions.length],
        answer_text: `live answer ${n}`,
        answer_value: JSON.stringify({ value: 'yes', live: n }),
      });
      existing.push(id);
    } else if (op < 4) {
      await app('chat_answers')
        .where({ id: existing[n % existing.length] })
        .update({ answer_text: `edited ${n}` });
    } else {
      const [id] = existing.splice(n % existing.length, 1);
      await app('chat_answers').where({ id }).del();
    }
  };
  const writer = (async () => {
    const started = performance.now();
    const inflight = new Set<Promise<void>>();
    while (writing) {
      const wait = started + (writes * 1000) / writeRate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inflight.size >= 20) await Promise.race(inflight);
      const p: Promise<void> = appWrite(writes).finally(() => inflight.delete(p));
      inflight.add(p);
      writes++;
    }
    await Promise.all(inflight);
  })();

  // 3. Ceiling, verification, ceiling again: the faster ceiling is the reference.
  const firstCeiling = await ceiling({ mysql: dbs.mysql, postgres: dbs.pg }, schemas, translators, parallel);
  const writesBefore = writes;
  const loadDuring = load();
  const verified = await run(process.execPath, [
    '--import',
    'tsx',
    fileURLToPath(new URL('./support/verify-child.ts', import.meta.url)),
    JSON.stringify({
      stage: 'dual-write',
      mysql: { url: dbs.mysqlUrl },
      postgres: { url: dbs.pgUrl },
      verify: { reportDir: dir },
    }),
    JSON.stringify({
      ...(chunk ? { chunkSize: chunk } : {}),
      ...(concurrency ? { concurrency } : {}),
    }),
  ]);
  if (verified.code !== 0) throw new Error(`verification failed: ${verified.stderr}`);
  const v = JSON.parse(verified.stdout.trim().split('\n').pop() ?? '{}') as VerifyChildResult;
  const writesDuring = writes - writesBefore;
  const secondCeiling = await ceiling({ mysql: dbs.mysql, postgres: dbs.pg }, schemas, translators, parallel);
  writing = false;
  await writer;
  await app.destroy();

  const rows = v.tables.reduce((n, t) => n + t.rows, 0);
  const best = firstCeiling.seconds < secondCeiling.seconds ? firstCeiling : secondCeiling;
  const verifyRate = rows / v.seconds;
  const ceilingRate = best.rows / best.seconds;
  Object.assign(results, {
    flavour: `${v.flavour} ${v.serverVersion}`,
    rows_generated: gen.total,
    rows_compared: rows,
    verify_seconds: round(v.seconds, 2),
    verify_rows_per_s: round(verifyRate),
    ceiling_seconds: round(best.seconds, 2),
    ceiling_mysql_seconds: round(best.mysqlSeconds, 2),
    ceiling_pg_seconds: round(best.pgSeconds, 2),
    ceiling_rows_per_s: round(ceilingRate),
    other_ceiling_rows_per_s: round(
      (firstCeiling === best ? secondCeiling : firstCeiling).rows /
        (firstCeiling === best ? secondCeiling : firstCeiling).seconds,
    ),
    ratio_to_ceiling: round(verifyRate / ceilingRate, 3),
    peak_rss_mb: round(v.peakRssMb),
    clean: v.clean,
    app_writes_during_verify: writesDuring,
    app_writes_per_s: round(writesDuring / v.seconds, 1),
    different_chunks: v.tables.reduce((n, t) => n + t.differentChunks, 0),
    chunks: v.tables.reduce((n, t) => n + t.chunks, 0),
    ceiling_parallel_scans_per_table: parallel,
    load_before: loadBefore,
    load_at_verify: loadDuring,
    load_after: load(),
  });
  const perTable = new Table({
    head: ['table', 'rows', 'ms', 'rows/s', 'chunk rows', 'chunks', 'differ', 'node columns'],
  });
  for (const t of v.tables) {
    perTable.push([
      t.table,
      t.rows,
      t.ms,
      round(t.rows / Math.max(0.001, t.ms / 1000)),
      t.chunkRows,
      `${t.chunks} (${t.differentChunks} differ)`,
      t.differ,
      t.nodeColumns.join(', ') || '-',
    ]);
  }
  console.log(perTable.toString());
} finally {
  await rm(dir, { recursive: true, force: true });
  if (!process.argv.includes('--keep')) await dropDatabases(dbs);
  else await Promise.all([dbs.mysql.destroy(), dbs.pg.destroy()]);
}

const summary = new Table({ head: ['metric', 'value'] });
for (const [k, val] of Object.entries(results)) summary.push([k, String(val)]);
console.log(
  `verify bench: ${answers} chat_answers, ${writeRate} app writes/s through the handle` +
    `${chunk ? `, chunk ${chunk}` : ''}${concurrency ? `, concurrency ${concurrency}` : ''}`,
);
console.log(summary.toString());
console.log(JSON.stringify(results));
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/verify.json',
  `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`,
);

interface VerifyChildResult {
  seconds: number;
  clean: boolean;
  peakRssMb: number;
  flavour: string;
  serverVersion: string;
  tables: {
    table: string;
    rows: number;
    ms: number;
    chunks: number;
    differentChunks: number;
    chunkRows: number;
    differ: number;
    nodeColumns: string[];
  }[];
}

/**
 * Both servers at once, each scanning every table's compared columns with COUNT(column) (every value is
 * read, only one row per range comes back), each table split into `parallel` key ranges scanned at the
 * same time (the parallelism verification uses). Wall time is the slower server's.
 */
async function ceiling(
  db: Record<Side, Knex>,
  schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema },
  translators: TranslatorSet,
  parallel: number,
): Promise<{ seconds: number; rows: number; mysqlSeconds: number; pgSeconds: number }> {
  const tables = translators.tableNames().filter((t) => !isMetaTable(t));
  // Key ranges of about equal rows, from the MySQL side's keys (found before the clock starts).
  const ranges = new Map<string, (KeyTuple | undefined)[]>();
  for (const t of tables) {
    const tr = translators.table(t);
    const order = keyOrder(
      'mysql',
      findTable(schemas.mysql, t),
      tr.primaryKey,
      findTable(schemas.postgres, t),
    );
    const [row] = rowsOf(await db.mysql.raw('SELECT COUNT(*) AS n FROM ??', [t]));
    const every = Math.ceil(Number(row?.['n'] ?? 0) / parallel);
    const bounds: KeyTuple[] = [];
    for (let i = 1; i < parallel && every > 0; i++) {
      const b = await chunkBound({
        db: db.mysql,
        side: 'mysql',
        translator: tr,
        order,
        after: bounds[i - 2],
        rows: every,
      });
      if (b === undefined) break;
      bounds.push(b);
    }
    ranges.set(t, [undefined, ...bounds, undefined]);
  }
  const scan = async (side: Side): Promise<{ seconds: number; rows: number }> => {
    const started = performance.now();
    let rows = 0;
    for (const t of tables) {
      const tr = translators.table(t);
      const order = keyOrder(
        side,
        findTable(schemas[side], t),
        tr.primaryKey,
        findTable(schemas.postgres, t),
      );
      const bounds = ranges.get(t) ?? [undefined, undefined];
      const counts = await Promise.all(
        bounds.slice(1).map(async (upTo, i) => {
          const where = rangeClauses({ side, translator: tr, order, after: bounds[i], upTo });
          const sql = `SELECT COUNT(*) AS n, ${tr.columns.map(() => 'COUNT(??)').join(', ')} FROM ??${
            where.length > 0 ? ` WHERE ${where.map((w) => w.sql).join(' AND ')}` : ''
          }`;
          const [row] = rowsOf(
            await db[side].raw(sql, [
              ...tr.columns,
              t,
              ...where.flatMap((w) => w.bindings),
            ] as Knex.RawBinding[]),
          );
          return Number(row?.['n'] ?? 0);
        }),
      );
      rows += counts.reduce((a, b) => a + b, 0);
    }
    return { seconds: (performance.now() - started) / 1000, rows };
  };
  const started = performance.now();
  const [m, p] = await Promise.all([scan('mysql'), scan('postgres')]);
  return {
    seconds: (performance.now() - started) / 1000,
    rows: m.rows,
    mysqlSeconds: m.seconds,
    pgSeconds: p.seconds,
  };
}
