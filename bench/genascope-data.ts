// Fast generator of Genascope-shaped data in MySQL/MariaDB: `tsx bench/genascope-data.ts [--rows N] [--url mysql://...]`.
// Rows are streamed as tab-separated text into LOAD DATA LOCAL INFILE (one stream per table, never a table
// in memory); the schema is the example app's MySQL-era DDL (examples/genascope/schema.mysql.sql).
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import { createMysqlSchema } from '../examples/genascope/schema.js';
import { Random } from '../examples/genascope/seed.js';
import { createMysqlKnex } from '../lib/dialect/mysql/connection.js';
import { mysqlUrlFromEnv } from '../lib/dialect/urls.js';

export interface GenascopeDataOptions {
  /** chat_answers rows; every other table is sized in proportion. @default 1_000_000 */
  chatAnswers?: number;
  /** PRNG seed: the same seed and size give the same rows. @default 7 */
  seed?: number;
  /** Create the tables first (the database must be empty). @default true */
  createSchema?: boolean;
}

export interface GenascopeDataResult {
  /** Rows per table. */
  counts: Record<string, number>;
  total: number;
  ms: number;
}

/** Sizes per table for `answers` chat_answers rows (20 answers per session, 2 sessions per patient...). */
export function genascopeSizes(answers: number): Record<string, number> {
  const sessions = Math.max(1, Math.round(answers / 20));
  const patients = Math.max(1, Math.round(sessions / 2));
  const clinicians = Math.max(1, Math.round(patients / 10));
  return {
    accounts: Math.max(1, Math.round(clinicians / 50)),
    clinicians,
    patients,
    chat_questions: 40,
    chat_sessions: sessions,
    chat_answers: answers,
    appointments: patients * 3,
    lab_integrations: 5,
    lab_orders: patients,
    lab_results: Math.round(patients * 0.8),
  };
}

