import type { Knex } from 'knex';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { initMetaTables } from '../../lib/meta/init.js';
import type { MismatchRecord } from '../../lib/report/records.js';
import type { Side } from '../../lib/stage/stage.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import type { TestDatabases } from '../support/databases.js';

/**
 * A clinic app's schema: patients (written hot), visits (appended), clinics and staff (read only), JSON on
 * both sides of joins, times at millisecond and microsecond precision, decimals, a CHAR and a boolean.
 */
const MYSQL_DDL = [
  `CREATE TABLE clinics (id INT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, city CHAR(20) NOT NULL,
     settings JSON NOT NULL)`,
  `CREATE TABLE patients (id INT NOT NULL PRIMARY KEY, clinic_id INT NOT NULL, full_name VARCHAR(100) NOT NULL,
     status ENUM('active','archived') NOT NULL DEFAULT 'active', balance DECIMAL(10,2) NOT NULL DEFAULT 0,
     born DATE NULL, seen_at DATETIME(3) NULL, is_vip TINYINT(1) NOT NULL DEFAULT 0, prefs JSON NULL,
     KEY patients_clinic (clinic_id))`,
  `CREATE TABLE visits (id INT NOT NULL PRIMARY KEY, patient_id INT NOT NULL, clinic_id INT NOT NULL,
     at DATETIME(6) NOT NULL, kind VARCHAR(20) NOT NULL, fee DECIMAL(8,2) NOT NULL, notes JSON NULL,
     KEY visits_patient (patient_id), KEY visits_clinic (clinic_id))`,
  `CREATE TABLE staff (id INT NOT NULL PRIMARY KEY, clinic_id INT NOT NULL, name VARCHAR(100) NOT NULL,
     role VARCHAR(30) NOT NULL, joined DATE NOT NULL)`,
];
const PG_DDL = [
  `CREATE TABLE clinics (id integer PRIMARY KEY, name varchar(100) NOT NULL, city char(20) NOT NULL,
     settings jsonb NOT NULL)`,
  `CREATE TABLE patients (id integer PRIMARY KEY, clinic_id integer NOT NULL, full_name varchar(100) NOT NULL,
     status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','archived')),
     balance numeric(10,2) NOT NULL DEFAULT 0, born date NULL, seen_at timestamp(3) NULL,
     is_vip boolean NOT NULL DEFAULT false, prefs jsonb NULL)`,
  `CREATE INDEX patients_clinic ON patients (clinic_id)`,
  `CREATE TABLE visits (id integer PRIMARY KEY, patient_id integer NOT NULL, clinic_id integer NOT NULL,
     at timestamp(6) NOT NULL, kind varchar(20) NOT NULL, fee numeric(8,2) NOT NULL, notes jsonb NULL)`,
  `CREATE INDEX visits_patient ON visits (patient_id)`,
  `CREATE INDEX visits_clinic ON visits (clinic_id)`,
  `CREATE TABLE staff (id integer PRIMARY KEY, clinic_id integer NOT NULL, name varchar(100) NOT NULL,
     role varchar(30) NOT NULL, joined date NOT NULL)`,
];

const PATIENTS = 120;
const VISITS = 400;
const STAFF = 24;
/** Patients written all the time (clinics 1–4, two of them in clinics 1 and 2). */
export const HOT = [1, 2, 3, 4, 5, 6];
const clinicOf = (patient: number): number => ((patient - 1) % 4) + 1;

/** Key order and spacing as an app would write them; every server stores them its own way. */
function clinicSettings(i: number): string {
  return `{"tz": "Europe/${['Paris', 'Oslo', 'Lisbon', 'Vienna'][i]}", "lang": "${['fr', 'no', 'pt', 'de'][i]}", "hours": {"open": ${7 + i}, "close": 18.50}, "fee_factor": 1.${i}0, "tags": ["a", "b${i}"]}`;
}

