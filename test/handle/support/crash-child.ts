// Child process of crash.test.ts: writes through the dualwrite handle until killed,
// printing `ack <id> <v>` after each acknowledged write so the parent knows what the app was told.
import { createDualWrite } from '../../../lib/handle/create.js';
import { createSilentLogger } from '../../../lib/observe/logger.js';

const [mysqlUrl, pgUrl, seedText, workerMode] = process.argv.slice(2) as [string, string, string, string];
let state = Number(seedText) >>> 0;
const rand = (): number => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296;
};

const db = await createDualWrite({
  config: { stage: 'dual-write', mysql: { url: mysqlUrl }, postgres: { url: pgUrl } },
  logger: createSilentLogger(),
  env: {},
  // 'none': keys only pile up in the outbox, so everything depends on the next process draining them.
  syncWorker: workerMode !== 'none',
});
for (let n = 0; ; n++) {
  const id = 1 + Math.floor(rand() * 200);
  const v = n;
  if (rand() < 0.15) {
    await db('ledger').where({ id }).del();
    process.stdout.write(`ack ${id} del\n`);
  } else {
    await db.transaction(async (trx) => {
      await trx('ledger').insert({ id, v }).onConflict('id').merge();
      await trx('ledger')
        .where('id', '>', id)
        .where('id', '<', id + 3)
        .increment('v', 1);
    });
    process.stdout.write(`ack ${id} ${v}\n`);
  }
}
