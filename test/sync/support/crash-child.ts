// Child process of the crash test: an "app" writing rows + outbox rows on MySQL in transactions while a
// SyncWorker drains them to PostgreSQL. The parent SIGKILLs it mid-traffic.
import { createMysqlKnex } from '../../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../../lib/dialect/postgres/connection.js';
import { KeySyncer } from '../../../lib/sync/syncer.js';
import { SyncWorker } from '../../../lib/sync/worker.js';
import { translatorsFor } from './fixtures.js';
import { prng, randomItemWrite } from './traffic.js';

const [mysqlUrl, pgUrl, seedText] = process.argv.slice(2);
if (!mysqlUrl || !pgUrl) throw new Error('usage: crash-child <mysqlUrl> <pgUrl> <seed>');
const mysql = createMysqlKnex({ url: mysqlUrl });
const pg = createPostgresKnex({ url: pgUrl });
const syncer = new KeySyncer({ mysql, pg, translators: await translatorsFor(mysql, pg) });
const worker = new SyncWorker({
  mysql,
  pg,
  syncer,
  authoritative: () => 'mysql',
  sync: { pollIntervalMs: 20, batchSize: 20, concurrency: 3 },
});
const rand = prng(Number(seedText ?? 1));
let writes = 0;
const writer = async (): Promise<void> => {
  for (;;) {
    await randomItemWrite(mysql, rand, 200);
    worker.notify();
    if (++writes % 25 === 0) process.stdout.write(`writes ${writes} synced ${worker.lagStats().count}\n`);
  }
};
await Promise.all([writer(), writer(), writer(), writer()]);
