// Runs a backfill of `big` in its own process so a test can SIGKILL it mid-table.
import { backfill } from '../../../lib/backfill/backfill.js';
import { createMysqlKnex } from '../../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../../lib/dialect/postgres/connection.js';
import { resumeSchema, resumeTranslators } from './tables.js';

const [mysqlUrl, pgUrl, batch, rate, pipeline] = process.argv.slice(2);
const mysql = createMysqlKnex({ url: mysqlUrl! });
const postgres = createPostgresKnex({ url: pgUrl! });
await backfill({
  mysql,
  postgres,
  translators: resumeTranslators,
  sourceSchema: resumeSchema,
  batchSize: Number(batch),
  maxRowsPerSecond: Number(rate),
  pipeline: Number(pipeline ?? 1),
});
await mysql.destroy();
await postgres.destroy();