function prefs(i: number, order: number): string {
  const entries = [
    `"lang": "${i % 2 ? 'en' : 'fr'}"`,
    `"reminders": {"sms": ${i % 3 === 0}, "email": true}`,
    `"tags": [${i % 4}, "x"]`,
    `"score": ${i}.${i % 10}0`,
  ];
  const rotated = [...entries.slice(order % 4), ...entries.slice(0, order % 4)];
  return `{${rotated.join(', ')}}`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export interface Workload {
  translators: TranslatorSet;
  syncer: KeySyncer;
}

/** Creates the schema on both sides, seeds MySQL and copies every row to PostgreSQL with the real syncer. */
export async function setUpWorkload(dbs: TestDatabases): Promise<Workload> {
  await initMetaTables(dbs.mysql, dbs.pg);
  for (const sql of MYSQL_DDL) await dbs.mysql.raw(sql);
  for (const sql of PG_DDL) await dbs.pg.raw(sql);
  const cities = ['Lyon', 'Oslo', 'Porto', 'Graz'];
  await dbs
    .mysql('clinics')
    .insert(
      cities.map((city, i) => ({ id: i + 1, name: `Clinic ${i + 1}`, city, settings: clinicSettings(i) })),
    );
  await dbs.mysql('patients').insert(
    Array.from({ length: PATIENTS }, (_, i) => ({
      id: i + 1,
      clinic_id: clinicOf(i + 1),
      full_name: `Patient ${i + 1}`,
      status: i % 7 === 0 ? 'archived' : 'active',
      balance: ((i * 37) % 1000) + 0.5,
      born: i % 11 === 0 ? null : `19${50 + (i % 50)}-0${(i % 9) + 1}-1${i % 10}`,
      seen_at: `2024-03-0${(i % 9) + 1} 10:1${i % 10}:0${i % 10}.${pad((i * 7) % 1000, 3)}`,
      is_vip: i % 5 === 0,
      prefs: prefs(i, i),
    })),
  );
  await dbs.mysql('visits').insert(
    Array.from({ length: VISITS }, (_, k) => {
      const id = k + 1;
      const patient = ((id * 7) % PATIENTS) + 1;
      return {
        id,
        patient_id: patient,
        clinic_id: clinicOf(patient),
        at: `2024-0${(id % 9) + 1}-1${id % 10} 0${id % 10}:${pad(id % 60)}:${pad((id * 3) % 60)}.${pad((id * 7919) % 1_000_000, 6)}`,
        kind: ['lab', 'checkup', 'consult'][id % 3] as string,
        fee: ((id * 13) % 500) + 0.25,
        notes: `{"by": "dr ${id % 5}", "codes": [${id % 5}, ${id % 3}], "paid": ${id % 2 === 0}}`,
      };
    }),
  );
  await dbs.mysql('staff').insert(
    Array.from({ length: STAFF }, (_, k) => ({
      id: k + 1,
      clinic_id: (k % 4) + 1,
      name: `Staff ${k + 1}`,
      role: ['nurse', 'doctor', 'admin'][k % 3] as string,
      joined: `20${10 + (k % 10)}-0${(k % 9) + 1}-2${k % 8}`,
    })),
  );
  const translators = buildTranslators(await introspectMysql(dbs.mysql), await introspectPostgres(dbs.pg));
  const syncer = new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators });
  const all = (n: number) => Array.from({ length: n }, (_, i) => [i + 1]);
  await syncer.sync('clinics', all(4), 'mysql');
  await syncer.sync('patients', all(PATIENTS), 'mysql');
  await syncer.sync('visits', all(VISITS), 'mysql');
  await syncer.sync('staff', all(STAFF), 'mysql');
  return { translators, syncer };
}

/** A small deterministic random source (xorshift), so a failing run can be replayed. */
export function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

/** Visit ids the workload inserts start here (a block per phase), so neither side's sequence is involved. */
export const VISIT_IDS_FROM = 100_000;

/** One write through the handle: hot patients updated, visits of clinics 1–3 added and removed. */
export function writer(db: DualWriteDb, rnd: () => number, firstVisitId: number): () => Promise<void> {
  let next = firstVisitId;
  const added: number[] = [];
  let n = 0;
  return async () => {
    n += 1;
    const r = rnd();
    if (r < 0.55) {
      const id = pick(rnd, HOT);
      const ms = Math.floor(rnd() * 1000);
      await db('patients')
        .where({ id })
        .update({
          balance: (Math.floor(rnd() * 100_000) / 100).toFixed(2),
          prefs: prefs(id + n, n),
          seen_at: `2024-05-0${(n % 9) + 1} 12:${pad(n % 60)}:${pad(Math.floor(rnd() * 60))}.${pad(ms, 3)}`,
          status: rnd() < 0.5 ? 'active' : 'archived',
        });
    } else if (r < 0.9 || added.length === 0) {
      const patient = pick(rnd, [...HOT.filter((p) => clinicOf(p) < 4), 9, 13, 30, 47]);
      const id = next++;
      added.push(id);
      await db('visits').insert({
        id,
        patient_id: patient,
        clinic_id: clinicOf(patient),
        at: `2024-06-${pad((n % 28) + 1)} 09:${pad(n % 60)}:00.${pad(Math.floor(rnd() * 1_000_000), 6)}`,
        kind: pick(rnd, ['lab', 'checkup', 'consult']),
        fee: (Math.floor(rnd() * 50_000) / 100).toFixed(2),
        notes: `{"codes": [${n % 7}], "by": "dr ${n % 3}"}`,
      });
    } else {
      const id = added.splice(Math.floor(rnd() * added.length), 1)[0] as number;
      await db('visits').where({ id }).delete();
    }
  };
}

