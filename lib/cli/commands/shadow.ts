import type { Command } from 'commander';
import Table from 'cli-table3';
import { readMismatches, isConfirmed } from '../../report/records.js';
import { replayMismatches, type ReplayResult } from '../../shadow/replay.js';
import { openVerifySession } from '../../verify/session.js';
import {
  action,
  configFromOptions,
  ExitCode,
  output,
  UsageError,
  withGlobalOptions,
  type GlobalOptions,
} from '../common.js';

interface ReplayCliOptions extends GlobalOptions {
  since?: string;
  table?: string;
  fingerprint?: string;
  limit?: string;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 2h` or an ISO time → epoch ms. */
function sinceOf(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  const d = DURATION.exec(text);
  if (d) return now - Number(d[1]) * (UNIT_MS[d[2] as string] ?? 0);
  const t = Date.parse(text);
  if (Number.isNaN(t))
    throw new UsageError(`--since expects a duration (30m, 2h, 1d) or an ISO time, got ${text}`);
  return t;
}

function humanTable(results: readonly ReplayResult[]): string {
  const t = new Table({ head: ['table', 'key', 'kind', 'query', 'now', 'detail'] });
  for (const r of results) {
    t.push([
      r.table ?? '(raw)',
      r.key ? JSON.stringify(r.key) : '-',
      r.kind,
      r.fingerprint ?? '-',
      r.outcome === 'differs' ? `DIFFERS (${r.differences})` : r.outcome,
      r.detail,
    ]);
  }
  return t.toString();
}

/** `dualwrite shadow replay`: runs recorded mismatching reads again now (after a mapping was fixed). */
export function registerShadow(program: Command): void {
  const shadow = program.command('shadow').description('shadow-read tools');
  withGlobalOptions(
    shadow
      .command('replay')
      .description('run the recorded mismatching reads again now and say which still differ')
      .option('--since <when>', 'only mismatches recorded since (30m, 2h, 1d, or an ISO time)')
      .option('--table <name>', 'only mismatches of this table')
      .option('--fingerprint <id>', 'only mismatches of this query shape')
      .option('--limit <n>', 'newest mismatches replayed at most', '200'),
  ).action(
    action(async (options: ReplayCliOptions) => {
      const config = configFromOptions(options);
      const limit = Number(options.limit ?? 200);
      if (!Number.isInteger(limit) || limit <= 0)
        throw new UsageError(`--limit expects a positive integer, got ${options.limit}`);
      const since = sinceOf(options.since, Date.now());
      const records = (await readMismatches(config.shadow.mismatchLog))
        .filter((m) => m.source === 'shadow' && isConfirmed(m))
        .filter((m) => since === undefined || Date.parse(m.at) >= since)
        .filter((m) => !options.table || m.table === options.table || m.keyTable === options.table)
        .filter((m) => !options.fingerprint || m.fingerprint === options.fingerprint)
        .slice(-limit);
      const session = await openVerifySession(config);
      let results: ReplayResult[];
      try {
        results = await replayMismatches({
          config,
          db: { mysql: session.mysql, postgres: session.postgres },
          translators: session.translators,
          records,
        });
      } finally {
        await session.close();
      }
      const differs = results.filter((r) => r.outcome === 'differs').length;
      output(options, { replayed: results.length, differs, results }, () => {
        if (results.length === 0) process.stdout.write('No recorded mismatches to replay.\n');
        else
          process.stdout.write(
            `${humanTable(results)}\n${results.length} replayed: ${differs} still differ, ${results.filter((r) => r.outcome === 'fixed').length} fixed\n`,
          );
      });
      return differs > 0 ? ExitCode.Problem : ExitCode.Ok;
    }),
  );
}
