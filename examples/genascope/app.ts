import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { RESOURCES, type Resource } from './resources.js';
import { JSON_COLUMNS, sqlDateTime, type GenascopeTable } from './tables.js';

/** Query builder of one table, as the app uses it. */
export type AppQuery = (table: string) => Knex.QueryBuilder;

/**
 * The database handle the app is written against: the part of knex it uses. A knex instance and
 * dualwrite's handle (its drop-in) both fit, so the same code runs before and during the migration.
 */
export interface AppDb {
  (table: string): Knex.QueryBuilder;
  transaction<T>(callback: (trx: AppQuery) => Promise<T>): Promise<T>;
}

/** Express/Fastify-style middleware that sets `req.db` (dualwrite's `dualwriteMiddleware(db)`). */
export type DbMiddleware = (req: { db?: unknown }, res: unknown, next: (err?: unknown) => void) => void;

declare module 'fastify' {
  interface FastifyRequest {
    db: AppDb;
  }
}

export interface AppOptions {
  /** The app's database handle. */
  db: AppDb;
  /** Gives each request its handle (with request context); without it every request uses `db`. */
  middleware?: DbMiddleware;
  /** Fastify logger. @default false */
  logger?: boolean;
}

type Row = Record<string, unknown>;
type Body = Record<string, unknown>;

const BOOLEAN_COLUMNS = new Set(['is_active', 'required', 'abnormal', 'reviewed']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** App-side shape of a row: JSON columns parsed, secrets left out. */
function present(resource: { table: GenascopeTable; hidden?: readonly string[] }, row: Row): Row {
  const out: Row = {};
  const json = JSON_COLUMNS[resource.table] ?? [];
  for (const [column, value] of Object.entries(row)) {
    if (resource.hidden?.includes(column)) continue;
    out[column] = json.includes(column) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return out;
}

/** Values as the app writes them: JSON columns serialised, booleans as booleans. */
function toColumns(resource: Resource, body: Body): Row {
  const json = JSON_COLUMNS[resource.table] ?? [];
  const out: Row = {};
  for (const [column, value] of Object.entries(body)) {
    if (!resource.fields.includes(column)) throw new HttpError(400, `unknown field ${column}`);
    out[column] =
      json.includes(column) && value !== null && value !== undefined ? JSON.stringify(value) : value;
  }
  return out;
}

function bodyOf(req: FastifyRequest): Body {
  const body = req.body;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'expected a JSON object');
  return body as Body;
}

/** Maps constraint violations of either database to HTTP answers. */
function errorStatus(error: unknown): number {
  let e: unknown = error;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = String((e as { code?: unknown }).code ?? '');
    if (['ER_DUP_ENTRY', '23505'].includes(code)) return 409;
    if (['ER_NO_REFERENCED_ROW_2', 'ER_NO_REFERENCED_ROW', '23503'].includes(code)) return 409;
    if (['ER_ROW_IS_REFERENCED_2', 'ER_ROW_IS_REFERENCED'].includes(code)) return 409;
    if (
      ['WARN_DATA_TRUNCATED', 'ER_TRUNCATED_WRONG_VALUE', 'ER_DATA_TOO_LONG', '22P02', '22001'].includes(code)
    )
      return 400;
    e = (e as { cause?: unknown }).cause;
  }
  return 500;
}

async function fetchOne(db: AppDb, resource: Resource, id: string): Promise<Row | undefined> {
  return (await db(resource.table).where({ id }).first()) as Row | undefined;
}

