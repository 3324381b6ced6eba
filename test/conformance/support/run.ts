import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';
import { outcome, type Described } from './describe.js';
import { OPERATIONS, type OpContext } from './ops.js';

export interface OpResult {
  name: string;
  value: Described;
}

/** Runs every operation in order on `c.db`, each described (value or error). */
export async function runOperations(c: OpContext): Promise<OpResult[]> {
  const out: OpResult[] = [];
  for (const op of OPERATIONS) out.push({ name: op.name, value: await outcome(() => op.run(c)) });
  return out;
}

export interface Difference {
  name: string;
  reference: Described;
  actual: Described;
}

export function differences(reference: readonly OpResult[], actual: readonly OpResult[]): Difference[] {
  const diffs: Difference[] = [];
  reference.forEach((ref, i) => {
    const got = actual[i];
    if (!got || !isDeepStrictEqual(ref.value, got.value)) {
      diffs.push({ name: ref.name, reference: ref.value, actual: got?.value ?? null });
    }
  });
  return diffs;
}

/** The app's knex configuration: mysql2's defaults, or the settings apps typically customise. */
export type AppSettings = 'defaults' | 'custom';

/** A typeCast apps commonly use: TINYINT(1) as boolean. */
function booleanTypeCast(
  field: { type: string; length: number; string(): string | null },
  next: () => unknown,
): unknown {
  if (field.type === 'TINY' && field.length === 1) {
    const v = field.string();
    return v === null ? null : v === '1';
  }
  return next();
}

export function appKnexConfig(settings: AppSettings, mysqlUrl: string): Knex.Config {
  const u = new URL(mysqlUrl);
  const connection: Record<string, unknown> = {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  };
  if (settings === 'custom') {
    Object.assign(connection, {
      typeCast: booleanTypeCast,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: true,
      timezone: 'Z',
    });
  }
  return {
    client: 'mysql2',
    connection: connection as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 4 },
  };
}
