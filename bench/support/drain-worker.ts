// A separate process that only drains the outbox (the deployment where app processes run no worker).
// Args: mysqlUrl pgUrl. Runs until killed.
import { createDualWrite } from '../../lib/handle/create.js';
import { createSilentLogger } from '../../lib/observe/logger.js';

const [mysqlUrl, pgUrl] = process.argv.slice(2) as [string, string];
await createDualWrite({
  config: { stage: 'dual-write', mysql: { url: mysqlUrl }, postgres: { url: pgUrl } },
  logger: createSilentLogger(),
  env: {},
});
process.stdout.write('ready\n');
setInterval(() => undefined, 60_000);
