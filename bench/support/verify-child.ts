// Runs one verification in a process of its own (so its peak RSS is the verification's alone) and prints
// one JSON line: the result's per-table figures, the verification's seconds and the process's peak RSS.
// Args: a JSON config (validateConfig input), then optional JSON VerifyOptions extras (chunkSize, concurrency...).
import { validateConfig } from '../../lib/config/load.js';
import { openVerifySession } from '../../lib/verify/session.js';
import { verify } from '../../lib/verify/verify.js';

const config = validateConfig(JSON.parse(process.argv[2] ?? '{}'));
const extra = JSON.parse(process.argv[3] ?? '{}') as Record<string, number>;
const session = await openVerifySession(config);
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
try {
  const started = performance.now();
  const result = await verify({
    config,
    mysql: session.mysql,
    postgres: session.postgres,
    translators: session.translators,
    schemas: session.schemas,
    writeReport: false,
    ...extra,
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      clean: result.clean,
      // The kernel's high-water mark covers moments between samples.
      peakRssMb: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20,
      flavour: session.schemas.mysql.flavor ?? 'mysql',
      serverVersion: session.schemas.mysql.serverVersion,
      tables: result.tables.map((t) => ({
        table: t.table,
        rows: t.rowsCompared,
        ms: t.durationMs,
        chunks: t.chunks,
        differentChunks: t.differentChunks,
        chunkRows: t.chunkRows,
        differ: t.missing + t.extra + t.different,
        nodeColumns: t.columns.filter((c) => c.path === 'node').map((c) => c.column),
      })),
    })}\n`,
  );
} finally {
  clearInterval(sampler);
  await session.close();
}
