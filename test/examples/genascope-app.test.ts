import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../examples/genascope/app.js';
import { createMysqlSchema } from '../../examples/genascope/schema.js';
import { generateSeed, insertSeed, seedCounts, type SeedData } from '../../examples/genascope/seed.js';
import { GENASCOPE_TABLES } from '../../examples/genascope/tables.js';
import { expectations, findLostWrites } from '../../examples/genascope/ledger.js';
import { TrafficGenerator, worldFromSeed } from '../../examples/genascope/traffic.js';
import { useFreshDatabases } from '../support/databases.js';

const dbs = useFreshDatabases('dwexapp');
let app: FastifyInstance;
let data: SeedData;

beforeAll(async () => {
  await createMysqlSchema(dbs.mysql);
  data = generateSeed({ seed: 3, accounts: 2, cliniciansPerAccount: 2, patientsPerClinician: 6 });
  await insertSeed(dbs.mysql, data);
  app = buildApp({ db: dbs.mysql });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

describe('genascope seed', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const options = { seed: 3, accounts: 2, cliniciansPerAccount: 2, patientsPerClinician: 6 };
    expect(JSON.stringify(generateSeed(options))).toBe(JSON.stringify(data));
    expect(JSON.stringify(generateSeed({ ...options, seed: 4 }))).not.toBe(JSON.stringify(data));
  });

  it('loads every table with the generated row counts', async () => {
    const counts = seedCounts(data);
    expect(counts.patients).toBe(2 * 2 * 6);
    for (const table of GENASCOPE_TABLES) {
      const row = (await dbs.mysql(table).count({ n: '*' }).first()) as { n: number | string };
      expect(Number(row.n), table).toBe(counts[table]);
      expect(counts[table], table).toBeGreaterThan(0);
    }
  });
});

describe('write ledger', () => {
  it('folds writes per row in acknowledgement order', () => {
    const at = 0;
    const folded = expectations([
      { seq: 3, op: 'update', table: 'patients', id: 'p', fields: { status: 'inactive' }, at },
      { seq: 1, op: 'create', table: 'patients', id: 'p', fields: { status: 'active', phone: '1' }, at },
      { seq: 2, op: 'create', table: 'appointments', id: 'a', fields: { status: 'scheduled' }, at },
      { seq: 4, op: 'delete', table: 'appointments', id: 'a', fields: {}, at },
    ]);
    expect(folded).toEqual([
      { table: 'patients', id: 'p', exists: true, fields: { status: 'inactive', phone: '1' } },
      { table: 'appointments', id: 'a', exists: false, fields: {} },
    ]);
  });
});