/** One TSV field: NULL as \N, backslash, tab and newline escaped (LOAD DATA's defaults). */
function field(v: string | number | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = String(v);
  return /[\\\t\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n') : s;
}

const DAY = 86_400_000;
const EPOCH = Date.UTC(2023, 0, 1);

function dt(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

type Row = (string | number | boolean | null)[];

/** Loads `count` rows made by `make(i)` into `table` through LOAD DATA LOCAL INFILE, 64 KiB chunks at a time. */
async function load(
  conn: mysql.Connection,
  table: string,
  columns: string[],
  count: number,
  make: (i: number) => Row,
): Promise<void> {
  function* chunks(): Generator<Buffer> {
    let buf = '';
    for (let i = 0; i < count; i++) {
      buf += `${make(i).map(field).join('\t')}\n`;
      if (buf.length > 1 << 16) {
        yield Buffer.from(buf, 'utf8');
        buf = '';
      }
    }
    if (buf) yield Buffer.from(buf, 'utf8');
  }
  await conn.query({
    sql: `LOAD DATA LOCAL INFILE 'stream' INTO TABLE \`${table}\` CHARACTER SET utf8mb4 (${columns.map((c) => `\`${c}\``).join(', ')})`,
    infileStreamFactory: () => Readable.from(chunks()),
  });
}

async function connect(url: string): Promise<mysql.Connection> {
  const u = new URL(url);
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    charset: 'utf8mb4',
  });
  // The generated data is consistent: skip the per-row checks while loading.
  await conn.query("SET time_zone = '+00:00', foreign_key_checks = 0, unique_checks = 0");
  // MySQL 8+ ships with LOAD DATA LOCAL disabled on the server; the bench servers are ours to enable it.
  const [rows] = await conn.query('SELECT @@GLOBAL.local_infile AS on_');
  if (Number((rows as { on_: unknown }[])[0]?.on_) !== 1) await conn.query('SET GLOBAL local_infile = 1');
  return conn;
}

const ANSWERS = ['yes', 'no', 'unsure', 'prefer not to say'];
const RELATIVES = ['mother', 'father', 'sister', 'brother', 'maternal aunt', 'paternal grandmother'];
const CANCERS = ['breast', 'ovarian', 'colon', 'prostate', 'pancreatic'];

/** Generates Genascope-shaped data in the MySQL database at `url`. */
export async function generateGenascopeData(
  url: string,
  options: GenascopeDataOptions = {},
): Promise<GenascopeDataResult> {
  const started = performance.now();
  const size = genascopeSizes(options.chatAnswers ?? 1_000_000);
  const seed = options.seed ?? 7;
  if (options.createSchema ?? true) {
    const knex = createMysqlKnex({ url, pool: { max: 1 } });
    try {
      await createMysqlSchema(knex);
    } finally {
      await knex.destroy();
    }
  }
  // Parent keys are kept (a few MB at 1M answers); child rows are streamed.
  const r = new Random(seed);
  const ids = (n: number): string[] => Array.from({ length: n }, () => r.uuid());
  const accountIds = ids(size['accounts']!);
  const clinicianIds = ids(size['clinicians']!);
  const patientUserIds = ids(size['patients']!);
  const patientIds = ids(size['patients']!);
  const questionIds = ids(size['chat_questions']!);
  const sessionIds = ids(size['chat_sessions']!);
  const labIds = ids(size['lab_integrations']!);
  const orderIds = ids(size['lab_orders']!);
  const pick = <T>(a: readonly T[], i: number): T => a[i % a.length]!;
  const created = (i: number, n: number): number => EPOCH + Math.floor((i / Math.max(1, n)) * 700 * DAY);

  const conns = await Promise.all([connect(url), connect(url)]);
  const counts: Record<string, number> = {};
  const job = async (
    conn: mysql.Connection,
    table: string,
    columns: string[],
    count: number,
    make: (i: number, rand: Random) => Row,
  ): Promise<void> => {
    const rand = new Random(seed * 7919 + table.length * 104_729 + count);
    await load(conn, table, columns, count, (i) => make(i, rand));
    counts[table] = (counts[table] ?? 0) + count;
  };
  const ts = ['created_at', 'updated_at'];
  // Two connections: chat_answers (the bulk) on one, everything else on the other.
  const [big, small] = conns as [mysql.Connection, mysql.Connection];
  const answers = job(
    big,
    'chat_answers',
    ['id', 'session_id', 'question_id', 'answer_text', 'answer_value', ...ts],
    size['chat_answers']!,
    (i, rand) => {
      const c = created(i, size['chat_answers']!);
      const answer = ANSWERS[rand.int(0, 3)]!;
      const value = {
        value: answer,
        score: rand.int(0, 10),
        relatives: rand.chance(0.3) ? [RELATIVES[rand.int(0, 5)], RELATIVES[rand.int(0, 5)]] : [],
        cancer: rand.chance(0.2) ? CANCERS[rand.int(0, 4)] : null,
        age: rand.int(18, 90),
      };
      return [
        rand.uuid(),
        pick(sessionIds, i >> 4),
        pick(questionIds, i),
        rand.chance(0.5) ? `${answer}, noted on visit ${rand.int(1, 9)}` : answer,
        JSON.stringify(value),
        dt(c),
        dt(c + rand.int(0, 30) * DAY),
      ];
    },
  );
  const rest = (async () => {
    await job(small, 'accounts', ['id', 'name', 'domain', 'is_active', ...ts], accountIds.length, (i) => [
      accountIds[i]!,
      `Clinic ${i}`,
      `clinic${i}.example.org`,
      i % 10 !== 0,
      dt(EPOCH),
      null,
    ]);
    const userCols = [
      'id',
      'name',
      'role',
      'email',
      'hashed_password',
      'account_id',
      'is_active',
      'clinician_id',
      ...ts,
    ];
    await job(small, 'users', userCols, clinicianIds.length, (i, rand) => [
      clinicianIds[i]!,
      `Dr. Clinician ${i}`,
      'clinician',
      `clinician${i}@example.org`,
      `$2b$12$${rand.token(53)}`,
      pick(accountIds, i),
      true,
      null,
      dt(EPOCH),
      dt(EPOCH),
    ]);
    await job(small, 'users', userCols, patientUserIds.length, (i, rand) => [
      patientUserIds[i]!,
      `Patient ${i}`,
      'patient',
      `patient${i}@example.com`,
      `$2b$12$${rand.token(53)}`,
      pick(accountIds, i),
      rand.chance(0.95),
      pick(clinicianIds, i),
      dt(created(i, patientUserIds.length)),
      dt(created(i, patientUserIds.length)),
    ]);
    await job(
      small,
      'patients',
      [
        'id',
        'user_id',
        'email',
        'first_name',
        'last_name',
        'phone',
        'external_id',
        'date_of_birth',
        'notes',
        'status',
        'clinician_id',
        'account_id',
        ...ts,
      ],
      patientIds.length,
      (i, rand) => [
        patientIds[i]!,
        patientUserIds[i]!,
        `patient${i}@example.com`,
        `First${i}`,
        `Last${i % 997}`,
        `+1555${String(rand.int(0, 9_999_999)).padStart(7, '0')}`,
        rand.chance(0.5) ? `EXT-${i}` : null,
        `${rand.int(1940, 2005)}-${String(rand.int(1, 12)).padStart(2, '0')}-${String(rand.int(1, 28)).padStart(2, '0')}`,
        rand.chance(0.2) ? `Family history reviewed.\nFollow up in ${rand.int(1, 12)} months.` : null,
        rand.chance(0.9) ? 'active' : 'inactive',
        pick(clinicianIds, i),
        pick(accountIds, i),
        dt(created(i, patientIds.length)),
        dt(created(i, patientIds.length) + DAY),
      ],
    );
    await job(
      small,
      'chat_questions',
      [
        'id',
        'sequence',
        'text',
        'description',
        'answer_type',
        'options',
        'required',
        'category',
        'next_question_logic',
        ...ts,
      ],
      questionIds.length,
      (i) => [
        questionIds[i]!,
        i + 1,
        `Has a ${pick(RELATIVES, i)} been diagnosed with ${pick(CANCERS, i)} cancer?`,
        null,
        'choice',
        JSON.stringify(ANSWERS),
        i % 3 !== 0,
        pick(CANCERS, i),
        JSON.stringify({ yes: i + 2, default: i + 1 }),
        dt(EPOCH),
        dt(EPOCH),
      ],
    );
    await job(
      small,
      'chat_sessions',
      [
        'id',
        'user_id',
        'patient_id',
        'clinician_id',
        'session_type',
        'status',
        'session_metadata',
        ...ts,
        'completed_at',
      ],
      sessionIds.length,
      (i, rand) => {
        const c = created(i, sessionIds.length);
        const done = rand.chance(0.8);
        return [
          sessionIds[i]!,
          pick(patientUserIds, i >> 1),
          pick(patientIds, i >> 1),
          pick(clinicianIds, i >> 1),
          'assessment',
          done ? 'completed' : 'active',
          JSON.stringify({ source: rand.chance(0.5) ? 'invite' : 'portal', locale: 'en-US', version: 3 }),
          dt(c),
          dt(c + DAY),
          done ? dt(c + 3_600_000) : null,
        ];
      },
    );
    await job(
      small,
      'appointments',
      [
        'id',
        'patient_id',
        'clinician_id',
        'date_time',
        'date',
        'time',
        'appointment_type',
        'status',
        'notes',
        'confirmation_code',
        ...ts,
      ],
      size['appointments']!,
      (i, rand) => {
        const at = created(i, size['appointments']!) + rand.int(8, 17) * 3_600_000;
        const d = dt(at);
        return [
          rand.uuid(),
          pick(patientIds, i),
          pick(clinicianIds, i),
          d,
          d.slice(0, 10),
          d.slice(11),
          rand.chance(0.6) ? 'virtual' : 'in-person',
          ['scheduled', 'completed', 'canceled', 'rescheduled'][rand.int(0, 3)]!,
          rand.chance(0.3) ? 'Bring prior test results.' : null,
          rand.token(8).toUpperCase(),
          dt(at - 7 * DAY),
          dt(at - 7 * DAY),
        ];
      },
    );
    await job(
      small,
      'lab_integrations',
      ['id', 'name', 'api_key', 'api_url', 'is_active', 'settings', ...ts],
      labIds.length,
      (i) => [
        labIds[i]!,
        `Lab ${i}`,
        `key-${i}`,
        `https://lab${i}.example.com/api`,
        true,
        JSON.stringify({ timeoutMs: 5000, panels: ['BRCA1', 'BRCA2'] }),
        dt(EPOCH),
        dt(EPOCH),
      ],
    );
    await job(
      small,
      'lab_orders',
      [
        'id',
        'patient_id',
        'clinician_id',
        'lab_id',
        'external_order_id',
        'order_number',
        'test_type',
        'status',
        'requisition_details',
        'notes',
        'collection_date',
        'completed_date',
        ...ts,
      ],
      orderIds.length,
      (i, rand) => {
        const c = created(i, orderIds.length);
        return [
          orderIds[i]!,
          pick(patientUserIds, i),
          pick(clinicianIds, i),
          pick(labIds, i),
          rand.chance(0.7) ? `X${rand.int(100000, 999999)}` : null,
          `ORD-${String(i).padStart(9, '0')}`,
          'hereditary cancer panel',
          rand.chance(0.8) ? 'completed' : 'pending',
          JSON.stringify({
            genes: ['BRCA1', 'BRCA2', 'MLH1'],
            priority: rand.chance(0.1) ? 'stat' : 'routine',
          }),
          null,
          dt(c + DAY),
          rand.chance(0.8) ? dt(c + 10 * DAY) : null,
          dt(c),
          dt(c),
        ];
      },
    );
    await job(
      small,
      'lab_results',
      [
        'id',
        'order_id',
        'result_status',
        'result_data',
        'report_url',
        'summary',
        'abnormal',
        'reviewed',
        'reviewed_by',
        'reviewed_at',
        ...ts,
      ],
      size['lab_results']!,
      (i, rand) => {
        const c = created(i, size['lab_results']!) + 10 * DAY;
        const reviewed = rand.chance(0.6);
        return [
          rand.uuid(),
          orderIds[i]!,
          'final',
          JSON.stringify({
            variants: rand.chance(0.1) ? [{ gene: 'BRCA2', hgvs: 'c.5946delT' }] : [],
            coverage: 0.99,
          }),
          `https://reports.example.com/${i}.pdf`,
          rand.chance(0.1) ? 'Pathogenic variant detected.' : 'No pathogenic variants.',
          rand.chance(0.1),
          reviewed,
          reviewed ? pick(clinicianIds, i) : null,
          reviewed ? dt(c + DAY) : null,
          dt(c),
          dt(c),
        ];
      },
    );
  })();
  try {
    await Promise.all([answers, rest]);
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { counts, total, ms: performance.now() - started };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = argValue('--url') ?? mysqlUrlFromEnv();
  const rows = Number(argValue('--rows') ?? 1_000_000);
  const result = await generateGenascopeData(url, { chatAnswers: rows });
  console.log(JSON.stringify({ ...result, rows_per_s: Math.round(result.total / (result.ms / 1000)) }));
}
