// Translator benchmark over every Sakila row: rows/s of translate (MySQL → PG and back), normalize and toApp.
// Usage: npm run bench -- translate [--rounds 5]
import { mkdir, writeFile } from 'node:fs/promises';
import Table from 'cli-table3';
import { introspectMysql } from '../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../lib/dialect/postgres/introspect.js';
import { applySchema, convertDatabase } from '../lib/schema/apply.js';
import { buildTranslators } from '../lib/translate/build.js';
import type { Row, RowTranslator } from '../lib/translate/types.js';
import { createDatabases, dropDatabases, uniqueDatabaseName } from '../test/support/databases.js';
import { loadSakila } from '../test/support/sakila.js';

const i = process.argv.indexOf('--rounds');
const rounds = i > 0 ? Number(process.argv[i + 1]) : 5;

const dbs = await createDatabases(uniqueDatabaseName('dwbench_translate'));
try {
  await loadSakila(dbs.mysqlUrl);
  await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
  const mysqlSchema = await introspectMysql(dbs.mysql);
  const translators = buildTranslators(mysqlSchema, await introspectPostgres(dbs.pg));
  const tables: { tr: RowTranslator; mysqlRows: Row[]; pgRows: Row[] }[] = [];
  for (const t of mysqlSchema.tables) {
    const tr = translators.table(t.name);
    const mysqlRows = (await dbs.mysql(t.name).select('*')) as Row[];
    tables.push({ tr, mysqlRows, pgRows: mysqlRows.map((r) => tr.translate(r, 'mysql')) });
  }
  const total = tables.reduce((n, t) => n + t.mysqlRows.length, 0);
  const ops: Record<string, (tr: RowTranslator, m: Row, p: Row) => unknown> = {
    'translate mysql→pg': (tr, m) => tr.translate(m, 'mysql'),
    'translate pg→mysql': (tr, _m, p) => tr.translate(p, 'postgres'),
    'normalize (mysql row)': (tr, m) => tr.normalize(m, 'mysql'),
    'toApp (mysql row)': (tr, m) => tr.toApp(m, 'mysql'),
  };
  const results: Record<string, number> = { rows: total, rounds };
  const table = new Table({ head: ['operation', 'rows', 'rows/s', 'µs/row'] });
  for (const [name, op] of Object.entries(ops)) {
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (const t of tables)
        for (let k = 0; k < t.mysqlRows.length; k++) op(t.tr, t.mysqlRows[k]!, t.pgRows[k]!);
    }
    const seconds = (performance.now() - started) / 1000;
    const perSecond = Math.round((total * rounds) / seconds);
    results[name] = perSecond;
    table.push([name, total * rounds, perSecond.toLocaleString('en'), (1e6 / perSecond).toFixed(2)]);
  }
  console.log(table.toString());
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/translate.json', `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await dropDatabases(dbs);
}