function registerResource(app: FastifyInstance, resource: Resource): void {
  const base = `/${resource.path}`;

  app.get(base, async (req) => {
    const query = req.query as Record<string, string | undefined>;
    const limit = Math.min(Math.max(Number(query['limit'] ?? 50) || 50, 1), 200);
    const offset = Math.max(Number(query['offset'] ?? 0) || 0, 0);
    const where: Row = {};
    for (const filter of resource.filters) {
      const value = query[filter];
      if (value === undefined) continue;
      where[filter] = BOOLEAN_COLUMNS.has(filter) ? value === 'true' || value === '1' : value;
    }
    const rows = (await req
      .db(resource.table)
      .where(where)
      .orderBy([resource.orderBy, 'id'])
      .limit(limit)
      .offset(offset)) as Row[];
    return { items: rows.map((r) => present(resource, r)), limit, offset };
  });

  app.get(`${base}/:id`, async (req) => {
    const { id } = req.params as { id: string };
    const row = await fetchOne(req.db, resource, id);
    if (!row) throw new HttpError(404, `${resource.path} ${id} not found`);
    return present(resource, row);
  });

  app.post(base, async (req, reply) => {
    const body = bodyOf(req);
    for (const field of resource.required) {
      if (body[field] === undefined || body[field] === null) throw new HttpError(400, `${field} is required`);
    }
    let id: string;
    if (resource.autoId) {
      // knex's MySQL answer, which the dualwrite handle keeps on PostgreSQL: [insertId].
      const [first] = (await req.db(resource.table).insert(toColumns(resource, body))) as unknown[];
      id = String(first && typeof first === 'object' ? (first as { id: unknown }).id : first);
    } else {
      id = randomUUID();
      await req.db(resource.table).insert({ id, ...toColumns(resource, body) });
    }
    const row = await fetchOne(req.db, resource, id);
    reply.code(201);
    return present(resource, row ?? { id });
  });

  app.patch(`${base}/:id`, async (req) => {
    const { id } = req.params as { id: string };
    const changes = toColumns(resource, bodyOf(req));
    if (Object.keys(changes).length === 0) throw new HttpError(400, 'nothing to update');
    await req.db(resource.table).where({ id }).update(changes);
    const row = await fetchOne(req.db, resource, id);
    if (!row) throw new HttpError(404, `${resource.path} ${id} not found`);
    return present(resource, row);
  });

  app.delete(`${base}/:id`, async (req, reply) => {
    const { id } = req.params as { id: string };
    const deleted = Number(await req.db(resource.table).where({ id }).delete());
    if (deleted === 0) throw new HttpError(404, `${resource.path} ${id} not found`);
    reply.code(204);
    return null;
  });
}

const resource = (path: string): Resource => {
  const found = RESOURCES.find((r) => r.path === path);
  if (!found) throw new Error(`no resource ${path}`);
  return found;
};