describe('genascope API on plain knex', () => {
  it('creates, reads, updates, lists and deletes a patient', async () => {
    const clinicianId = String(data.users.find((u) => u['role'] === 'clinician')!['id']);
    const created = await app.inject({
      method: 'POST',
      url: '/patients',
      payload: {
        first_name: 'Zoë',
        last_name: "O'Brien",
        clinician_id: clinicianId,
        date_of_birth: '1980-02-29',
      },
    });
    expect(created.statusCode).toBe(201);
    const patient = created.json<{ id: string; status: string; date_of_birth: string }>();
    expect(patient.status).toBe('active');
    expect(patient.date_of_birth).toBe('1980-02-29');

    const patched = await app.inject({
      method: 'PATCH',
      url: `/patients/${patient.id}`,
      payload: { phone: '+1-555-0100' },
    });
    expect(patched.json<{ phone: string }>().phone).toBe('+1-555-0100');

    const listed = await app.inject({
      method: 'GET',
      url: `/patients?clinician_id=${clinicianId}&limit=200`,
    });
    expect(listed.json<{ items: { id: string }[] }>().items.map((p) => p.id)).toContain(patient.id);

    expect((await app.inject({ method: 'DELETE', url: `/patients/${patient.id}` })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/patients/${patient.id}` })).statusCode).toBe(404);
  });

  it('returns JSON columns parsed and booleans as booleans, and hides password hashes', async () => {
    const session = data.chat_sessions[0]!;
    const res = await app.inject({
      method: 'GET',
      url: `/chat-sessions/${String(session['id'])}/transcript`,
    });
    const body = res.json<{ session: { session_metadata: unknown }; answers: { answer_value: unknown }[] }>();
    expect(body.session.session_metadata).toEqual(JSON.parse(String(session['session_metadata'])));
    expect(body.answers.length).toBeGreaterThan(0);
    expect(typeof body.answers[0]!.answer_value).toBe('object');

    const user = await app.inject({ method: 'GET', url: `/users/${String(data.users[0]!['id'])}` });
    expect(user.json()).not.toHaveProperty('hashed_password');
    expect(typeof user.json<{ is_active: unknown }>().is_active).toBe('boolean');
  });

  it('creates rows with database-generated ids (AUTO_INCREMENT)', async () => {
    const clinicianId = String(data.users.find((u) => u['role'] === 'clinician')!['id']);
    const payload = { clinician_id: clinicianId, date: '2030-01-02', time_slot: '09:00' };
    const first = await app.inject({ method: 'POST', url: '/clinician-availability', payload });
    expect(first.statusCode).toBe(201);
    const { id } = first.json<{ id: number }>();
    expect(id).toBeGreaterThan(data.clinician_availability.length);
    const again = await app.inject({ method: 'POST', url: '/clinician-availability', payload });
    expect(again.statusCode).toBe(409);
    const second = await app.inject({
      method: 'POST',
      url: '/clinician-availability',
      payload: { ...payload, time_slot: '10:30' },
    });
    expect(second.json<{ id: number }>().id).toBeGreaterThan(id); // InnoDB may spend an id on the refused insert
  });

  it('answers constraint violations with 409 and unknown fields with 400', async () => {
    const dup = await app.inject({
      method: 'POST',
      url: '/accounts',
      payload: { name: 'x', domain: String(data.accounts[0]!['domain']) },
    });
    expect(dup.statusCode).toBe(409);
    const fk = await app.inject({
      method: 'POST',
      url: '/chat-sessions',
      payload: { patient_id: 'no-such-patient' },
    });
    expect(fk.statusCode).toBe(409);
    const bad = await app.inject({ method: 'POST', url: '/accounts', payload: { name: 'x', nope: 1 } });
    expect(bad.statusCode).toBe(400);
  });

  it('completes a lab order and its result in one transaction', async () => {
    const order = data.lab_orders.find((o) => o['status'] !== 'completed')!;
    const res = await app.inject({
      method: 'POST',
      url: `/lab-orders/${String(order['id'])}/results`,
      payload: { result_status: 'final', result_data: { variants: [] }, abnormal: false },
    });
    expect(res.statusCode).toBe(201);
    const after = (await dbs.mysql('lab_orders').where({ id: order['id'] }).first()) as { status: string };
    expect(after.status).toBe('completed');
  });

  it('serves bounded loopback traffic and every acknowledged write is in the database', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const traffic = new TrafficGenerator(
      { baseUrl: address, concurrency: 3, maxRequests: 300 },
      worldFromSeed(data),
    );
    traffic.start();
    const deadline = Date.now() + 20_000;
    while (traffic.isRunning && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stats = await traffic.stop();
    expect(stats.requests).toBe(300);
    expect(stats.errorSamples).toEqual([]);
    expect(stats.acknowledgedWrites).toBeGreaterThan(30);
    expect(await findLostWrites(dbs.mysql, traffic.ledger)).toEqual([]);

    // The check is not hollow: a row the ledger expects gone missing, a changed value and a deleted
    // row come back are each reported.
    const leaves = ['appointments', 'chat_answers', 'clinician_availability'];
    const created = expectations(traffic.ledger).find((e) => e.exists && leaves.includes(e.table))!;
    const updated = [...traffic.ledger].reverse().find((e) => e.op === 'update' && e.table === 'patients')!;
    await dbs.mysql(created.table).where({ id: created.id }).delete();
    await dbs.mysql('patients').where({ id: updated.id }).update({ phone: 'tampered' });
    const lost = await findLostWrites(dbs.mysql, [
      ...traffic.ledger,
      {
        seq: 1e9,
        op: 'delete',
        table: 'accounts',
        id: String(data.accounts[0]!['id']),
        fields: {},
        at: Date.now(),
      },
    ]);
    expect(lost).toEqual(
      expect.arrayContaining([
        { table: created.table, id: created.id, problem: 'row is missing' },
        {
          table: 'patients',
          id: updated.id,
          problem: `phone is tampered instead of ${updated.fields['phone']}`,
        },
        { table: 'accounts', id: String(data.accounts[0]!['id']), problem: 'deleted row is present' },
      ]),
    );
    expect(lost).toHaveLength(3);
    expect(() => new TrafficGenerator({ baseUrl: 'http://example.com' }, worldFromSeed(data))).toThrow(
      /loopback/,
    );
  });
});
