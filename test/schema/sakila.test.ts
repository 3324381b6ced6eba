import { beforeAll, describe, expect, it } from 'vitest';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import type { ConversionResult } from '../../lib/schema/convert.js';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import { buildTranslators } from '../../lib/translate/build.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import { useFreshDatabases } from '../support/databases.js';
import { SAKILA_ROW_COUNTS, loadSakila } from '../support/sakila.js';
import { copyAllRows, expectSidesEqual } from './copy-rows.js';

const dbs = useFreshDatabases('dwsakila');
let result: ConversionResult;
let mysqlSchema: DatabaseSchema;
let pgSchema: DatabaseSchema;
let translators: TranslatorSet;

beforeAll(async () => {
  await loadSakila(dbs.mysqlUrl);
  result = await convertDatabase(dbs.mysql);
  await applySchema(dbs.pg, result);
  mysqlSchema = await introspectMysql(dbs.mysql);
  pgSchema = await introspectPostgres(dbs.pg);
  translators = buildTranslators(mysqlSchema, pgSchema);
});

describe('Sakila converted and applied', () => {
  it('has all 16 tables with their primary keys, foreign keys and indexes', () => {
    const names = pgSchema.tables.map((t) => t.name).sort();
    expect(names).toEqual(Object.keys(SAKILA_ROW_COUNTS).sort());
    for (const m of mysqlSchema.tables) {
      const p = pgSchema.tables.find((t) => t.name === m.name);
      expect(p?.primaryKey, m.name).toEqual(m.primaryKey);
      expect(
        p?.foreignKeys
          .map((f) => [f.columns, f.referencedTable, f.referencedColumns, f.onDelete, f.onUpdate])
          .sort(),
      ).toEqual(
        m.foreignKeys
          .map((f) => [f.columns, f.referencedTable, f.referencedColumns, f.onDelete, f.onUpdate])
          .sort(),
      );
      // every non-spatial MySQL index exists (FULLTEXT as a GIN expression index)
      const nonSpatial = [...m.indexes, ...m.uniqueKeys].filter((i) => i.method !== 'SPATIAL');
      expect((p?.indexes.length ?? 0) + (p?.uniqueKeys.length ?? 0), m.name).toBeGreaterThanOrEqual(
        nonSpatial.length,
      );
    }
    const film = pgSchema.tables.find((t) => t.name === 'film');
    expect(film?.columns.find((c) => c.name === 'rating')).toMatchObject({
      dataType: 'enum',
      enumValues: ['G', 'PG', 'PG-13', 'R', 'NC-17'],
    });
    expect(film?.columns.find((c) => c.name === 'special_features')).toMatchObject({
      dataType: 'array',
      enumValues: ['Trailers', 'Commentaries', 'Deleted Scenes', 'Behind the Scenes'],
    });
    expect(film?.columns.find((c) => c.name === 'film_id')).toMatchObject({
      dataType: 'integer',
      autoIncrement: true,
    });
    expect(film?.checks.map((c) => c.expression).join(' ')).toContain('65535');
  });

  it('installs ON UPDATE triggers for every last_update column and lists what it did not convert', () => {
    const withOnUpdate = mysqlSchema.tables
      .filter((t) => t.columns.some((c) => c.onUpdateCurrentTimestamp))
      .map((t) => t.name);
    expect(result.report.updateTriggers.map((t) => t.table).sort()).toEqual(withOnUpdate.sort());
    expect(withOnUpdate.length).toBeGreaterThanOrEqual(15);
    const pgTriggers = pgSchema.otherObjects.filter((o) => o.kind === 'trigger').map((o) => o.name);
    for (const t of result.report.updateTriggers) expect(pgTriggers).toContain(t.trigger);
    const notConverted = result.report.notConverted.map((o) => `${o.kind}:${o.name}`);
    expect(notConverted).toEqual(
      expect.arrayContaining([
        'view:actor_info',
        'procedure:film_in_stock',
        'function:get_customer_balance',
        'trigger:ins_film',
      ]),
    );
    expect(result.report.tables.flatMap((t) => t.columns)).toHaveLength(
      mysqlSchema.tables.reduce((n, t) => n + t.columns.length, 0),
    );
  });

  it('copies every row of every table and reads it back equal under normalisation', async () => {
    const counts = await copyAllRows(dbs, translators, mysqlSchema);
    expect(counts).toEqual(SAKILA_ROW_COUNTS);
    await expectSidesEqual(dbs, translators, mysqlSchema);
  });
});
