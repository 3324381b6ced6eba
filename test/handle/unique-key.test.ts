import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { validateConfig } from '../../lib/config/load.js';
import type { DualWriteConfigInput } from '../../lib/config/schema.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { ErrorCode } from '../../lib/errors.js';
import { createDualWrite } from '../../lib/handle/create.js';
import type { DualWriteDb } from '../../lib/handle/types.js';
import { initMetaTables } from '../../lib/meta/init.js';
import { createSilentLogger } from '../../lib/observe/logger.js';
import type { MismatchRecord } from '../../lib/report/records.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import { ShadowReader } from '../../lib/shadow/reader.js';
import { KeySyncer } from '../../lib/sync/syncer.js';
import type { Side, Stage } from '../../lib/stage/stage.js';
import { buildTranslators } from '../../lib/translate/build.js';
import { verify } from '../../lib/verify/verify.js';
import { insertMany } from '../backfill/support.js';
import { useFreshDatabases } from '../support/databases.js';
import { prng } from '../sync/support/traffic.js';

// A table whose only key is a UNIQUE index (no primary key), migrated end to end through the handle:
// backfill under dual writes (updates that change the unique key's value included), verify, flip to
// PostgreSQL, writes there, rollback to MySQL, writes again — every acknowledged write is on both sides.
const dbs = useFreshDatabases('dwuniq');
const ORGS = ['acme', 'Globex', 'INITECH'];

interface Member {
  org: string;
  member_no: number;
  role: string;
  note: string | null;
}
const id = (m: { org: string; member_no: number }): string => `${m.org}/${m.member_no}`;

async function rowsOf(db: DualWriteDb, side: Side): Promise<Map<string, Member>> {
  const rows = (await db.dualwrite.knex[side]('memberships').select(
    'org',
    'member_no',
    'role',
    'note',
  )) as Member[];
  return new Map(rows.map((r) => [id(r), { ...r, member_no: Number(r.member_no) }]));
}