/** Routes that span tables: joins and multi-table transactions. */
function registerWorkflows(app: FastifyInstance): void {
  const sessions = resource('chat-sessions');
  const answers = resource('chat-answers');
  const orders = resource('lab-orders');
  const results = resource('lab-results');
  const appointments = resource('appointments');

  app.get('/patients/:id/appointments', async (req) => {
    const { id } = req.params as { id: string };
    const rows = (await req
      .db('appointments')
      .where({ patient_id: id })
      .orderBy(['date_time', 'id'])) as Row[];
    return { items: rows.map((r) => present(appointments, r)) };
  });

  // The questionnaire transcript: answers joined with their questions.
  app.get('/chat-sessions/:id/transcript', async (req) => {
    const { id } = req.params as { id: string };
    const session = await fetchOne(req.db, sessions, id);
    if (!session) throw new HttpError(404, `chat-sessions ${id} not found`);
    const rows = (await req
      .db('chat_answers')
      .join('chat_questions', 'chat_questions.id', 'chat_answers.question_id')
      .where('chat_answers.session_id', id)
      .select(
        'chat_answers.id',
        'chat_questions.sequence',
        'chat_questions.text',
        'chat_answers.answer_text',
        'chat_answers.answer_value',
      )
      .orderBy(['chat_questions.sequence', 'chat_answers.id'])) as Row[];
    return { session: present(sessions, session), answers: rows.map((r) => present(answers, r)) };
  });

  // Answering a question moves the session to in_progress in the same transaction.
  app.post('/chat-sessions/:id/answers', async (req, reply) => {
    const { id } = req.params as { id: string };
    const body = bodyOf(req);
    const answerId = randomUUID();
    await req.db.transaction(async (trx) => {
      const session = (await trx('chat_sessions').where({ id }).first()) as Row | undefined;
      if (!session) throw new HttpError(404, `chat-sessions ${id} not found`);
      await trx('chat_answers').insert({ id: answerId, ...toColumns(answers, { ...body, session_id: id }) });
      if (session['status'] === 'active')
        await trx('chat_sessions').where({ id }).update({ status: 'in_progress' });
    });
    reply.code(201);
    return present(answers, (await fetchOne(req.db, answers, answerId)) ?? { id: answerId });
  });

  // Completing a session records the eligibility result it produced, atomically.
  app.post('/chat-sessions/:id/complete', async (req) => {
    const { id } = req.params as { id: string };
    const completedAt = sqlDateTime(new Date());
    const eligibilityId = randomUUID();
    await req.db.transaction(async (trx) => {
      const session = (await trx('chat_sessions').where({ id }).first()) as Row | undefined;
      if (!session) throw new HttpError(404, `chat-sessions ${id} not found`);
      const answered = (await trx('chat_answers').where({ session_id: id }).count({ n: '*' }).first()) as
        { n: number | string } | undefined;
      await trx('chat_sessions').where({ id }).update({ status: 'completed', completed_at: completedAt });
      if (session['patient_id']) {
        await trx('eligibility_results').insert({
          id: eligibilityId,
          patient_id: session['patient_id'],
          result_data: JSON.stringify({ answered: Number(answered?.n ?? 0), sessionId: id }),
        });
      }
    });
    return present(sessions, (await fetchOne(req.db, sessions, id)) ?? { id });
  });

  // A result arriving completes its order, atomically.
  app.post('/lab-orders/:id/results', async (req, reply) => {
    const { id } = req.params as { id: string };
    const body = bodyOf(req);
    const resultId = randomUUID();
    await req.db.transaction(async (trx) => {
      const order = (await trx('lab_orders').where({ id }).first()) as Row | undefined;
      if (!order) throw new HttpError(404, `lab-orders ${id} not found`);
      await trx('lab_results').insert({ id: resultId, ...toColumns(results, { ...body, order_id: id }) });
      await trx('lab_orders')
        .where({ id })
        .update({ status: 'completed', completed_date: sqlDateTime(new Date()) });
    });
    reply.code(201);
    return present(results, (await fetchOne(req.db, results, resultId)) ?? { id: resultId });
  });

  app.get('/lab-orders/:id/results', async (req) => {
    const { id } = req.params as { id: string };
    const rows = (await req.db('lab_results').where({ order_id: id }).orderBy(['created_at', 'id'])) as Row[];
    return {
      order: present(orders, (await fetchOne(req.db, orders, id)) ?? { id }),
      items: rows.map((r) => present(results, r)),
    };
  });
}

/** Builds the Genascope example API over a knex-like handle. */
export function buildApp(options: AppOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false });
  app.decorateRequest('db', null as unknown as AppDb);
  app.addHook('onRequest', (req, reply, done) => {
    if (options.middleware) {
      options.middleware(req as unknown as { db?: unknown }, reply, (err) => done(err as Error | undefined));
    } else {
      req.db = options.db;
      done();
    }
  });
  app.setErrorHandler((error: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    const status = error instanceof HttpError ? error.status : errorStatus(error);
    const e = error as { message?: string; statusCode?: number };
    const code = status === 500 && e.statusCode && e.statusCode < 500 ? e.statusCode : status;
    if (code >= 500) app.log.error({ err: error }, 'request failed');
    void reply.code(code).send({ error: e.message ?? String(error) });
  });
  app.get('/health', async () => ({ ok: true }));
  for (const r of RESOURCES) registerResource(app, r);
  registerWorkflows(app);
  return app;
}
