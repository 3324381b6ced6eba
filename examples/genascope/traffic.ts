import { Random, type SeedData } from './seed.js';
import type { GenascopeTable } from './tables.js';
import type { LedgerEntry } from './ledger.js';

/** What the traffic generator may reference: ids from the seed data. */
export interface World {
  clinicians: string[];
  patients: { id: string; userId: string | null; clinicianId: string | null }[];
  questions: string[];
  labs: string[];
  sessions: string[];
  orders: string[];
  /** Patients the traffic never writes (reference rows for read comparisons). */
  frozenPatients: string[];
}

/** Picks the references from a seed data set; the first `frozen` patients are never written. */
export function worldFromSeed(data: SeedData, frozen = 5): World {
  const patients = data.patients.map((p) => ({
    id: String(p['id']),
    userId: p['user_id'] === null ? null : String(p['user_id']),
    clinicianId: p['clinician_id'] === null ? null : String(p['clinician_id']),
  }));
  return {
    clinicians: data.users.filter((u) => u['role'] === 'clinician').map((u) => String(u['id'])),
    patients: patients.slice(frozen),
    frozenPatients: patients.slice(0, frozen).map((p) => p.id),
    questions: data.chat_questions.map((q) => String(q['id'])),
    labs: data.lab_integrations.map((l) => String(l['id'])),
    sessions: data.chat_sessions.map((s) => String(s['id'])),
    orders: data.lab_orders.map((o) => String(o['id'])),
  };
}

