import type { Knex } from 'knex';
import { GENASCOPE_TABLES, sqlDate, sqlDateTime, type GenascopeTable } from './tables.js';

/** Sizes of the generated data set. */
export interface SeedOptions {
  /** PRNG seed: the same seed and sizes give the same rows, byte for byte. @default 42 */
  seed?: number;
  /** @default 4 */
  accounts?: number;
  /** Clinicians per account. @default 3 */
  cliniciansPerAccount?: number;
  /** Patients per clinician. @default 10 */
  patientsPerClinician?: number;
  /** Chat sessions per patient (each answering part of the questionnaire). @default 2 */
  sessionsPerPatient?: number;
  /** Appointments per patient. @default 3 */
  appointmentsPerPatient?: number;
  /** Lab orders per patient (each with a result when completed). @default 1 */
  labOrdersPerPatient?: number;
  /** Availability days generated per clinician. @default 5 */
  availabilityDays?: number;
}

export type SeedRow = Record<string, string | number | boolean | null>;
export type SeedData = Record<GenascopeTable, SeedRow[]>;

/** Small, fast, deterministic PRNG (mulberry32). */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A version-4 shaped UUID drawn from this generator. */
  uuid(): string {
    const hex: string[] = [];
    for (let i = 0; i < 16; i++) hex.push(this.int(0, 255).toString(16).padStart(2, '0'));
    hex[6] = `4${hex[6]!.slice(1)}`;
    hex[8] = ((parseInt(hex[8]!, 16) & 0x3f) | 0x80).toString(16);
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  token(length: number): string {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

// Names with accents, CJK and apostrophes: values both databases must carry unchanged.
const FIRST = [
  'Ana',
  'José',
  'Zoë',
  'Liam',
  'Amara',
  'Chen',
  '李娜',
  'Noah',
  'Fatima',
  'Søren',
  'Mia',
  'Ravi',
];
const LAST = [
  'García',
  'Nguyen',
  "O'Brien",
  'Müller',
  'Okafor',
  'Smith',
  '王',
  'Kowalski',
  'Haddad',
  'Dubois',
];
const TEST_TYPES = [
  'BRCA1/2 panel',
  'Lynch syndrome panel',
  'Hereditary cancer 84-gene',
  'CHEK2 single site',
];
const LABS = ['Ambry Genetics', 'Invitae', 'Myriad', 'GeneDx'];
const CATEGORIES = ['personal_history', 'family_history', 'demographics', 'lifestyle'];
const NOTES = [
  'Patient prefers morning calls.',
  'Follow-up after results ☎️',
  'Family history: mother — breast cancer at 45.',
  'Needs interpreter (español).',
  null,
];

/** Epoch of the data set: every generated timestamp lies in the year after it. */
const BASE = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

function at(rng: Random, fromDay = 0, toDay = 365): Date {
  return new Date(BASE + rng.int(fromDay, toDay) * DAY + rng.int(0, 86_399) * 1000);
}

const QUESTIONS: { text: string; answerType: string; options: string[] | null }[] = [
  {
    text: 'What sex were you assigned at birth?',
    answerType: 'choice',
    options: ['female', 'male', 'intersex'],
  },
  { text: 'Have you ever been diagnosed with cancer?', answerType: 'boolean', options: null },
  { text: 'How old were you at diagnosis?', answerType: 'number', options: null },
  { text: 'Has a parent had breast or ovarian cancer?', answerType: 'boolean', options: null },
  { text: 'Are you of Ashkenazi Jewish descent?', answerType: 'choice', options: ['yes', 'no', 'unsure'] },
  { text: 'Has anyone in your family had genetic testing?', answerType: 'boolean', options: null },
  { text: 'List relatives diagnosed with colon cancer.', answerType: 'text', options: null },
  { text: 'Anything else we should know?', answerType: 'text', options: null },
];

/** Generates the Genascope data set in memory; rows come in insertable (foreign-key) order. */
export function generateSeed(options: SeedOptions = {}): SeedData {
  const rng = new Random(options.seed ?? 42);
  const o = {
    accounts: options.accounts ?? 4,
    cliniciansPerAccount: options.cliniciansPerAccount ?? 3,
    patientsPerClinician: options.patientsPerClinician ?? 10,
    sessionsPerPatient: options.sessionsPerPatient ?? 2,
    appointmentsPerPatient: options.appointmentsPerPatient ?? 3,
    labOrdersPerPatient: options.labOrdersPerPatient ?? 1,
    availabilityDays: options.availabilityDays ?? 5,
  };
  const data = Object.fromEntries(GENASCOPE_TABLES.map((t) => [t, []])) as unknown as SeedData;
  const ts = (created: Date): SeedRow => ({
    created_at: sqlDateTime(created),
    updated_at: sqlDateTime(new Date(created.getTime() + rng.int(0, 30) * DAY)),
  });

  const questionIds = QUESTIONS.map((q, i) => {
    const id = rng.uuid();
    data.chat_questions.push({
      id,
      sequence: i + 1,
      text: q.text,
      description: rng.chance(0.5) ? `Question ${i + 1} of the hereditary-risk questionnaire` : null,
      answer_type: q.answerType,
      options: q.options ? JSON.stringify(q.options) : null,
      required: i < 6,
      category: rng.pick(CATEGORIES),
      next_question_logic: i === 1 ? JSON.stringify({ if: { answer: true }, goto: 3, else: 4 }) : null,
      ...ts(at(rng, 0, 10)),
    });
    return id;
  });

  const labIds = LABS.map((name) => {
    const id = rng.uuid();
    data.lab_integrations.push({
      id,
      name,
      api_key: `key_${rng.token(24)}`,
      api_url: `https://api.${name.toLowerCase().replace(/\s+/g, '')}.example/v2`,
      is_active: name !== 'GeneDx',
      settings: JSON.stringify({ timeoutMs: rng.int(5, 30) * 1000, sandbox: rng.chance(0.5), panels: [] }),
      ...ts(at(rng, 0, 10)),
    });
    return id;
  });

  let userSeq = 0;
  let orderSeq = 0;
  let availabilityId = 0;
  for (let a = 0; a < o.accounts; a++) {
    const accountId = rng.uuid();
    data.accounts.push({
      id: accountId,
      name: `${rng.pick(LAST)} Genetics Clinic ${a + 1}`,
      domain: `clinic${a + 1}.genascope.example`,
      is_active: a % 7 !== 6,
      created_at: sqlDateTime(at(rng, 0, 30)),
      updated_at: rng.chance(0.5) ? sqlDateTime(at(rng, 30, 60)) : null,
    });
    data.users.push({
      id: rng.uuid(),
      name: `Admin ${a + 1}`,
      role: 'admin',
      email: `admin${a + 1}@clinic${a + 1}.genascope.example`,
      hashed_password: `$2b$12$${rng.token(53)}`,
      account_id: accountId,
      is_active: true,
      clinician_id: null,
      ...ts(at(rng, 0, 30)),
    });
    for (let c = 0; c < o.cliniciansPerAccount; c++) {
      const clinicianId = rng.uuid();
      data.users.push({
        id: clinicianId,
        name: `Dr. ${rng.pick(FIRST)} ${rng.pick(LAST)}`,
        role: 'clinician',
        email: `clinician${++userSeq}@clinic${a + 1}.genascope.example`,
        hashed_password: `$2b$12$${rng.token(53)}`,
        account_id: accountId,
        is_active: true,
        clinician_id: null,
        ...ts(at(rng, 0, 60)),
      });
      for (let d = 0; d < o.availabilityDays; d++) {
        const day = sqlDate(new Date(BASE + (200 + d) * DAY));
        for (const slot of ['09:00', '10:30', '14:00']) {
          data.clinician_availability.push({
            id: ++availabilityId,
            clinician_id: clinicianId,
            date: day,
            time_slot: slot,
            ...ts(at(rng, 60, 90)),
          });
        }
      }
      data.recurring_availability.push({
        id: rng.uuid(),
        clinician_id: clinicianId,
        start_time: '09:00:00',
        end_time: rng.pick(['15:00:00', '17:00:00', '17:30:00']),
        start_date: sqlDate(at(rng, 60, 90)),
        end_date: rng.chance(0.5) ? sqlDate(at(rng, 300, 365)) : null,
        days_of_week: JSON.stringify([1, 2, 3, 4, 5].filter(() => rng.chance(0.8))),
        time_slots: JSON.stringify(['09:00', '10:30', '14:00']),
        ...ts(at(rng, 60, 90)),
      });

      for (let p = 0; p < o.patientsPerClinician; p++) {
        const userId = rng.uuid();
        const patientId = rng.uuid();
        const first = rng.pick(FIRST);
        const last = rng.pick(LAST);
        const email = `patient${++userSeq}@mail.example`;
        const created = at(rng, 30, 200);
        data.users.push({
          id: userId,
          name: `${first} ${last}`,
          role: 'patient',
          email,
          hashed_password: rng.chance(0.7) ? `$2b$12$${rng.token(53)}` : null,
          account_id: accountId,
          is_active: rng.chance(0.95),
          clinician_id: clinicianId,
          ...ts(created),
        });
        data.patients.push({
          id: patientId,
          user_id: userId,
          email,
          first_name: first,
          last_name: last,
          phone: rng.chance(0.8) ? `+1-555-${String(rng.int(0, 9999)).padStart(4, '0')}` : null,
          external_id: rng.chance(0.3) ? `EHR-${rng.int(100000, 999999)}` : null,
          date_of_birth: sqlDate(new Date(Date.UTC(rng.int(1940, 2004), rng.int(0, 11), rng.int(1, 28)))),
          notes: rng.pick(NOTES),
          status: rng.pick(['active', 'active', 'active', 'inactive', 'archived']),
          clinician_id: clinicianId,
          account_id: accountId,
          ...ts(created),
        });
        data.patient_profiles.push({
          id: rng.uuid(),
          patient_id: patientId,
          sex_at_birth: rng.pick(['female', 'female', 'male', 'intersex', 'unknown', null]),
          ancestry: rng.pick(['Ashkenazi Jewish', 'European', 'West African', 'East Asian', null]),
          height_cm: rng.int(1500, 1950) / 10,
          weight_kg: rng.int(450, 1200) / 10,
          has_cancer_history: rng.chance(0.2),
          family_history: JSON.stringify({
            relatives: [
              {
                relation: rng.pick(['mother', 'sister', 'aunt']),
                cancer: 'breast',
                ageAtDiagnosis: rng.int(30, 70),
              },
            ],
          }),
          preferences: rng.chance(0.5)
            ? JSON.stringify({ contact: rng.pick(['email', 'sms']), lang: 'en' })
            : null,
          ...ts(created),
        });
        const brca = rng.chance(0.3);
        data.risk_assessments.push({
          id: rng.uuid(),
          patient_id: patientId,
          brca_eligible: brca,
          lynch_eligible: rng.chance(0.1),
          nccn_eligible: brca || rng.chance(0.2),
          tyrer_cuzick_score: rng.int(10, 450) / 10,
          lifetime_risk: rng.int(50, 600) / 10,
          details: JSON.stringify({ model: 'tyrer-cuzick-v8', inputs: { age: rng.int(20, 80) }, flags: [] }),
          ...ts(created),
        });
        data.eligibility_results.push({
          id: rng.uuid(),
          patient_id: patientId,
          result_data: JSON.stringify({
            nccn: brca,
            reasons: brca ? ['family history'] : [],
            score: rng.int(0, 100),
          }),
          ...ts(created),
        });
        if (rng.chance(0.4)) {
          data.invites.push({
            id: rng.uuid(),
            user_id: userId,
            email,
            first_name: first,
            last_name: last,
            phone: null,
            invite_token: rng.token(48),
            clinician_id: clinicianId,
            status: rng.pick(['pending', 'accepted', 'expired']),
            custom_message: rng.chance(0.3) ? `Hi ${first}, please complete your questionnaire.` : null,
            session_metadata: JSON.stringify({ source: 'invite', campaign: `c${rng.int(1, 5)}` }),
            ...ts(created),
            expires_at: sqlDateTime(new Date(created.getTime() + 14 * DAY)),
            accepted_at: rng.chance(0.5) ? sqlDateTime(new Date(created.getTime() + 2 * DAY)) : null,
          });
        }

        for (let s = 0; s < o.sessionsPerPatient; s++) {
          const sessionId = rng.uuid();
          const started = new Date(created.getTime() + rng.int(1, 40) * DAY);
          const completed = rng.chance(0.6);
          data.chat_sessions.push({
            id: sessionId,
            user_id: userId,
            patient_id: patientId,
            clinician_id: clinicianId,
            session_type: rng.pick(['assessment', 'follow_up']),
            status: completed ? 'completed' : 'active',
            session_metadata: JSON.stringify({ client: rng.pick(['web', 'ios', 'android']), v: 2 }),
            ...ts(started),
            completed_at: completed
              ? sqlDateTime(new Date(started.getTime() + rng.int(60, 3600) * 1000))
              : null,
          });
          const answered = completed ? QUESTIONS.length : rng.int(1, QUESTIONS.length);
          for (let q = 0; q < answered; q++) {
            const question = QUESTIONS[q]!;
            const value =
              question.answerType === 'boolean'
                ? rng.chance(0.3)
                : question.answerType === 'number'
                  ? rng.int(25, 75)
                  : question.options
                    ? rng.pick(question.options)
                    : rng.pick(['none', 'maternal aunt, 52', 'unsure — will ask my father']);
            data.chat_answers.push({
              id: rng.uuid(),
              session_id: sessionId,
              question_id: questionIds[q]!,
              answer_text: String(value),
              answer_value: JSON.stringify({ value }),
              ...ts(started),
            });
          }
        }

        for (let ap = 0; ap < o.appointmentsPerPatient; ap++) {
          const when = at(rng, 100, 365);
          when.setUTCMinutes(rng.pick([0, 30]), 0, 0);
          data.appointments.push({
            id: rng.uuid(),
            patient_id: patientId,
            clinician_id: clinicianId,
            date_time: sqlDateTime(when),
            date: sqlDate(when),
            time: sqlDateTime(when).slice(11),
            appointment_type: rng.pick(['virtual', 'in-person']),
            status: rng.pick(['scheduled', 'completed', 'canceled', 'rescheduled']),
            notes: rng.pick(NOTES),
            confirmation_code: rng.token(8).toUpperCase(),
            ...ts(created),
          });
        }

        for (let l = 0; l < o.labOrdersPerPatient; l++) {
          const orderId = rng.uuid();
          const ordered = at(rng, 100, 300);
          const done = rng.chance(0.7);
          data.lab_orders.push({
            id: orderId,
            patient_id: userId,
            clinician_id: clinicianId,
            lab_id: rng.pick(labIds),
            external_order_id: rng.chance(0.8) ? `EXT-${rng.token(10)}` : null,
            order_number: `ORD-${String(++orderSeq).padStart(8, '0')}`,
            test_type: rng.pick(TEST_TYPES),
            status: done ? 'completed' : rng.pick(['pending', 'submitted', 'in_progress']),
            requisition_details: JSON.stringify({
              icd10: ['Z80.3'],
              specimen: rng.pick(['saliva', 'blood']),
            }),
            notes: rng.pick(NOTES),
            collection_date: sqlDateTime(new Date(ordered.getTime() + 3 * DAY)),
            completed_date: done ? sqlDateTime(new Date(ordered.getTime() + 21 * DAY)) : null,
            ...ts(ordered),
          });
          if (done) {
            const abnormal = rng.chance(0.15);
            data.lab_results.push({
              id: rng.uuid(),
              order_id: orderId,
              result_status: 'final',
              result_data: JSON.stringify({
                variants: abnormal
                  ? [{ gene: rng.pick(['BRCA1', 'BRCA2', 'MLH1']), classification: 'pathogenic' }]
                  : [],
                coverage: rng.int(950, 1000) / 10,
              }),
              report_url: `https://reports.genascope.example/${orderId}.pdf`,
              summary: abnormal ? 'Pathogenic variant detected.' : 'No pathogenic variants detected.',
              abnormal,
              reviewed: rng.chance(0.6),
              reviewed_by: clinicianId,
              reviewed_at: rng.chance(0.6) ? sqlDateTime(new Date(ordered.getTime() + 22 * DAY)) : null,
              ...ts(new Date(ordered.getTime() + 21 * DAY)),
            });
          }
        }
      }
    }
  }
  return data;
}

/** Number of rows per table. */
export function seedCounts(data: SeedData): Record<GenascopeTable, number> {
  return Object.fromEntries(GENASCOPE_TABLES.map((t) => [t, data[t].length])) as Record<
    GenascopeTable,
    number
  >;
}

/** Inserts the data set in foreign-key order, in batches. Returns the number of rows written. */
export async function insertSeed(db: Knex, data: SeedData, batchSize = 500): Promise<number> {
  let total = 0;
  for (const table of GENASCOPE_TABLES) {
    const rows = data[table];
    for (let i = 0; i < rows.length; i += batchSize) {
      await db(table).insert(rows.slice(i, i + batchSize));
    }
    total += rows.length;
  }
  return total;
}
