import type { Command } from 'commander';
import { writeReport, formatSummary } from '../../report/report.js';
import {
  action,
  configFromOptions,
  ExitCode,
  output,
  withGlobalOptions,
  type GlobalOptions,
} from '../common.js';

interface ReportOptions extends GlobalOptions {
  out?: string;
  examples?: string;
}

/** `dualwrite report`: terminal summary + self-contained HTML page of mismatches, latency and the last verification. */
export function registerReport(program: Command): void {
  withGlobalOptions(
    program
      .command('report')
      .description('summarise shadow-read mismatches, latency per query shape and the last verification')
      .option('-o, --out <file>', 'HTML page to write (default <verify.reportDir>/report.html)')
      .option('--examples <n>', 'mismatch examples shown side by side', '20'),
  ).action(
    action(async (options: ReportOptions) => {
      const config = configFromOptions(options);
      const examples = Number(options.examples ?? 20);
      const { file, summary } = await writeReport({
        config,
        examples: Number.isFinite(examples) ? examples : 20,
        ...(options.out ? { out: options.out } : {}),
      });
      output(options, { file, ...summary }, () => {
        process.stdout.write(`${formatSummary(summary)}\nHTML report: ${file}\n`);
      });
      return ExitCode.Ok;
    }),
  );
}
