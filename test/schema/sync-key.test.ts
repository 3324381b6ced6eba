import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../lib/config/load.js';
import { ConfigError } from '../../lib/errors.js';
import type { ColumnSchema, DatabaseSchema, IndexSchema, TableSchema } from '../../lib/schema/model.js';
import { chooseSyncKey, describeSyncKey, noSyncKeyMessage } from '../../lib/schema/sync-key.js';
import { buildTranslators } from '../../lib/translate/build.js';

function column(name: string, nullable = false): ColumnSchema {
  return {
    name,
    position: 1,
    dataType: 'int',
    columnType: 'int',
    nullable,
    defaultValue: null,
    autoIncrement: false,
    onUpdateCurrentTimestamp: false,
    unsigned: false,
    length: null,
    precision: null,
    scale: null,
    fsp: null,
    enumValues: null,
    charset: null,
    collation: null,
    comment: null,
    isJson: false,
  };
}

function table(
  name: string,
  columns: ColumnSchema[],
  primaryKey: string[],
  uniqueKeys: (Partial<IndexSchema> & { name: string; columns: string[] })[] = [],
): TableSchema {
  return {
    name,
    columns,
    primaryKey,
    uniqueKeys: uniqueKeys.map((u) => ({ unique: true, method: 'BTREE', ...u })),
    indexes: [],
    foreignKeys: [],
    checks: [],
    comment: null,
    engine: 'InnoDB',
    collation: null,
  };
}

const cols = [column('a'), column('b'), column('c', true), column('d')];

describe('the key a table is synced by', () => {
  it('is the primary key when there is one, whatever its unique keys', () => {
    const t = table('t', cols, ['a'], [{ name: 'uq_b', columns: ['b'] }]);
    expect(chooseSyncKey(t)).toEqual({ columns: ['a'], source: 'primary', index: null });
  });

  it('is otherwise the first NOT NULL unique key by index name: nullable, prefix and functional ones do not count', () => {
    const t = table(
      't',
      cols,
      [],
      [
        { name: 'uq_z', columns: ['d'] },
        { name: 'uq_c', columns: ['c'] },
        { name: 'uq_a_prefix', columns: ['a'], prefixLengths: [4] },
        { name: 'uq_expr', columns: ['(lower(`b`))'], expressions: ['lower(`b`)'] },
        { name: 'uq_m', columns: ['b', 'a'] },
      ],
    );
    const key = chooseSyncKey(t);
    expect(key).toEqual({ columns: ['b', 'a'], source: 'unique', index: 'uq_m' });
    expect(describeSyncKey(key!)).toBe('unique key uq_m (b, a)');
  });

  it('is the declared columns when the config names them, noting the unique index they match', () => {
    const t = table('t', cols, [], [{ name: 'uq_c', columns: ['c'] }]);
    expect(chooseSyncKey(t)).toBeNull();
    expect(chooseSyncKey(t, ['c'])).toEqual({ columns: ['c'], source: 'declared', index: 'uq_c' });
    expect(chooseSyncKey(t, ['a', 'd'])).toEqual({ columns: ['a', 'd'], source: 'declared', index: null });
    expect(() => chooseSyncKey(t, ['a', 'nope'])).toThrow(/tables\.t\.key names column\(s\) nope/);
  });

  it('is refused by name, naming both remedies', () => {
    expect(noSyncKeyMessage('log')).toMatch(
      /^table log has no primary key and no NOT NULL unique key: .*Add a primary key \(or a unique key on NOT NULL columns\), or declare .*\(tables\.log\.key: \[columns\]\)/,
    );
  });

  it('is read from tables.<name>.key by the translators; a column a side lacks is a config error', () => {
    const schema = (t: TableSchema): DatabaseSchema => ({
      dialect: 'mysql',
      serverVersion: 'test',
      tables: [t],
      otherObjects: [],
    });
    const t = table('t', cols, [], [{ name: 'uq_c', columns: ['c'] }]);
    const config = validateConfig({
      mysql: { url: 'mysql://x@127.0.0.1/x' },
      postgres: { url: 'postgres://x@127.0.0.1/x' },
      tables: { t: { key: ['c'] } },
    });
    expect(config.tables['t']?.key).toEqual(['c']);
    expect(buildTranslators(schema(t), schema(t), config).table('t').primaryKey).toEqual(['c']);
    expect(() => buildTranslators(schema(t), schema(t)).table('t')).toThrow(/tables\.t\.key/);
    expect(() => buildTranslators(schema(t), schema(t), { tables: { t: { key: ['zz'] } } })).toThrow(
      ConfigError,
    );
  });
});
