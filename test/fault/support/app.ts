// An app process of the fault suite: writes hot keys through the dualwrite handle until told to stop
// (SIGTERM) or killed (SIGKILL). Every write is written to its ledger, fsync'd, before it is sent
// (B) and after the app was told it succeeded (A) or failed (E), so the judge knows what was
// acknowledged whatever happens to the process.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createDualWrite } from '../../../lib/handle/create.js';
import { createSilentLogger } from '../../../lib/observe/logger.js';

export interface AppArgs {
  configFile: string;
  ledger: string;
  seed: number;
  /** Hot keys of `counters` (1..keys). */
  keys: number;
  /** Pause between writes, ms. */
  pauseMs: number;
  syncWorker: boolean;
}

const args = JSON.parse(process.env['FAULT_APP'] ?? '{}') as AppArgs;
let state = args.seed >>> 0 || 1;
const rand = (): number => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296;
};
const now = (): number => performance.timeOrigin + performance.now();
const fd = openSync(args.ledger, 'a');
const log = (line: string): void => {
  writeSync(fd, `${line}\n`);
  fsyncSync(fd);
};

const db = await createDualWrite({
  configFile: args.configFile,
  logger: createSilentLogger(),
  env: {},
  syncWorker: args.syncWorker,
});
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.stdout.write('ready\n');

for (let n = 0; !stopping; n++) {
  const token = `${args.seed}-${n}`;
  const key = 1 + Math.floor(rand() * args.keys);
  const r = rand();
  const kind = r < 0.45 ? 'upsert' : r < 0.7 ? 'insert' : r < 0.9 ? 'txn' : 'delete';
  log(`B ${token} ${kind} ${key} ${now().toFixed(3)}`);
  try {
    let id = '';
    if (kind === 'upsert') {
      await db('counters').insert({ id: key, v: token }).onConflict('id').merge();
    } else if (kind === 'delete') {
      await db('counters').where({ id: key }).del();
    } else if (kind === 'insert') {
      const [got] = (await db('events').insert({ payload: token })) as number[];
      id = String(got);
    } else {
      id = await db.transaction(async (trx) => {
        await trx('counters').insert({ id: key, v: token }).onConflict('id').merge();
        const [got] = (await trx('events').insert({ payload: token })) as number[];
        return String(got);
      });
    }
    log(`A ${token} ${now().toFixed(3)} ${id}`);
  } catch (error) {
    log(
      `E ${token} ${now().toFixed(3)} ${String((error as Error).message)
        .replace(/\s+/g, ' ')
        .slice(0, 300)}`,
    );
  }
  if (args.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, args.pauseMs * rand() * 2));
}
await db.destroy();
closeSync(fd);
process.exit(0);
