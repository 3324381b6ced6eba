import knexFactory, { type Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import {
  builderRole,
  CHAIN_GETTERS,
  CHAIN_METHODS,
  COMPILE_METHODS,
  EXECUTION_METHODS,
  INSPECT_METHODS,
  RAW_CHAIN_METHODS,
  RAW_INTERNAL_METHODS,
  rawRole,
  SCOPE_METHODS,
} from '../../lib/handle/builder-methods.js';
import {
  dialectClientClass,
  instanceMembers,
  internals,
  queryBuilderMethods,
  rawMethods,
} from '../../lib/handle/knex-internals.js';
import { createDualWrite } from '../../lib/handle/create.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import { useFreshDatabases } from '../support/databases.js';

/**
 * The contract with knex: every part of knex the handle relies on is checked here, so a knex upgrade
 * that changes one fails this file (package.json pins knex to the minor range it passed on).
 */
const knex = knexFactory({ client: 'mysql2' });

describe('knex contract', () => {
  it('classifies every method of knex query builder: a new execution method cannot slip past capture', () => {
    const unclassified = [...queryBuilderMethods(knex)].filter((m) => builderRole(m) === undefined);
    expect(unclassified).toEqual([]);
    // Every name the lists carry is still knex's (a renamed method would leave a stale entry).
    const known = queryBuilderMethods(knex);
    const listed = [
      ...CHAIN_METHODS,
      ...EXECUTION_METHODS,
      ...COMPILE_METHODS,
      ...SCOPE_METHODS,
      ...INSPECT_METHODS,
    ];
    // merge/ignore belong to the object onConflict() returns.
    expect(listed.filter((m) => !known.has(m) && m !== 'merge' && m !== 'ignore')).toEqual([]);
    const conflict = Object.getPrototypeOf(knex('t').insert({ a: 1 }).onConflict('a')) as object;
    // Awaiting onConflict() without merge/ignore runs the insert (knex's own then() of it throws).
    expect(
      Object.getOwnPropertyNames(conflict)
        .filter((n) => n !== 'constructor')
        .sort(),
    ).toEqual(['ignore', 'merge', 'then']);
    // The getters that change the query.
    const proto = Object.getPrototypeOf(Object.getPrototypeOf(knex.queryBuilder())) as object;
    for (const g of CHAIN_GETTERS.filter((n) => n !== 'and')) {
      expect(typeof Object.getOwnPropertyDescriptor(proto, g)?.get).toBe('function');
    }
    expect(Object.keys(knex.queryBuilder())).toContain('and');
  });

  it("lists knex's execution methods exactly: each of them runs through the handle's executor", () => {
    const exec = [...queryBuilderMethods(knex)].filter((m) => builderRole(m) === 'execute');
    expect(exec.sort()).toEqual(['asCallback', 'catch', 'finally', 'pipe', 'stream', 'then']);
  });

  it('classifies every method of knex Raw', () => {
    const unclassified = [...rawMethods(knex)].filter(
      (m) => rawRole(m) === undefined && !(RAW_INTERNAL_METHODS as readonly string[]).includes(m),
    );
    expect(unclassified).toEqual([]);
    expect([...RAW_CHAIN_METHODS].filter((m) => !rawMethods(knex).has(m))).toEqual([]);
  });

  it('reads builder state where dualwrite expects it', () => {
    const b = internals(
      knex('people as p').where({ id: 1 }).whereIn('k', [1, 2]).update({ a: 1 }).returning('id'),
    );
    expect(b._method).toBe('update');
    expect(b._single.update).toEqual({ a: 1 });
    expect(b._single.returning).toBe('id');
    expect(b._statements.filter((s) => s.grouping === 'where').map((s) => [s.type, s.column])).toEqual([
      ['whereBasic', 'id'],
      ['whereIn', 'k'],
    ]);
    const ins = internals(knex('t').insert({ a: 1 }).onConflict('a').merge(['a']));
    expect(ins._single.onConflict).toEqual(['a']);
    expect(ins._single.merge).toEqual({ updates: ['a'] });
    const agg = internals(knex('t').count('* as n').sum('x'));
    expect(agg._statements.map((s) => [s.type, s.method, s.value])).toEqual([
      ['aggregate', 'count', '* as n'],
      ['aggregate', 'sum', 'x'],
    ]);
    expect(internals(knex('t').columnInfo('c') as unknown as Knex.QueryBuilder)._single.columnInfo).toBe('c');
  });

  it('finds the dialect clients and their driver methods', () => {
    for (const d of ['mysql2', 'pg'] as const) {
      const proto = dialectClientClass(d).prototype as unknown as Record<string, unknown>;
      for (const m of [
        '_query',
        '_stream',
        'processResponse',
        'acquireConnection',
        'releaseConnection',
        'query',
      ]) {
        expect(typeof proto[m], `${d}.${m}`).toBe('function');
      }
    }
    const ctx = (knex as unknown as { context: Record<string, unknown> }).context;
    expect(typeof ctx['batchInsert']).toBe('function');
    expect(typeof ctx['transactionProvider']).toBe('function');
    expect(typeof (knex.migrate as object).constructor).toBe('function');
    expect(typeof (knex.seed as object).constructor).toBe('function');
  });
});

describe('the handle has the whole knex surface', () => {
  const dbs = useFreshDatabases('dwsurface');
  it('every member of a knex instance and of a transaction exists on the handle and its transactions', async () => {
    const db = await createDualWrite({
      logger: createSilentLogger(),
      syncWorker: false,
      env: {},
      config: {
        mysql: { url: dbs.mysqlUrl },
        postgres: { url: dbs.pgUrl },
        auditLog: `reports/test-audit-${dbs.name}.jsonl`,
      },
    });
    try {
      const plain = knexFactory({ client: 'mysql2' });
      const missing = [...instanceMembers(plain)].filter(
        (m) => !['length', 'name', 'arguments', 'caller', 'prototype'].includes(m) && !(m in db),
      );
      expect(missing).toEqual([]);
      const trx = await db.transaction();
      try {
        for (const m of [
          'commit',
          'rollback',
          'savepoint',
          'isCompleted',
          'executionPromise',
          'isTransaction',
          'userParams',
        ]) {
          expect(m in trx, m).toBe(true);
        }
        expect(missing.filter((m) => !(m in trx))).toEqual([]);
      } finally {
        await trx.rollback();
      }
    } finally {
      await db.destroy();
    }
  });
});
