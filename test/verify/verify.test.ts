import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { readState } from '../../lib/report/state.js';
import {
  LAST_VERIFY_STATE,
  verify,
  verifyCheckpointName,
  type VerifyOptions,
} from '../../lib/verify/verify.js';
import { cliEnv } from '../support/cli.js';
import { useFreshDatabases } from '../support/databases.js';
import { PATIENTS, setUpClinic, type Clinic } from '../shadow/fixture.js';
import { verifyOptions } from './options.js';

const run = promisify(execFile);
const dbs = useFreshDatabases('dwverify');
let clinic: Clinic;
let dir: string;

async function options(extra: Partial<VerifyOptions> = {}): Promise<VerifyOptions> {
  const schemas = { mysql: await introspectMysql(dbs.mysql), postgres: await introspectPostgres(dbs.pg) };
  return verifyOptions(
    { dbs, dir, translators: clinic.translators, schemas },
    { tables: { patients: { sensitiveColumns: ['full_name'] } } },
    { chunkSize: 37, ...extra },
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-verify-'));
  clinic = await setUpClinic(dbs);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verify', () => {
  it('reports zero differences when both sides hold the same rows', async () => {
    const result = await verify(await options());
    expect(result.clean).toBe(true);
    const patients = result.tables.find((t) => t.table === 'patients');
    expect(patients).toMatchObject({
      rowsCompared: PATIENTS,
      missing: 0,
      extra: 0,
      different: 0,
      differentChunks: 0,
    });
    expect(patients?.chunks).toBe(Math.ceil((PATIENTS + 1) / 37));
    expect(await readState(dbs.pg, LAST_VERIFY_STATE)).toMatchObject({
      at: result.at,
      clean: true,
      complete: true,
    });
  });

  it('finds exactly the injected differences, ignores a JSON key-order change, and repair clears them', async () => {
    await dbs.pg('patients').where({ id: 5 }).delete(); // missing on PG
    await dbs.pg('patients').insert({
      id: 999,
      clinic_id: 1,
      full_name: 'Ghost',
      status: 'active',
      balance: '1.00',
      is_vip: false,
    }); // extra
    await dbs.pg('patients').where({ id: 17 }).update({ balance: '123.45' }); // one changed column
    const [row23] = (await dbs.mysql('patients').where({ id: 23 }).select('seen_at')) as {
      seen_at: string;
    }[];
    await dbs.pg.raw(`UPDATE patients SET seen_at = seen_at + interval '1 millisecond' WHERE id = 23`); // timestamp fraction
    // Same JSON document, keys in another order and other spacing: not a difference.
    await dbs.mysql('patients').where({ id: 31 }).update({
      prefs: '{"tags": [2, "x"], "reminders": {"email": true, "sms": true}, "lang": "fr"}',
    });
    const [pg31] = (await dbs.pg('patients').where({ id: 31 }).select('prefs')) as { prefs: string }[];
    expect(JSON.parse(pg31?.prefs ?? '{}')).toEqual({
      lang: 'fr',
      reminders: { sms: true, email: true },
      tags: [2, 'x'],
    });

    const result = await verify(await options());
    expect(result.clean).toBe(false);
    const patients = result.tables.find((t) => t.table === 'patients');
    expect(patients).toMatchObject({ rowsCompared: PATIENTS + 1, missing: 1, extra: 1, different: 2 });
    expect(result.tables.find((t) => t.table === 'clinics')).toMatchObject({
      missing: 0,
      extra: 0,
      different: 0,
    });
    const byKey = new Map(patients?.examples.map((e) => [JSON.stringify(e.key), e]));
    expect(byKey.get('[5]')?.kind).toBe('missing');
    expect(byKey.get('[999]')?.kind).toBe('extra');
    expect(byKey.get('[17]')?.columns).toEqual([
      { column: 'balance', authoritative: expect.any(String), other: '123.45' },
    ]);
    const seen = byKey.get('[23]')?.columns;
    expect(seen?.map((c) => c.column)).toEqual(['seen_at']);
    expect(String(seen?.[0]?.authoritative)).toContain(String(row23?.seen_at).slice(0, 19));
    expect(byKey.has('[31]')).toBe(false);
    // The extra row's sensitive name is hashed in the report.
    const report = await readFile(result.reportFile ?? '', 'utf8');
    expect(report).not.toContain('Ghost');
    expect(await readState(dbs.pg, LAST_VERIFY_STATE)).toMatchObject({ clean: false });

    const repaired = await verify(await options({ repair: clinic.syncer }));
    expect(repaired.tables.find((t) => t.table === 'patients')?.repair).toEqual({ synced: 4, remaining: 0 });
    expect(repaired.clean).toBe(true);
    const after = await verify(await options());
    expect(after.clean).toBe(true);
    expect(after.tables.find((t) => t.table === 'patients')).toMatchObject({
      rowsCompared: PATIENTS,
      missing: 0,
      extra: 0,
      different: 0,
    });
  });

  it('resumes an interrupted table from its checkpoint', async () => {
    await dbs.pg('patients').where({ id: 150 }).update({ status: 'archived', full_name: 'Changed' });
    let chunks = 0;
    const interrupted = verify(
      await options({
        tables: ['patients'],
        onProgress: () => {
          chunks += 1;
          if (chunks === 3) throw new Error('interrupted');
        },
      }),
    );
    await expect(interrupted).rejects.toThrow('interrupted');
    const checkpoint = await readState<{ after: number[]; done: boolean }>(
      dbs.pg,
      verifyCheckpointName('patients'),
    );
    expect(checkpoint).toMatchObject({ after: [111], done: false });

    const resumed = await verify(await options({ tables: ['patients'] }));
    const patients = resumed.tables[0];
    expect(patients).toMatchObject({
      resumed: true,
      rowsCompared: PATIENTS,
      different: 1,
      missing: 0,
      extra: 0,
    });
    expect(patients?.examples[0]?.key).toEqual([150]);
    expect(await readState(dbs.pg, verifyCheckpointName('patients'))).toBeUndefined();
    await clinic.syncer.sync('patients', [[150]], 'mysql');
  });

  it('counts foreign-key orphans on the PostgreSQL side', async () => {
    await dbs
      .mysql('patients')
      .insert({ id: 500, clinic_id: 99, full_name: 'Orphan', status: 'active', balance: 0, is_vip: false });
    await clinic.syncer.sync('patients', [[500]], 'mysql');
    await dbs.pg.raw(
      'ALTER TABLE patients ADD CONSTRAINT patients_clinic_fk FOREIGN KEY (clinic_id) REFERENCES clinics (id) NOT VALID',
    );
    try {
      const result = await verify(await options({ tables: ['patients'] }));
      expect(result.clean).toBe(false);
      expect(result.tables[0]?.orphans).toEqual([
        { constraint: 'patients_clinic_fk', columns: ['clinic_id'], referencedTable: 'clinics', count: 1 },
      ]);
    } finally {
      await dbs.pg.raw('ALTER TABLE patients DROP CONSTRAINT patients_clinic_fk');
      await dbs.mysql('patients').where({ id: 500 }).delete();
      await clinic.syncer.sync('patients', [[500]], 'mysql');
    }
  });

  it('dualwrite verify --json exits 1 with per-table counts, and dualwrite repair fixes the rows', async () => {
    await dbs.pg('patients').where({ id: 77 }).update({ born: '2001-01-01' });
    const configFile = join(dir, 'dualwrite.json');
    await writeFile(
      configFile,
      JSON.stringify({
        stage: 'shadow',
        mysql: { url: dbs.mysqlUrl },
        postgres: { url: dbs.pgUrl },
        verify: { reportDir: dir },
      }),
    );
    const cli = (args: string[]) =>
      run('./bin/dualwrite.js', [...args, '-c', configFile], {
        env: cliEnv({ DUALWRITE_LOG_LEVEL: 'silent' }),
      }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );
    const failed = await cli(['verify', '--json', '--tables', 'patients,clinics', '--chunk', '50']);
    expect(failed.code, JSON.stringify(failed)).toBe(1);
    const json = JSON.parse(failed.stdout) as {
      clean: boolean;
      tables: { table: string; rowsCompared: number; missing: number; extra: number; different: number }[];
    };
    expect(json.clean).toBe(false);
    expect(json.tables).toEqual([
      expect.objectContaining({
        table: 'patients',
        rowsCompared: PATIENTS,
        missing: 0,
        extra: 0,
        different: 1,
      }),
      expect.objectContaining({ table: 'clinics', rowsCompared: 4, missing: 0, extra: 0, different: 0 }),
    ]);
    const repaired = await cli(['repair', '--tables', 'patients']);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain('1 synced, 0 left');
    const clean = await cli(['verify', '--tables', 'patients', '--metrics-port', '0']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('clean');
    // Only some tables were verified: that does not clear a flip.
    expect(await readState(dbs.pg, LAST_VERIFY_STATE)).toMatchObject({ clean: false, complete: false });
    const usage = await cli(['verify', '--chunk', 'lots']);
    expect(usage.code).toBe(2);
  });
});
