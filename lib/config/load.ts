import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

import { ConfigError } from '../errors.js';
import { mysqlUrlFromEnv, pgUrlFromEnv } from '../dialect/urls.js';
import { configSchema, type DualWriteConfig, type DualWriteConfigInput } from './schema.js';

/** Parses a config file's text: YAML (a superset of JSON) or JSON. */
export function parseConfigText(text: string, source: string): unknown {
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`${source}: not valid YAML/JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Environment overrides, applied over the file: `DUALWRITE_STAGE`, `MYSQL_URL`, `PG_URL`.
 * Without a file the URLs come from the environment (or the local defaults).
 */
export function applyEnvOverrides(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  hasFile: boolean,
): Record<string, unknown> {
  const base = (raw && typeof raw === 'object' ? structuredClone(raw) : {}) as Record<string, unknown>;
  const section = (name: string): Record<string, unknown> => {
    const value = base[name];
    const obj = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
    base[name] = obj;
    return obj;
  };
  if (env['DUALWRITE_STAGE']) base['stage'] = env['DUALWRITE_STAGE'];
  const mysql = section('mysql');
  const postgres = section('postgres');
  if (env['MYSQL_URL'] || (!hasFile && mysql['url'] === undefined)) mysql['url'] = mysqlUrlFromEnv(env);
  if (env['PG_URL'] || (!hasFile && postgres['url'] === undefined)) postgres['url'] = pgUrlFromEnv(env);
  return base;
}

/** Validates a config object; throws a ConfigError naming every bad option. */
export function validateConfig(input: unknown, source = 'config'): Readonly<DualWriteConfig> {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const reasons = result.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`${source}: invalid configuration: ${reasons}`, { cause: result.error });
  }
  return deepFreeze(result.data);
}

export interface LoadConfigOptions {
  /** Path of a JSON or YAML config file. Without it, connections come from MYSQL_URL and PG_URL. */
  file?: string | undefined;
  /** Values merged over the file before env overrides (library callers). */
  overrides?: DualWriteConfigInput | undefined;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Reads, merges and validates the configuration. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<DualWriteConfig> {
  const env = options.env ?? process.env;
  let raw: unknown = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${options.file}: cannot read config file: ${(error as Error).message}`, {
        cause: error,
      });
    }
    raw = parseConfigText(text, options.file);
  }
  if (options.overrides) raw = { ...(raw as object), ...options.overrides };
  return validateConfig(applyEnvOverrides(raw, env, Boolean(options.file)), options.file ?? 'config');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