/** What a read of the workload is called and runs (through the handle); `n` counts its runs. */
export interface WorkloadRead {
  name: string;
  run(db: DualWriteDb, n: number): Promise<unknown>;
}

/** The n-th of `xs`, round and round: each read's first runs visit the rows differences are planted in. */
const nth = <T>(xs: readonly T[], n: number): T => xs[n % xs.length] as T;
/** Planted rows first, hot and cold keys in turn. */
const POINT_KEYS = [104, 1, 108, 2, 112, 3, 9004, 4, 92, 5, 96, 6, 100, 116, 120];

/** The read mix: keyed and unkeyed, joins with JSON on both sides, aggregates, CTEs, raw reads, time functions. */
export const READS: readonly WorkloadRead[] = [
  {
    name: 'patient by key (hot and cold keys)',
    run: (db, n) =>
      db('patients')
        .where({ id: nth(POINT_KEYS, n) })
        .first(),
  },
  {
    name: 'patients of a clinic',
    run: (db, n) =>
      db('patients')
        .where('clinic_id', nth([4, 1, 2, 3], n))
        .where('id', '>', nth([90, 0], n))
        .orderBy('id')
        .limit(40),
  },
  {
    name: 'patients joined with their clinic (JSON on both sides)',
    run: (db, n) =>
      db('patients as p')
        .join('clinics as c', 'c.id', 'p.clinic_id')
        .select('p.id', 'p.full_name', 'p.prefs', 'p.balance', 'c.settings', 'c.city')
        .where('p.clinic_id', nth([2, 4, 1, 3], n))
        .where('p.id', '>', nth([0, 90, 90, 0], n))
        .orderBy('p.id'),
  },
  {
    name: 'visits of a patient through a CTE',
    run: (db, n) => {
      // Outside the callback: knex calls it again each time the query is built for a side.
      const patient = nth([88, ...HOT, 9, 13], n);
      return db
        .queryBuilder()
        .with('recent', (qb) =>
          qb.from('visits').select('id', 'patient_id', 'at', 'notes', 'fee').where('patient_id', patient),
        )
        .select('*')
        .from('recent')
        .orderBy('id');
    },
  },
  {
    name: 'raw read by keys',
    run: (db, n) =>
      db.raw('SELECT id, clinic_id, prefs, seen_at, is_vip FROM patients WHERE id IN (?, ?, ?)', [
        nth(POINT_KEYS, n + 4),
        nth(POINT_KEYS, n + 1),
        nth(POINT_KEYS, n + 9),
      ]),
  },
  {
    name: 'visits per clinic (aggregate of a table being written)',
    run: (db) =>
      db('visits')
        .select('clinic_id')
        .count({ n: '*' })
        .sum({ total: 'fee' })
        .avg({ mean: 'fee' })
        .max({ last: 'at' })
        .where('clinic_id', '<', 4)
        .groupBy('clinic_id'),
  },
  {
    name: 'balances per city (join aggregate)',
    run: (db) =>
      db('patients as p')
        .join('clinics as c', 'c.id', 'p.clinic_id')
        .select('c.city')
        .count({ n: '*' })
        .sum({ balance: 'p.balance' })
        .where('p.clinic_id', '<', 4)
        .groupBy('c.city'),
  },
  {
    name: 'clinics, raw, without a key',
    run: (db) => db.raw('SELECT name, city, settings FROM clinics ORDER BY name'),
  },
  {
    name: 'visit counts per patient through a raw CTE',
    run: (db) =>
      db.raw(
        'WITH per AS (SELECT patient_id, COUNT(*) AS n FROM visits WHERE clinic_id < 4 GROUP BY patient_id) SELECT n, COUNT(*) AS patients FROM per GROUP BY n ORDER BY n',
      ),
  },
  {
    name: 'staff of a clinic, without a key',
    run: (db, n) =>
      db('staff')
        .select('clinic_id', 'name', 'role', 'joined')
        .where('clinic_id', nth([3, 4, 1, 2], n))
        .orderBy('name'),
  },
  {
    name: 'statuses in use',
    run: (db) => db('patients').distinct('status').where('clinic_id', '<', 4),
  },
  {
    name: 'dates and years from expressions, raw',
    run: (db, n) => {
      const from = 90 + ((n * 7) % 25);
      return db.raw(
        'SELECT id, CAST(seen_at AS DATE) AS seen_day, EXTRACT(YEAR FROM born) AS born_year FROM patients WHERE id BETWEEN ? AND ?',
        [from, from + 6],
      );
    },
  },
  {
    name: 'visit times of a patient (microseconds)',
    run: (db, n) =>
      db('visits')
        .select('id', 'at', 'fee')
        .where('patient_id', nth([88, ...HOT], n)),
  },
  { name: 'current time, raw', run: (db) => db.raw('SELECT CURRENT_TIMESTAMP AS now_at') },
  {
    name: 'patients seen before now',
    run: (db) =>
      db('patients').select('id', 'seen_at').where('seen_at', '<', db.fn.now()).where('id', '<', 20),
  },
  {
    name: 'visits of the last day, raw',
    run: (db) => db.raw("SELECT COUNT(*) AS n FROM visits WHERE at > CURRENT_TIMESTAMP - INTERVAL '1' DAY"),
  },
];