async function drained(db: DualWriteDb): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const counts = await Promise.all(
      (['mysql', 'postgres'] as const).map(async (side) =>
        Number(
          ((await db.dualwrite.knex[side]('dualwrite_outbox').count({ n: '*' }).first()) as { n: unknown }).n,
        ),
      ),
    );
    if (counts.every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`outboxes not drained: ${counts.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** App writes through the handle; `model` holds what every acknowledged write left. */
async function appWrites(
  db: DualWriteDb,
  model: Map<string, Member>,
  n: number,
  seed: number,
  mysql: boolean,
) {
  const rand = prng(seed);
  const done = { insert: 0, update: 0, moves: 0, delete: 0 };
  let next = 100_000 + seed * 10_000;
  const pick = (): Member => {
    const all = [...model.values()];
    return all[Math.floor(rand() * all.length)]!;
  };
  for (let i = 0; i < n; i++) {
    const dice = rand();
    if (dice < 0.3) {
      const m: Member = { org: ORGS[i % 3]!, member_no: next++, role: 'new', note: `inserted ${i}` };
      await db('memberships').insert(m);
      model.set(id(m), m);
      done.insert++;
    } else if (dice < 0.55) {
      const m = pick();
      const role = `role ${i}`;
      // While MySQL is authoritative, the WHERE may spell the key in another case: MySQL's collation finds it.
      const org = mysql && i % 2 === 0 ? m.org.toUpperCase() : m.org;
      expect(await db('memberships').where({ org, member_no: m.member_no }).update({ role })).toBe(1);
      model.set(id(m), { ...m, role });
      // Read it back at once: the shadow comparison finds the key still in the outbox and re-checks it.
      const row = (await db('memberships').where({ org: m.org, member_no: m.member_no }).first()) as Member;
      expect(row.role).toBe(role);
      done.update++;
    } else if (dice < 0.85) {
      // The unique key's value changes: a new member number, or another org.
      const m = pick();
      const moved =
        dice < 0.7
          ? { ...m, member_no: next++, note: `moved ${i}` }
          : { ...m, org: ORGS[(ORGS.indexOf(m.org) + 1) % 3]!, note: `moved ${i}` };
      if (model.has(id(moved))) continue;
      const changed = await db('memberships')
        .where({ org: m.org, member_no: m.member_no })
        .update({ org: moved.org, member_no: moved.member_no, note: moved.note });
      expect(changed).toBe(1);
      model.delete(id(m));
      model.set(id(moved), moved);
      await db('memberships').where({ org: moved.org }).whereIn('member_no', [m.member_no, moved.member_no]);
      done.moves++;
    } else {
      const m = pick();
      expect(await db('memberships').where({ org: m.org, member_no: m.member_no }).del()).toBe(1);
      model.delete(id(m));
      done.delete++;
    }
  }
  return done;
}

describe('a table whose only key is a UNIQUE index', () => {
  it('migrates end to end: backfill under writes that move the key, verify, flip, rollback; nothing lost', async () => {
    await dbs.mysql.raw(`CREATE TABLE memberships (
      org VARCHAR(20) NOT NULL, member_no INT NOT NULL, role VARCHAR(20) NOT NULL, note VARCHAR(100) NULL,
      UNIQUE KEY uq_member (org, member_no), KEY by_role (role)) DEFAULT CHARSET=utf8mb4`);
    await dbs.mysql.raw('CREATE TABLE audit_log (at DATETIME NOT NULL, msg TEXT NULL)');
    const model = new Map<string, Member>();
    const seed: Member[] = Array.from({ length: 3000 }, (_, i) => ({
      org: ORGS[i % 3]!,
      member_no: i,
      role: i % 5 === 0 ? 'admin' : 'member',
      note: i % 7 === 0 ? null : `member ${i}`,
    }));
    await insertMany(dbs.mysql, 'memberships', seed as unknown as Record<string, unknown>[]);
    for (const m of seed) model.set(id(m), m);

    // The schema report names the key rows are synced by, and lists the table nothing identifies first.
    const conversion = await convertDatabase(dbs.mysql);
    const report = Object.fromEntries(conversion.report.tables.map((t) => [t.name, t.syncKey]));
    expect(report).toEqual({ memberships: 'unique key uq_member (org, member_no)', audit_log: null });
    expect(conversion.report.keyless.map((k) => k.table)).toEqual(['audit_log']);
    expect(conversion.report.keyless[0]?.reason).toMatch(/tables\.audit_log\.key: \[columns\]/);
    await applySchema(dbs.pg, conversion);
    await initMetaTables(dbs.mysql, dbs.pg);

    const reportDir = mkdtempSync(join(tmpdir(), 'dw-uniq-'));
    const config: DualWriteConfigInput = {
      stage: 'dual-write',
      mysql: { url: dbs.mysqlUrl, poolMax: 6 },
      postgres: { url: dbs.pgUrl, poolMax: 6 },
      verify: { reportDir },
      shadow: { mismatchLog: join(reportDir, 'mismatches.jsonl') },
      auditLog: join(reportDir, 'audit.jsonl'),
    };
    // Every read through the handle is compared with the other side (sampleRate 1), keyed by (org, member_no).
    const shadow = new ShadowReader({
      config: validateConfig({
        ...config,
        shadow: { ...config.shadow, sampleRate: 1, recheckTimeoutMs: 10_000 },
      }),
    });
    const mismatches: MismatchRecord[] = [];
    shadow.on('mismatch', (m) => mismatches.push(m));
    const db = await createDualWrite({ config, logger: createSilentLogger(), env: {}, readObserver: shadow });
    try {
      // A table no key identifies: writes are refused by name, with both remedies.
      const refused = (await db('audit_log')
        .insert({ at: '2024-01-01 00:00:00', msg: 'x' })
        .catch((e: unknown) => e)) as { code: string; message: string };
      expect(refused.code).toBe(ErrorCode.NoPrimaryKey);
      expect(refused.message).toMatch(/audit_log .*Add a primary key .*tables\.audit_log\.key/);

      const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
      const translators = buildTranslators(schemas.mysql, schemas.postgres);
      const check = async (stage: Stage): Promise<void> => {
        await drained(db);
        const result = await verify({
          config: validateConfig({ ...config, stage }),
          mysql: dbs.mysql,
          postgres: dbs.pg,
          translators,
          schemas,
          tables: ['memberships'],
        });
        expect(result.tables[0]).toMatchObject({ missing: 0, extra: 0, different: 0 });
        expect(result.clean).toBe(true);
        const expected = [...model.entries()].sort();
        expect([...(await rowsOf(db, 'mysql')).entries()].sort()).toEqual(expected);
        expect([...(await rowsOf(db, 'postgres')).entries()].sort()).toEqual(expected);
        expect(await dbs.pg('dualwrite_quarantine').whereNull('resolved_at')).toEqual([]);
        await shadow.onIdle();
        expect(mismatches).toEqual([]);
      };

      // Backfill while the app writes (MySQL authoritative).
      const copy = backfill({
        mysql: dbs.mysql,
        postgres: dbs.pg,
        translators,
        sourceSchema: schemas.mysql,
        batchSize: 500,
      });
      const first = await appWrites(db, model, 300, 1, true);
      const copied = await copy;
      const outcome = Object.fromEntries(copied.tables.map((t) => [t.table, t]));
      expect(outcome['memberships']?.status).toBe('done');
      expect(outcome['audit_log']).toMatchObject({ status: 'refused', code: ErrorCode.NoPrimaryKey });
      expect(outcome['audit_log']?.reason).toMatch(/no primary key and no NOT NULL unique key/);
      expect(first.moves).toBeGreaterThan(30);
      await check('dual-write');

      // Repair by the unique key: rows changed, removed and added behind dualwrite's back on PostgreSQL.
      await dbs.pg.raw("UPDATE memberships SET role = 'tampered' WHERE member_no % 97 = 0");
      await dbs.pg.raw('DELETE FROM memberships WHERE member_no % 89 = 0');
      await dbs.pg('memberships').insert({ org: 'acme', member_no: -1, role: 'ghost', note: null });
      const repaired = await verify({
        config: validateConfig(config),
        mysql: dbs.mysql,
        postgres: dbs.pg,
        translators,
        schemas,
        tables: ['memberships'],
        repair: new KeySyncer({ mysql: dbs.mysql, pg: dbs.pg, translators }),
      });
      const [found] = repaired.tables;
      expect(found!.different + found!.missing + found!.extra).toBeGreaterThan(40);
      expect(found!.extra).toBe(1);
      expect(found!.repair).toMatchObject({ remaining: 0 });
      await check('dual-write');

      // The flip: PostgreSQL authoritative, its writes synced back to MySQL.
      await db.dualwrite.flip('pg-primary');
      const second = await appWrites(db, model, 200, 2, false);
      expect(second.moves).toBeGreaterThan(20);
      await check('pg-primary');

      // The rollback: MySQL authoritative again, nothing written on PostgreSQL missing in MySQL.
      await db.dualwrite.flip('shadow');
      expect(db.dualwrite.stage).toBe('shadow');
      await appWrites(db, model, 150, 3, true);
      await check('shadow');
      // The comparisons ran (pg-primary and shadow compare reads; dual-write does not), and some waited
      // for keys still in the outbox before matching.
      const stats = shadow.stats();
      expect(stats.matches).toBeGreaterThan(150);
      expect(stats.rechecks).toBeGreaterThan(0);
      expect(stats.errors).toBe(0);
    } finally {
      await db.destroy();
      await shadow.close();
    }
  });
});
