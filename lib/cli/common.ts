import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { DualWriteConfig } from '../config/schema.js';

/** Exit codes shared by every command. */
export const ExitCode = {
  /** The command ran and found nothing wrong. */
  Ok: 0,
  /** The command ran and found a problem (differences, a refused flip...). */
  Problem: 1,
  /** Bad usage or configuration. */
  Usage: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown for bad usage; reported on one stderr line with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An integer option (`--name <n>`) of at least `min`; undefined when not given. */
export function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** Options every command takes. */
export function withGlobalOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'config file (JSON or YAML); without it MYSQL_URL and PG_URL are used')
    .option('--json', 'print the result as JSON');
}

export function configFromOptions(options: GlobalOptions): Readonly<DualWriteConfig> {
  return loadConfig({ file: options.config });
}

/** Prints `result` as JSON when --json, otherwise calls `human`. */
export function output<T>(options: GlobalOptions, result: T, human: (r: T) => void): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else human(result);
}

/**
 * Wraps a command body: its return value is the exit code. Any error (bad usage, invalid config,
 * an unreachable server) exits 2 with a one-line reason; DUALWRITE_DEBUG=1 adds the stack.
 */
export function action<A extends unknown[]>(
  body: (...args: A) => Promise<ExitCode>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await body(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`dualwrite: ${message.split('\n')[0]}\n`);
      if (process.env['DUALWRITE_DEBUG']) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
      process.exitCode = ExitCode.Usage;
    }
  };
}
