import type { Knex } from 'knex';
import { bindValue, quoteIdent } from '../sync/sql.js';
import type { Row, RowTranslator } from '../translate/types.js';
import { isKeyValue, type KeyValue } from './keys.js';

/** The columns a MySQL generation expression reads (its backquoted identifiers). */
export function readsColumns(expression: string): string[] {
  return [...new Set([...expression.matchAll(/`((?:[^`]|``)+)`/g)].map((m) => m[1]!.replace(/``/g, '`')))];
}

/** Generated key columns of the translator's table (MySQL expressions), or none. */
export function generatedKeyOf(translator: RowTranslator): Readonly<Record<string, string>> {
  return translator.generatedKey ?? {};
}

/** The columns whose values the generated key columns are computed from. */
export function generatedKeyInputs(translator: RowTranslator): string[] {
  return [...new Set(Object.values(generatedKeyOf(translator)).flatMap(readsColumns))];
}

/**
 * The values MySQL computes for the generated key columns of a row about to be written with `values`
 * (one SELECT of the expressions over the values), or a reason when the values do not hold every column
 * an expression reads.
 */
export async function evaluateGeneratedKey(
  conn: Knex,
  generated: Readonly<Record<string, string>>,
  values: Row,
): Promise<Record<string, KeyValue> | string> {
  const inputs = [...new Set(Object.values(generated).flatMap(readsColumns))];
  const missing = inputs.filter((c) => !(c in values) || values[c] === undefined);
  if (missing.length > 0)
    return `the generated key is computed from ${missing.join(', ')}, which the write does not set`;
  const q = (name: string): string => quoteIdent('mysql', name);
  const select = Object.entries(generated)
    .map(([column, expression]) => `${expression} AS ${q(column)}`)
    .join(', ');
  const row = inputs.map((c) => `? AS ${q(c)}`).join(', ');
  const [rows] = (await conn.raw(
    `SELECT ${select} FROM (SELECT ${row}) AS dw_row`,
    inputs.map((c) => bindValue(values[c], 'mysql')) as Knex.RawBinding[],
  )) as [Row[]];
  const out: Record<string, KeyValue> = {};
  for (const column of Object.keys(generated)) {
    const v = rows[0]?.[column];
    if (!isKeyValue(v)) return `the generated key column ${column} would be NULL`;
    out[column] = v;
  }
  return out;
}
