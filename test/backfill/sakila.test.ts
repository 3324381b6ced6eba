import { describe, expect, it } from 'vitest';
import { backfill } from '../../lib/backfill/backfill.js';
import { introspectMysql } from '../../lib/dialect/mysql/introspect.js';
import { introspectPostgres } from '../../lib/dialect/postgres/introspect.js';
import { applySchema, convertDatabase } from '../../lib/schema/apply.js';
import { buildTranslators } from '../../lib/translate/build.js';
import { expectSidesEqual } from '../schema/copy-rows.js';
import { useFreshDatabases } from '../support/databases.js';
import { SAKILA_ROW_COUNTS, loadSakila } from '../support/sakila.js';

const dbs = useFreshDatabases('dwbfsakila');

describe('Sakila backfilled', () => {
  it('converts, backfills with keys, indexes and FKs in place, and ends equal row for row', async () => {
    await loadSakila(dbs.mysqlUrl);
    await applySchema(dbs.pg, await convertDatabase(dbs.mysql));
    const mysqlSchema = await introspectMysql(dbs.mysql);
    const pgSchema = await introspectPostgres(dbs.pg);
    const translators = buildTranslators(mysqlSchema, pgSchema);

    const result = await backfill({
      mysql: dbs.mysql,
      postgres: dbs.pg,
      translators,
      sourceSchema: mysqlSchema,
      batchSize: 2000,
      concurrency: 2,
    });
    expect(result.tables.filter((t) => t.status !== 'done')).toEqual([]);
    const rows = Object.fromEntries(result.tables.map((t) => [t.table, t.rows]));
    expect(rows).toEqual(SAKILA_ROW_COUNTS);
    expect(result.tables.every((t) => t.quarantined === 0)).toBe(true);
    await expectSidesEqual(dbs, translators, mysqlSchema);

    // Foreign keys hold on the target after the copy (it ran with FK checks off for cycles like store ↔ staff).
    const fkViolations = await dbs.pg.raw(
      `SELECT count(*)::int AS n FROM payment p LEFT JOIN rental r ON r.rental_id = p.rental_id
        WHERE p.rental_id IS NOT NULL AND r.rental_id IS NULL`,
    );
    expect(fkViolations.rows[0].n).toBe(0);
    // Identity sequences moved past the copied ids.
    const [actor] = await dbs
      .pg('actor')
      .insert({ first_name: 'NEW', last_name: 'ACTOR' })
      .returning('actor_id');
    expect((actor as { actor_id: number }).actor_id).toBe(201);
  });
});
