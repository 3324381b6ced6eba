import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TranslationError } from '../../lib/errors.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { useFreshDatabases } from '../support/databases.js';
import { openHandle, recordStatements } from '../support/dualwrite.js';
import { initMetaTables } from '../../lib/meta/init.js';

const dbs = useFreshDatabases('dwstrict');
let db: DualWriteDb | undefined;

beforeAll(async () => {
  await dbs.mysql.raw(
    'CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, token CHAR(36) NULL, body TEXT NOT NULL) DEFAULT CHARSET=utf8mb4',
  );
  await dbs.pg.raw('CREATE TABLE notes (id integer PRIMARY KEY, token uuid NULL, body text NOT NULL)');
  await initMetaTables(dbs.mysql, dbs.pg);
});

afterEach(async () => {
  await db?.destroy();
  db = undefined;
  for (const k of [dbs.mysql, dbs.pg]) {
    await k('notes').del();
    await k('dualwrite_outbox').del();
  }
  await dbs.pg('dualwrite_quarantine').del();
});

const good = { token: '6f1c1a52-3f7e-4c2b-9a55-0d4c1b2e8f10', body: 'fine' };

describe('values PostgreSQL cannot hold, through the handle', () => {
  it('default mode: the MySQL write succeeds, the key is quarantined with its reason, other keys flow', async () => {
    db = await openHandle(dbs, 'dual-write', { syncWorker: true });
    await db('notes').insert({ id: 1, token: 'not-a-uuid', body: 'x' });
    await db('notes').insert({ id: 2, body: 'nul \u0000 byte' });
    await db('notes').insert({ id: 3, ...good });
    await db.dualwrite.worker?.drain({ timeoutMs: 15_000 });
    expect((await dbs.mysql('notes').orderBy('id').pluck('id')) as number[]).toEqual([1, 2, 3]);
    expect(await dbs.pg('notes').orderBy('id').pluck('id')).toEqual([3]);
    const quarantine = (await dbs.pg('dualwrite_quarantine').orderBy('pk')) as {
      pk: string;
      code: string;
      reason: string;
    }[];
    expect(quarantine.map((q) => [q.pk, q.code])).toEqual([
      ['[1]', 'invalid_uuid'],
      ['[2]', 'nul_byte'],
    ]);
    expect((await db.dualwrite.status()).quarantined).toBe(2);
  });

  it('strict mode: the write is rejected with a TranslationError before either database is touched', async () => {
    db = await openHandle(dbs, 'dual-write', { config: { strict: true } });
    const seen = recordStatements(db.dualwrite);
    const error = await db('notes')
      .insert({ id: 4, token: 'not-a-uuid', body: 'x' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TranslationError);
    expect(error).toMatchObject({
      code: 'DW_UNREPRESENTABLE_VALUE',
      problem: 'invalid_uuid',
      column: 'token',
    });
    await expect(db('notes').where({ id: 3 }).update({ body: 'a\u0000b' })).rejects.toMatchObject({
      problem: 'nul_byte',
    });
    expect(seen).toEqual({ mysql: [], postgres: [] });
    await db('notes').insert({ id: 5, ...good });
    expect(await dbs.mysql('notes').pluck('id')).toEqual([5]);
  });

  it('PostgreSQL authoritative: an app writing is_active-style 1/0 and MySQL-shaped values works', async () => {
    await dbs.mysql.raw('CREATE TABLE flags (id INT PRIMARY KEY, on_off TINYINT(1) NOT NULL)');
    await dbs.pg.raw('CREATE TABLE flags (id integer PRIMARY KEY, on_off boolean NOT NULL)');
    db = await openHandle(dbs, 'pg-primary', { syncWorker: true });
    await db('flags').insert({ id: 1, on_off: 1 });
    await db('flags').where({ id: 1 }).update({ on_off: 0 });
    // Served by PostgreSQL, answered as mysql2 answers for a TINYINT(1).
    expect(await db('flags').where({ on_off: 0 }).first()).toEqual({ id: 1, on_off: 0 });
    await db.dualwrite.worker?.drain({ timeoutMs: 10_000 });
    expect(await dbs.mysql('flags').first()).toEqual({ id: 1, on_off: false });
  });
});
