// The Genascope example API on its own: `npx tsx examples/genascope/server.ts --config <file> [--port 3000]`.
// It is how the app embeds dualwrite: the handle replaces its knex instance, the middleware gives each
// request its handle, and the shadow reader compares sampled reads. Edit `stage` in the config file
// (or run `dualwrite stage`) and the running server follows.
import { parseArgs } from 'node:util';
import {
  createDualWrite,
  dualwriteMiddleware,
  loadConfig,
  ShadowReader,
  type DualWriteDb,
} from '../../lib/index.js';
import { buildApp } from './app.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'reports/demo/dualwrite.yaml' },
    port: { type: 'string', default: '3000' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const configFile = values.config ?? 'reports/demo/dualwrite.yaml';
const initial = loadConfig({ file: configFile });

// The reader follows the handle's hot-reloaded configuration.
const ref: { db?: DualWriteDb } = {};
const shadow = new ShadowReader({ config: () => ref.db?.dualwrite.config ?? initial });
const db = await createDualWrite({ configFile, readObserver: shadow });
ref.db = db;
db.dualwrite.events.on('stageChanged', ({ from, to }) => process.stdout.write(`stage ${from} → ${to}\n`));

const app = buildApp({ db, middleware: dualwriteMiddleware(db), logger: true });
const address = await app.listen({ host: values.host ?? '127.0.0.1', port: Number(values.port ?? 3000) });
process.stdout.write(`Genascope API on ${address}, stage ${db.dualwrite.stage} (config ${configFile})\n`);

const stop = async (): Promise<void> => {
  await app.close();
  await shadow.close();
  await db.destroy();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
