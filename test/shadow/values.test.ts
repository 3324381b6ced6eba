import { describe, expect, it } from 'vitest';
import { FieldKind } from '../../lib/dialect/fields.js';
import { nonDeterministic, unorderedLimit } from '../../lib/shadow/determinism.js';
import { cellsEqual, normalizeCell, roundDecimal } from '../../lib/shadow/values.js';

const same = (a: unknown, b: unknown, kind: FieldKind | null, precision: number | null = null): boolean =>
  cellsEqual(normalizeCell(a, kind, precision), normalizeCell(b, kind, precision));

describe('comparable values', () => {
  it('compares JSON as JSON: key order, spacing and number spelling do not matter, values do', () => {
    expect(same('{"lang":"en","tz":"UTC"}', '{"tz": "UTC", "lang": "en"}', FieldKind.Json)).toBe(true);
    expect(
      same(
        '{"n": 1.50, "big": 12345678901234567890}',
        '{"big":12345678901234567890,"n":1.5}',
        FieldKind.Json,
      ),
    ).toBe(true);
    expect(same('{"big": 12345678901234567890}', '{"big": 12345678901234567891}', FieldKind.Json)).toBe(
      false,
    );
    expect(same('[1, 2]', '[2, 1]', FieldKind.Json)).toBe(false);
    expect(same({ a: 1 }, '{"a": 1}', FieldKind.Json)).toBe(true);
  });

  it('compares a document by its shape when no type is known, never by its text', () => {
    expect(same('{"a": 1, "b": [1, 2]}', '{"b":[1,2],"a":1}', FieldKind.Text)).toBe(true);
    expect(same('{"a": 1}', '{"a": 2}', FieldKind.Text)).toBe(false);
    expect(same('not {json', 'not {json', null)).toBe(true);
  });

  it('compares times at the precision both sides hold, truncated or rounded', () => {
    // MySQL DATETIME(3) rounds .1235 to .124, MariaDB truncates to .123; PostgreSQL holds .1235.
    expect(same('2024-01-01 10:00:00.124', '2024-01-01 10:00:00.1235', FieldKind.DateTime, 3)).toBe(true);
    expect(same('2024-01-01 10:00:00.123', '2024-01-01 10:00:00.1235', FieldKind.DateTime, 3)).toBe(true);
    expect(same('2024-01-01 10:00:00.122', '2024-01-01 10:00:00.1235', FieldKind.DateTime, 3)).toBe(false);
    // PostgreSQL prints no trailing zeros, and an offset.
    expect(same('2024-01-01 10:00:00.500', '2024-01-01 10:00:00.5+00', FieldKind.DateTime, 3)).toBe(true);
    // Rounding carries into the next day.
    expect(same('2024-12-31 23:59:59.9996', '2025-01-01 00:00:00.000', FieldKind.DateTime, 3)).toBe(true);
    expect(same('2024-01-01 10:00:01', '2024-01-01 10:00:00', FieldKind.DateTime, 0)).toBe(false);
    expect(same('10:00:00.5', '10:00:00.500000', FieldKind.Time, 6)).toBe(true);
  });

  it('compares numbers numerically at the scale both sides hold', () => {
    // AVG: MySQL 4 more digits than the column, PostgreSQL's numeric unbounded.
    expect(same('2.3333', '2.3333333333333333', FieldKind.Decimal, 4)).toBe(true);
    expect(same('0.6667', '0.66666666666666666667', FieldKind.Decimal, 4)).toBe(true);
    expect(same('2.3334', '2.3333333333333333', FieldKind.Decimal, 4)).toBe(false);
    expect(same('497.000000', '497.00000000000000000000', FieldKind.Decimal, 6)).toBe(true);
    expect(same(6, '6', FieldKind.Integer)).toBe(true);
    expect(same('10000.00', '10000.99', FieldKind.Decimal, 2)).toBe(false);
    expect(same(0.1 + 0.2, 0.3, FieldKind.Float)).toBe(true);
    expect(same(1.5, 1.5001, FieldKind.Float)).toBe(false);
    expect(same(true, '1', FieldKind.Boolean)).toBe(true);
    expect(roundDecimal('1.9995', 3, 'round')).toBe('2');
    expect(roundDecimal('-1.2345', 3, 'round')).toBe('-1.235');
    expect(roundDecimal('-1.2345', 3, 'trunc')).toBe('-1.234');
  });
});

describe('non-deterministic reads', () => {
  it('names the function that makes a read change by itself', () => {
    expect(nonDeterministic('select current_timestamp as now')).toBe('current_timestamp');
    expect(nonDeterministic('SELECT NOW()')).toBe('now()');
    expect(nonDeterministic('select * from t order by rand() limit 1')).toBe('rand()');
    expect(nonDeterministic('select uuid() as id')).toBe('uuid()');
    expect(nonDeterministic('select random()')).toBe('random()');
    expect(nonDeterministic('select @@version')).toBe('@@version');
    expect(nonDeterministic('select unix_timestamp()')).toBe('unix_timestamp()');
  });

  it('leaves deterministic reads alone, also when a literal or an identifier only looks like one', () => {
    expect(nonDeterministic("select * from notes where body = 'now()'")).toBeNull();
    expect(nonDeterministic('select `now`, "current_date_x" from t')).toBeNull();
    expect(nonDeterministic('select unix_timestamp(created_at) from t')).toBeNull();
    expect(nonDeterministic('select prefs @> \'{"a":1}\' from t')).toBeNull();
  });

  it('recognises a LIMIT without ORDER BY', () => {
    expect(unorderedLimit('select name from staff limit 3')).toBe(true);
    expect(unorderedLimit('select name from staff order by name limit 3')).toBe(false);
    expect(unorderedLimit('select name from staff')).toBe(false);
  });
});
