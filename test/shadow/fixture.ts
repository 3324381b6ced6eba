import { join } from 'node:path';
import type { Knex } from 'knex';
import { validateConfig } from '../../lib/config/load.js';
import type { DualWriteConfig, DualWriteConfigInput } from '../../lib/config/schema.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { driverResult } from '../../lib/dialect/results.js';
import { runObserved } from '../../lib/handle/knex-internals.js';
import type { ReadObservation, ReadRun, RequestContext } from '../../lib/shadow/types.js';
import type { Side } from '../../lib/stage/stage.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { Row, TranslatorSet } from '../../lib/translate/types.js';
import type { TestDatabases } from '../support/databases.js';

/** A small clinic schema on both servers (the same shape the schema conversion would produce). */
const MYSQL_DDL = [
  `CREATE TABLE clinics (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, city CHAR(20) NOT NULL)`,
  `CREATE TABLE patients (
     id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
     clinic_id INT NOT NULL,
     full_name VARCHAR(100) NOT NULL,
     status ENUM('active','archived') NOT NULL DEFAULT 'active',
     balance DECIMAL(10,2) NOT NULL DEFAULT 0,
     born DATE NULL,
     seen_at DATETIME(3) NULL,
     is_vip TINYINT(1) NOT NULL DEFAULT 0,
     prefs JSON NULL,
     KEY patients_clinic (clinic_id)
   )`,
];
const PG_DDL = [
  `CREATE TABLE clinics (id integer PRIMARY KEY, name varchar(100) NOT NULL, city char(20) NOT NULL)`,
  `CREATE TABLE patients (
     id integer PRIMARY KEY,
     clinic_id integer NOT NULL,
     full_name varchar(100) NOT NULL,
     status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','archived')),
     balance numeric(10,2) NOT NULL DEFAULT 0,
     born date NULL,
     seen_at timestamp(3) NULL,
     is_vip boolean NOT NULL DEFAULT false,
     prefs jsonb NULL
   )`,
  `CREATE INDEX patients_clinic ON patients (clinic_id)`,
];

export const PATIENTS = 200;

export interface Clinic {
  translators: TranslatorSet;
  syncer: KeySyncer;
}

/** Creates the schema on both sides, seeds MySQL and copies every row to PostgreSQL with the real syncer. */
export async function setUpClinic(dbs: TestDatabases): Promise<Clinic> {
  await initMetaTables(dbs.mysql, dbs.pg);
  for (const sql of MYSQL_DDL) await dbs.mysql.raw(sql);
  for (const sql of PG_DDL) await dbs.pg.raw(sql);
  const cities = ['Lyon', 'Oslo', 'Porto', 'Graz'];
  await dbs.mysql('clinics').insert(cities.map((city, i) => ({ id: i + 1, name: `Clinic ${i + 1}`, city })));
  await dbs.mysql('patients').insert(
    Array.from({ length: PATIENTS }, (_, i) => ({
      id: i + 1,
      clinic_id: (i % 4) + 1,
      full_name: `Patient ${i + 1}`,
      status: i % 7 === 0 ? 'archived' : 'active',
      balance: ((i * 37) % 1000) + 0.5,
      born: i % 11 === 0 ? null : `19${50 + (i % 50)}-0${(i % 9) + 1}-1${i % 10}`,
      seen_at: `2024-03-0${(i % 9) + 1} 10:1${i % 10}:0${i % 10}.${(i * 7) % 1000}`.slice(0, 23),
      is_vip: i % 5 === 0,
      prefs: JSON.stringify({
        lang: i % 2 ? 'en' : 'fr',
        reminders: { sms: i % 3 === 0, email: true },
        tags: [i % 4, 'x'],
      }),
    })),
  );
  const translators = buildTranslators(await introspectMysql(dbs.mysql), await introspectPostgres(dbs.pg));
  const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
  await syncer.sync(
    'clinics',
    cities.map((_, i) => [i + 1]),
    'mysql',
  );
  await syncer.sync(
    'patients',
    Array.from({ length: PATIENTS }, (_, i) => [i + 1]),
    'mysql',
  );
  return { translators, syncer };
}

/**
 * Runs a read on the authoritative side the way the handle does and returns the observation it would
 * pass to the observer: the other side's run compiles the same builder for the other dialect.
 */
export async function observedRead(
  dbs: TestDatabases,
  table: string | null,
  build: (db: Knex) => Knex.QueryBuilder | Knex.Raw,
  options: { servedBy?: Side; context?: RequestContext } = {},
): Promise<ReadObservation> {
  const servedBy = options.servedBy ?? 'mysql';
  const db = { mysql: dbs.mysql, postgres: dbs.pg };
  const run = async (side: Side): Promise<ReadRun> => {
    const query = build(db[side]);
    const { sql, bindings } = query.toSQL();
    const { result, response, ms } = await runObserved(query);
    const { rows, fields } = driverResult[side](response ?? result);
    // Builder results are the rows themselves (a single row for .first()).
    const own = Array.isArray(result) && !Array.isArray(result[0]) ? (result as Row[]) : undefined;
    const single = result && typeof result === 'object' && !Array.isArray(result) && !('rows' in result);
    return { rows: own ?? (single ? [result as Row] : rows), fields, ms, sql, bindings };
  };
  const served = await run(servedBy);
  return {
    table,
    sql: served.sql,
    bindings: served.bindings,
    servedBy,
    rows: served.rows,
    fields: served.fields,
    latencyMs: served.ms,
    context: options.context,
    run,
    at: Date.now(),
  };
}

/**
 * Config of a ShadowReader test: every read sampled and timed, its own mismatch log in `dir`, short
 * re-check waits; `extra` overrides (its `shadow` merged).
 */
export function shadowTestConfig(
  dbs: TestDatabases,
  dir: string,
  extra: Partial<DualWriteConfigInput> = {},
): DualWriteConfig {
  return validateConfig({
    stage: 'shadow',
    mysql: { url: dbs.mysqlUrl },
    postgres: { url: dbs.pgUrl },
    ...extra,
    shadow: {
      sampleRate: 1,
      mismatchLog: join(dir, `mismatches-${Math.random().toString(36).slice(2)}.jsonl`),
      latencyFile: join(dir, 'latency.json'),
      recheckTimeoutMs: 5000,
      recheckIntervalMs: 50,
      latencySampleRate: 1,
      ...extra.shadow,
    },
  });
}