/** A difference planted behind dualwrite's back, and how to recognise its record. */
export interface Plant {
  name: string;
  kind: MismatchRecord['kind'];
  matches(record: MismatchRecord): boolean;
  /** Table and keys to sync from the authoritative side to undo it. */
  repair: { table: string; keys: number[][] };
}

const keyed =
  (table: string, id: number) =>
  (m: MismatchRecord): boolean =>
    (m.keyTable ?? m.table) === table && JSON.stringify(m.key) === JSON.stringify([id]);
const sourced =
  (source: string) =>
  (m: MismatchRecord): boolean =>
    m.columns.some((c) => (c.source ?? `${m.table}.${c.column}`) === source);
const rowWith =
  (field: string, value: unknown) =>
  (m: MismatchRecord): boolean =>
    m.key === null && [m.rows.authoritative, m.rows.other].some((r) => r?.[field] === value);

/**
 * Plants one changed value, one missing row, one extra row and one changed JSON document in keyed reads,
 * and the same kinds in reads without a key, directly on `other` (behind dualwrite's back).
 */
export async function plantDifferences(other: Knex, otherSide: Side): Promise<Plant[]> {
  await other('patients').where({ id: 104 }).update({ full_name: 'Patient 104 (changed)' });
  await other('patients').where({ id: 108 }).delete();
  await other('patients').insert({
    id: 9004,
    clinic_id: 4,
    full_name: 'Nobody',
    status: 'active',
    balance: '1.00',
    is_vip: otherSide === 'postgres' ? false : 0,
    prefs: '{"lang": "en"}',
  });
  await other('patients').where({ id: 112 }).update({
    prefs: '{"lang": "de", "reminders": {"sms": false, "email": true}, "tags": [3, "x"], "score": 111.1}',
  });
  await other('visits').where({ id: 201 }).update({ fee: '9999.99' });
  await other('clinics').where({ id: 3 }).update({ name: 'Clinic Three' });
  await other('clinics').where({ id: 2 }).update({
    settings:
      '{"tz": "Europe/Oslo", "lang": "nb", "hours": {"open": 8, "close": 18.5}, "fee_factor": 1.1, "tags": ["a", "b1"]}',
  });
  await other('staff').where({ id: 3 }).delete();
  await other('staff').insert({ id: 900, clinic_id: 4, name: 'Ghost', role: 'nurse', joined: '2020-01-01' });
  return [
    {
      name: 'keyed changed value',
      kind: 'different',
      matches: keyed('patients', 104),
      repair: { table: 'patients', keys: [[104]] },
    },
    {
      name: 'keyed missing row',
      kind: 'missing',
      matches: keyed('patients', 108),
      repair: { table: 'patients', keys: [[108]] },
    },
    {
      name: 'keyed extra row',
      kind: 'extra',
      matches: keyed('patients', 9004),
      repair: { table: 'patients', keys: [[9004]] },
    },
    {
      name: 'keyed changed JSON document',
      kind: 'different',
      matches: keyed('patients', 112),
      repair: { table: 'patients', keys: [[112]] },
    },
    {
      name: 'keyed changed value through a CTE',
      kind: 'different',
      matches: keyed('visits', 201),
      repair: { table: 'visits', keys: [[201]] },
    },
    {
      name: 'unkeyed changed value',
      kind: 'different',
      matches: sourced('clinics.name'),
      repair: { table: 'clinics', keys: [[3]] },
    },
    {
      name: 'unkeyed changed JSON document (also joined)',
      kind: 'different',
      matches: sourced('clinics.settings'),
      repair: { table: 'clinics', keys: [[2]] },
    },
    {
      name: 'unkeyed missing row',
      kind: 'missing',
      matches: rowWith('name', 'Staff 3'),
      repair: { table: 'staff', keys: [[3]] },
    },
    {
      name: 'unkeyed extra row',
      kind: 'extra',
      matches: rowWith('name', 'Ghost'),
      repair: { table: 'staff', keys: [[900]] },
    },
  ];
}
