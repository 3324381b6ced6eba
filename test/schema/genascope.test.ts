import { beforeAll, describe, expect, it } from 'vitest';
import { createMysqlSchema } from '../../examples/genascope/schema.js';
import { generateSeed, insertSeed, seedCounts } from '../../examples/genascope/seed.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import type { ConversionResult } from '../../lib/schema/convert.js';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { useFreshDatabases } from '../support/databases.js';
import { copyAllRows, expectSidesEqual } from './copy-rows.js';

// The Genascope MySQL-era DDL is the example app's (examples/genascope/schema.mysql.sql), built from
// shared/reference/genascope-schema.md; one copy keeps the example and this test on the same schema.
const dbs = useFreshDatabases('dwgenascope');
let result: ConversionResult;
let mysqlSchema: DatabaseSchema;
let pgSchema: DatabaseSchema;
let translators: TranslatorSet;
const seed = generateSeed({ accounts: 2, cliniciansPerAccount: 2, patientsPerClinician: 5 });

beforeAll(async () => {
  await createMysqlSchema(dbs.mysql);
  await insertSeed(dbs.mysql, seed);
  result = await convertDatabase(dbs.mysql);
  await applySchema(dbs.pg, result);
  mysqlSchema = await introspectMysql(dbs.mysql);
  pgSchema = await introspectPostgres(dbs.pg);
  translators = buildTranslators(mysqlSchema, pgSchema);
});

describe('Genascope MySQL-era schema converted and applied', () => {
  it('follows the seed plan: uuid keys, timestamp, jsonb, enum types, boolean defaults, update triggers', () => {
    const col = (t: string, c: string) =>
      pgSchema.tables.find((x) => x.name === t)?.columns.find((x) => x.name === c);
    expect(pgSchema.tables).toHaveLength(mysqlSchema.tables.length);
    for (const t of mysqlSchema.tables) {
      const id = t.columns.find((c) => c.name === 'id');
      expect(col(t.name, 'id')?.dataType, t.name).toBe(id?.dataType === 'varchar' ? 'uuid' : 'integer');
      if (t.columns.some((c) => c.name === 'updated_at' && c.onUpdateCurrentTimestamp)) {
        expect(result.report.updateTriggers.map((u) => u.table)).toContain(t.name);
      }
      for (const c of t.columns.filter((c) => c.isJson)) expect(col(t.name, c.name)?.dataType).toBe('jsonb');
    }
    expect(col('users', 'clinician_id')?.dataType).toBe('uuid');
    expect(col('users', 'role')).toMatchObject({ dataType: 'enum', udtName: 'users_role_t' });
    expect(col('users', 'is_active')).toMatchObject({ dataType: 'boolean', defaultValue: 'true' });
    expect(col('lab_results', 'abnormal')).toMatchObject({ dataType: 'boolean', defaultValue: 'false' });
    expect(col('appointments', 'date_time')?.dataType).toBe('timestamp');
    expect(col('appointments', 'time')?.dataType).toBe('interval');
    expect(col('clinician_availability', 'id')?.autoIncrement).toBe(true);
    const fks = (s: DatabaseSchema) =>
      s.tables
        .flatMap((t) =>
          t.foreignKeys.map((f) => `${t.name}.${f.columns}->${f.referencedTable} ${f.onDelete}`),
        )
        .sort();
    expect(fks(pgSchema)).toEqual(fks(mysqlSchema));
  });

  it('copies every seeded row and reads it back equal under normalisation', async () => {
    const counts = await copyAllRows(dbs, translators, mysqlSchema);
    expect(counts).toEqual(Object.fromEntries(Object.entries(seedCounts(seed))));
    await expectSidesEqual(dbs, translators, mysqlSchema);
  });
});