export interface TrafficOptions {
  /** Base URL of the API; must be a loopback address. */
  baseUrl: string;
  /** Virtual users issuing requests in parallel. @default 4 */
  concurrency?: number;
  /** Ceiling on requests per second, all users together. @default 150 */
  ratePerSecond?: number;
  /** Share of requests that write. @default 0.3 */
  writeRatio?: number;
  /** @default 7 */
  seed?: number;
  /** Hard bound on requests; the generator stops by itself past it. @default 200000 */
  maxRequests?: number;
  /** Hard bound on running time, ms. @default 600000 */
  maxDurationMs?: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface TrafficStats {
  requests: number;
  reads: number;
  writes: number;
  /** Requests answered with a 5xx or that failed on the network. */
  errors: number;
  /** Acknowledged writes recorded in the ledger. */
  acknowledgedWrites: number;
  errorSamples: string[];
  latency: LatencySummary;
}

interface Sample {
  at: number;
  ms: number;
  write: boolean;
}

/** Owned state of one virtual user: only it writes these rows, so the final state is known. */
interface UserState {
  rng: Random;
  patients: { id: string; userId: string | null; clinicianId: string | null }[];
  appointments: { id: string; patientId: string }[];
  sessions: { id: string; status: string }[];
  orders: { id: string; completed: boolean }[];
  results: string[];
  /** Availability slots this user created (auto-increment ids) and a counter that keeps its dates unique. */
  availability: string[];
  index: number;
  slotSeq: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function summarise(samples: readonly Sample[]): LatencySummary {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const q = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
  return { count: ms.length, p50: round(q(0.5)), p99: round(q(0.99)), max: round(ms[ms.length - 1] ?? 0) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function sqlDateTimeOf(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Drives the example API with a read/write mix like the real app's (browse patients, answer
 * questionnaires, book appointments, order labs) and records every acknowledged write.
 */
export class TrafficGenerator {
  readonly ledger: LedgerEntry[] = [];
  private readonly samples: Sample[] = [];
  private readonly errorSamples: string[] = [];
  private requests = 0;
  private reads = 0;
  private writes = 0;
  private errors = 0;
  private seq = 0;
  private running = false;
  private startedAt = 0;
  private loops: Promise<void>[] = [];
  private readonly options: Required<TrafficOptions>;

  constructor(
    options: TrafficOptions,
    private readonly world: World,
  ) {
    const host = new URL(options.baseUrl).hostname;
    if (!LOOPBACK.has(host)) throw new Error(`traffic generator only drives loopback APIs, not ${host}`);
    this.options = {
      concurrency: 4,
      ratePerSecond: 150,
      writeRatio: 0.3,
      seed: 7,
      maxRequests: 200_000,
      maxDurationMs: 600_000,
      ...options,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    const { concurrency, seed } = this.options;
    for (let u = 0; u < concurrency; u++) {
      const state: UserState = {
        rng: new Random(seed * 1000 + u),
        // Seeded patients are split between users so two users never write the same row.
        patients: this.world.patients.filter((_, i) => i % concurrency === u),
        appointments: [],
        sessions: [],
        orders: [],
        results: [],
        availability: [],
        index: u,
        slotSeq: 0,
      };
      this.loops.push(this.loop(state));
    }
  }

  /** Stops issuing requests and waits for the ones in flight. */
  async stop(): Promise<TrafficStats> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    return this.stats();
  }

  get isRunning(): boolean {
    return this.running;
  }

  stats(since = 0): TrafficStats {
    const window = this.samples.filter((s) => s.at >= since);
    return {
      requests: this.requests,
      reads: this.reads,
      writes: this.writes,
      errors: this.errors,
      acknowledgedWrites: this.ledger.length,
      errorSamples: [...this.errorSamples],
      latency: summarise(window),
    };
  }

  /** Latency of the requests that started in [from, to). */
  latencyBetween(from: number, to: number, writesOnly = false): LatencySummary {
    return summarise(this.samples.filter((s) => s.at >= from && s.at < to && (!writesOnly || s.write)));
  }

  private async loop(state: UserState): Promise<void> {
    const { concurrency, ratePerSecond, maxRequests, maxDurationMs } = this.options;
    const interval = (1000 * concurrency) / ratePerSecond;
    while (this.running) {
      if (this.requests >= maxRequests || Date.now() - this.startedAt >= maxDurationMs) {
        this.running = false;
        break;
      }
      const began = Date.now();
      try {
        if (state.rng.chance(this.options.writeRatio)) await this.write(state);
        else await this.read(state);
      } catch (error) {
        this.errors++;
        if (this.errorSamples.length < 20) this.errorSamples.push((error as Error).message);
      }
      const wait = interval - (Date.now() - began);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const write = method !== 'GET';
    const began = performance.now();
    const at = Date.now();
    this.requests++;
    if (write) this.writes++;
    else this.reads++;
    const response = await fetch(`${this.options.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    this.samples.push({ at, ms: performance.now() - began, write });
    if (response.status >= 400) {
      throw new Error(`${method} ${path} → ${response.status} ${text.slice(0, 200)}`);
    }
    return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
  }

  private record(
    op: LedgerEntry['op'],
    table: GenascopeTable,
    id: string,
    fields: Record<string, string | null>,
  ) {
    this.ledger.push({ seq: ++this.seq, op, table, id, fields, at: Date.now() });
  }

  private async read(s: UserState): Promise<void> {
    const { rng } = s;
    const anyPatient = rng.pick([...this.world.patients, ...s.patients]);
    switch (rng.int(0, 6)) {
      case 0:
        await this.call('GET', `/patients?clinician_id=${rng.pick(this.world.clinicians)}&limit=20`);
        break;
      case 1:
        await this.call('GET', `/patients/${anyPatient.id}`);
        break;
      case 2:
        await this.call('GET', `/patients/${anyPatient.id}/appointments`);
        break;
      case 3:
        await this.call('GET', `/chat-sessions/${rng.pick(this.world.sessions)}/transcript`);
        break;
      case 4:
        await this.call(
          'GET',
          `/appointments?clinician_id=${rng.pick(this.world.clinicians)}&status=scheduled&limit=20`,
        );
        break;
      case 5:
        await this.call('GET', `/lab-orders/${rng.pick(this.world.orders)}/results`);
        break;
      default:
        await this.call('GET', `/patients/${rng.pick(this.world.frozenPatients)}`);
    }
  }

  private async write(s: UserState): Promise<void> {
    const { rng } = s;
    const op = rng.int(0, 10);
    if (op === 0 || s.patients.length === 0) return this.createPatient(s);
    const patient = rng.pick(s.patients);
    switch (op) {
      case 1:
      case 2: {
        const fields = {
          phone: `+1-555-${String(rng.int(0, 9999)).padStart(4, '0')}`,
          notes: rng.chance(0.5) ? `call back ${rng.token(6)} — ✓` : null,
          status: rng.pick(['active', 'inactive']),
        };
        await this.call('PATCH', `/patients/${patient.id}`, fields);
        this.record('update', 'patients', patient.id, fields);
        return;
      }
      case 3: {
        const when = new Date(
          Date.UTC(2025, rng.int(0, 11), rng.int(1, 28), rng.int(8, 17), rng.pick([0, 30])),
        );
        const dt = sqlDateTimeOf(when);
        const fields = {
          patient_id: patient.id,
          clinician_id: patient.clinicianId ?? rng.pick(this.world.clinicians),
          date_time: dt,
          date: dt.slice(0, 10),
          time: dt.slice(11),
          appointment_type: rng.pick(['virtual', 'in-person']),
          status: 'scheduled',
          confirmation_code: rng.token(8).toUpperCase(),
        };
        const { json } = await this.call('POST', '/appointments', fields);
        const id = String((json as { id: string }).id);
        s.appointments.push({ id, patientId: patient.id });
        this.record('create', 'appointments', id, fields);
        return;
      }
      case 4: {
        const appointment = s.appointments.length ? rng.pick(s.appointments) : undefined;
        if (!appointment) return this.createSession(s, patient);
        if (rng.chance(0.3)) {
          await this.call('DELETE', `/appointments/${appointment.id}`);
          s.appointments.splice(s.appointments.indexOf(appointment), 1);
          this.record('delete', 'appointments', appointment.id, {});
        } else {
          const fields = {
            status: rng.pick(['completed', 'canceled', 'rescheduled']),
            notes: `updated ${rng.token(4)}`,
          };
          await this.call('PATCH', `/appointments/${appointment.id}`, fields);
          this.record('update', 'appointments', appointment.id, fields);
        }
        return;
      }
      case 5:
        return this.createSession(s, patient);
      case 6: {
        const session = s.sessions.find((x) => x.status !== 'completed');
        if (!session) return this.createSession(s, patient);
        if (rng.chance(0.25)) {
          await this.call('POST', `/chat-sessions/${session.id}/complete`);
          session.status = 'completed';
          this.record('update', 'chat_sessions', session.id, { status: 'completed' });
          return;
        }
        const value = rng.pick([true, false, 'maternal aunt, 52', 41, 'no']);
        const { json } = await this.call('POST', `/chat-sessions/${session.id}/answers`, {
          question_id: rng.pick(this.world.questions),
          answer_text: String(value),
          answer_value: { value },
        });
        this.record('create', 'chat_answers', String((json as { id: string }).id), {
          answer_text: String(value),
        });
        if (session.status === 'active') session.status = 'in_progress';
        this.record('update', 'chat_sessions', session.id, { status: session.status });
        return;
      }
      case 7: {
        if (!patient.userId) return this.createPatient(s);
        const fields = {
          patient_id: patient.userId,
          clinician_id: patient.clinicianId ?? rng.pick(this.world.clinicians),
          lab_id: rng.pick(this.world.labs),
          order_number: `WEB-${rng.token(12)}`,
          test_type: rng.pick(['BRCA1/2 panel', 'Lynch syndrome panel']),
          status: 'submitted',
          requisition_details: { specimen: rng.pick(['saliva', 'blood']), icd10: ['Z80.3'] },
        };
        const { json } = await this.call('POST', '/lab-orders', fields);
        const id = String((json as { id: string }).id);
        s.orders.push({ id, completed: false });
        this.record('create', 'lab_orders', id, { order_number: fields.order_number, status: 'submitted' });
        return;
      }
      case 8: {
        const order = s.orders.find((o) => !o.completed);
        if (!order) {
          const result = s.results.length ? rng.pick(s.results) : undefined;
          if (!result) return this.createPatient(s);
          const fields = { summary: `reviewed ${rng.token(5)}` };
          await this.call('PATCH', `/lab-results/${result}`, { ...fields, reviewed: true });
          this.record('update', 'lab_results', result, { ...fields });
          return;
        }
        const abnormal = rng.chance(0.2);
        const { json } = await this.call('POST', `/lab-orders/${order.id}/results`, {
          result_status: 'final',
          result_data: { variants: abnormal ? [{ gene: 'BRCA2', classification: 'pathogenic' }] : [] },
          summary: abnormal ? 'Pathogenic variant detected.' : 'No pathogenic variants detected.',
          abnormal,
        });
        const id = String((json as { id: string }).id);
        order.completed = true;
        s.results.push(id);
        this.record('create', 'lab_results', id, { result_status: 'final' });
        this.record('update', 'lab_orders', order.id, { status: 'completed' });
        return;
      }
      case 9:
        return this.availability(s);
      default:
        return this.createPatient(s);
    }
  }

  /** Clinician availability has an AUTO_INCREMENT key: ids come from whichever database is authoritative. */
  private async availability(s: UserState): Promise<void> {
    const { rng } = s;
    if (s.availability.length > 3 && rng.chance(0.3)) {
      const id = s.availability.splice(rng.int(0, s.availability.length - 1), 1)[0]!;
      await this.call('DELETE', `/clinician-availability/${id}`);
      this.record('delete', 'clinician_availability', id, {});
      return;
    }
    // A date of its own per user and slot, so the (clinician, date, slot) unique key never collides.
    const day = new Date(Date.UTC(2026, 0, 1) + (s.index * 5000 + s.slotSeq++) * 86_400_000);
    const fields = {
      clinician_id: rng.pick(this.world.clinicians),
      date: day.toISOString().slice(0, 10),
      time_slot: rng.pick(['09:00', '10:30', '13:00', '14:30', '16:00']),
    };
    const { json } = await this.call('POST', '/clinician-availability', fields);
    const id = String((json as { id: number | string }).id);
    s.availability.push(id);
    this.record('create', 'clinician_availability', id, fields);
  }

  private async createPatient(s: UserState): Promise<void> {
    const { rng } = s;
    const clinicianId = rng.pick(this.world.clinicians);
    const fields = {
      first_name: rng.pick(['Ada', 'Björn', 'Chiara', 'Dmitri', 'Émile', 'Farah', '陈']),
      last_name: rng.pick(['Lovelace', 'Ångström', "D'Souza", 'Ivanova', 'Tanaka']),
      email: `walkin-${rng.token(10)}@mail.example`,
      phone: `+1-555-${String(rng.int(0, 9999)).padStart(4, '0')}`,
      date_of_birth: `19${rng.int(40, 99)}-0${rng.int(1, 9)}-1${rng.int(0, 9)}`,
      status: 'active',
      clinician_id: clinicianId,
    };
    const { json } = await this.call('POST', '/patients', fields);
    const id = String((json as { id: string }).id);
    s.patients.push({ id, userId: null, clinicianId });
    this.record('create', 'patients', id, {
      first_name: fields.first_name,
      last_name: fields.last_name,
      email: fields.email,
      date_of_birth: fields.date_of_birth,
    });
  }

  private async createSession(s: UserState, patient: UserState['patients'][number]): Promise<void> {
    const fields = {
      patient_id: patient.id,
      user_id: patient.userId,
      clinician_id: patient.clinicianId,
      session_type: 'assessment',
      status: 'active',
      session_metadata: { client: s.rng.pick(['web', 'ios']), v: 2 },
    };
    const { json } = await this.call('POST', '/chat-sessions', fields);
    const id = String((json as { id: string }).id);
    s.sessions.push({ id, status: 'active' });
    this.record('create', 'chat_sessions', id, { status: 'active', session_type: 'assessment' });
  }
}
