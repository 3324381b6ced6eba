import { describe, expect, it } from 'vitest';
import { convertMysqlExpression } from '../../lib/schema/expression.js';

// Expressions as MySQL 9.7 reports them in information_schema (CHECK_CONSTRAINTS, STATISTICS.EXPRESSION).
const CONVERTED: [string, string][] = [
  ['lower(`email`)', 'lower("email")'],
  ['(`a` + (`b` * 2))', '("a" + ("b" * 2))'],
  ["(`email` like _utf8mb4\\'%@%\\')", '("email" LIKE \'%@%\')'],
  ["(`code` like 'it''s%')", "(\"code\" LIKE 'it''s%')"],
  ['((`a` <> `b`) or (`a` is null))', '(("a" <> "b") OR ("a" IS NULL))'],
  ['(`price` between 0 and 1000)', '("price" BETWEEN 0 AND 1000)'],
  ['`positive` > 0', '"positive" > 0'],
  ['ifnull(`a`,0)', 'coalesce("a", 0)'],
  ['length(`name`)', 'octet_length("name")'],
  ["json_unquote(json_extract(`doc`,_utf8mb4\\'$.user.id\\'))", '("doc" #>> \'{user,id}\')'],
  ['cast(`n` as unsigned)', 'CAST("n" AS bigint)'],
  ["substring_index(`email`,_utf8mb4\\'@\\',-(1))", 'split_part("email", \'@\', -1)'],
  ['cast(`s` as char(20) charset utf8mb4)', 'CAST("s" AS varchar(20))'],
  ["(`kind` in (_utf8mb4\\'a\\',_utf8mb4\\'b\\'))", "(\"kind\" IN ('a', 'b'))"],
  ["(`name` regexp _utf8mb4\\'^[a-z]+$\\')", '("name" ~ \'^[a-z]+$\')'],
];

const REFUSED: [string, RegExp][] = [
  ["substring_index(`email`,_utf8mb4\\'@\\',2)", /substring_index\(\) with count 2/],
  ['(`a` <=> `b`)', /null-safe/],
  ['cast(`d` as year)', /CAST to year/],
  ["json_extract(`doc`,_utf8mb4\\'$.a[*]\\')", /JSON path/],
];

describe('MySQL expressions → PostgreSQL', () => {
  it.each(CONVERTED)('converts %s', (mysql, pg) => {
    expect(convertMysqlExpression(mysql)).toEqual({ sql: pg });
  });
  it.each(REFUSED)('refuses %s with a reason', (mysql, reason) => {
    const result = convertMysqlExpression(mysql);
    expect('error' in result && result.error).toMatch(reason);
  });
});
