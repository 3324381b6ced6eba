import type { CanonicalForm, CanonicalSql, SqlFragment } from '../canonical.js';
import type { ColumnSchema } from '../../schema/model.js';

/** Character sets whose bytes already are UTF-8 (utf8mb3 is a subset of utf8mb4). */
const UTF8_BYTES = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'ascii']);

const column = (c: ColumnSchema): SqlFragment => ({ sql: '??', bindings: [c.name] });

/** The column as utf8mb4 bytes: the digest hashes bytes, and PostgreSQL's text is UTF-8. */
function utf8(c: ColumnSchema): SqlFragment {
  if (c.charset === null || UTF8_BYTES.has(c.charset)) return column(c);
  return { sql: 'CONVERT(?? USING utf8mb4)', bindings: [c.name] };
}

const wrap = (f: SqlFragment, before: string, after: string): SqlFragment => ({
  sql: `${before}${f.sql}${after}`,
  bindings: f.bindings,
});

/** `1.500` → `1.5`, `10:00:00.000` → `10:00:00`, as PostgreSQL prints fractions; only for values with a fraction. */
const trimFraction = (f: SqlFragment): SqlFragment =>
  wrap(f, "TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ", '))');

/**
 * The canonical text of a MySQL/MariaDB column in SQL (see CanonicalForm). `flavour` matters for JSON:
 * MySQL stores it parsed (binary) and prints it as jsonb does; MariaDB keeps the text as written.
 * Relies on dualwrite's session settings (time_zone '+00:00').
 */
export function canonicalText(
  form: CanonicalForm,
  c: ColumnSchema,
  flavour: 'mysql' | 'mariadb',
): CanonicalSql {
  switch (form) {
    case 'integer':
    case 'decimal':
    case 'double':
    case 'date':
      return { sql: wrap(column(c), 'CAST(', ' AS CHAR)') };
    case 'boolean':
      return { sql: wrap(column(c), '(', ' <> 0)') };
    case 'text':
    case 'enum':
    case 'set':
      return { sql: utf8(c) };
    case 'padded-text':
      return { sql: wrap(utf8(c), 'RTRIM(', ')') };
    case 'uuid':
      return { sql: wrap(utf8(c), 'LOWER(', ')') };
    case 'binary':
      return { sql: wrap(column(c), 'LOWER(HEX(', '))') };
    case 'bits':
      if (c.length === null) return { reason: 'BIT without a length' };
      return { sql: { sql: `LPAD(BIN(??), ${Math.trunc(c.length)}, '0')`, bindings: [c.name] } };
    case 'datetime':
    case 'time':
      return { sql: (c.fsp ?? 0) > 0 ? trimFraction(column(c)) : wrap(column(c), 'CAST(', ' AS CHAR)') };
    case 'json':
      if (flavour === 'mariadb') return { reason: 'MariaDB keeps JSON as the text written, jsonb as parsed' };
      return { sql: wrap(column(c), 'CAST(', ' AS CHAR)') };
  }
}

/**
 * A signed 64-bit hash of one row: the fields joined by 0x00, NULL as 0xFF (neither byte occurs in
 * UTF-8 text PostgreSQL can hold, so equal bytes mean equal fields), SHA-256, first 8 bytes.
 */
export function rowHash(fields: readonly SqlFragment[]): SqlFragment {
  // As bytes: MySQL would otherwise try to read 0xFF as utf8mb4 when it meets a text field.
  const parts = fields.map((f) => `COALESCE(CONVERT(${f.sql} USING binary), CHAR(255))`);
  return {
    sql: `CAST(CONV(LEFT(SHA2(CONCAT_WS(CHAR(0), ${parts.join(', ')}), 256), 16), 16, -10) AS SIGNED)`,
    bindings: fields.flatMap((f) => f.bindings),
  };
}

/** Bytes of a column's text (sizes chunks to the row width). */
export function textBytes(name: string): SqlFragment {
  return { sql: 'COALESCE(LENGTH(??), 0)', bindings: [name] };
}
