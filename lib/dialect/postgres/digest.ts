import type { CanonicalForm, CanonicalSql, SqlFragment } from '../canonical.js';
import type { ColumnSchema } from '../../schema/model.js';

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint', 'numeric']);

const cast = (c: ColumnSchema, after = '::text'): SqlFragment => ({ sql: `??${after}`, bindings: [c.name] });
const call = (c: ColumnSchema, before: string, after: string): SqlFragment => ({
  sql: `${before}??${after}`,
  bindings: [c.name],
});

/**
 * The canonical text of a PostgreSQL column in SQL (see CanonicalForm). Relies on dualwrite's session
 * settings (DateStyle ISO, IntervalStyle postgres); timestamptz is turned to UTC here whatever TimeZone is.
 */
export function canonicalText(form: CanonicalForm, c: ColumnSchema): CanonicalSql {
  switch (form) {
    case 'integer':
    case 'decimal':
    case 'text':
    case 'uuid':
    case 'enum':
    case 'date':
    case 'time':
      return { sql: cast(c) };
    case 'padded-text':
      return { sql: call(c, 'rtrim(', '::text)') };
    case 'double':
      // MySQL prints 1e20 where PostgreSQL prints 1e+20.
      return { sql: call(c, 'replace(', "::text, 'e+', 'e')") };
    case 'boolean':
      if (c.dataType === 'boolean') return { sql: cast(c, '::int::text') };
      if (INTEGER_TYPES.has(c.dataType)) return { sql: call(c, '(', ' <> 0)::int::text') };
      return { reason: `a boolean held as ${c.dataType}` };
    case 'set':
      return { sql: c.dataType === 'array' ? call(c, 'array_to_string(', ", ',')") : cast(c) };
    case 'binary':
      return { sql: call(c, 'encode(', ", 'hex')") };
    case 'bits':
      if (c.dataType !== 'bit' && c.dataType !== 'varbit') return { reason: `bits held as ${c.dataType}` };
      return { sql: cast(c) };
    case 'datetime':
      return { sql: c.dataType === 'timestamptz' ? call(c, '(', " AT TIME ZONE 'UTC')::text") : cast(c) };
    case 'json':
      if (c.dataType !== 'jsonb') return { reason: 'json (not jsonb) keeps the text as written' };
      return { sql: cast(c) };
  }
}

/**
 * A signed 64-bit hash of one row, byte for byte the MySQL dialect's: fields joined by 0x00, NULL as
 * 0xFF, SHA-256, first 8 bytes. Text is taken as its bytes (textsend), which are UTF-8 on a UTF8 database.
 */
export function rowHash(fields: readonly SqlFragment[]): SqlFragment {
  const parts = fields.map((f) => `coalesce(textsend(${f.sql}), '\\xff'::bytea)`);
  return {
    sql: `('x' || encode(substring(sha256(${parts.join(" || '\\x00'::bytea || ")}) from 1 for 8), 'hex'))::bit(64)::bigint`,
    bindings: fields.flatMap((f) => f.bindings),
  };
}

/** Bytes of a column's text (sizes chunks to the row width). */
export function textBytes(name: string): SqlFragment {
  return { sql: 'coalesce(octet_length(??::text), 0)', bindings: [name] };
}
