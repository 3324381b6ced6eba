import { describe, expect, it } from 'vitest';
import { useFreshDatabases } from '../support/databases.js';
import { loadSakila, SAKILA_ROW_COUNTS } from '../support/sakila.js';

const dbs = useFreshDatabases('dwsakila');

describe('sakila fixture', () => {
  it('loads all 16 tables with the documented row counts into a per-file database', async () => {
    await loadSakila(dbs.mysqlUrl);
    for (const [table, count] of Object.entries(SAKILA_ROW_COUNTS)) {
      const [row] = (await dbs.mysql(table).count({ n: '*' })) as { n: string | number }[];
      expect([table, Number(row?.n)]).toEqual([table, count]);
    }
  });
});
