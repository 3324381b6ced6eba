/**
 * Canonical text forms that both servers can render in SQL for verification digests. A form names
 * what equal values must look like on both sides (byte for byte, UTF-8); each dialect's `digest.ts`
 * renders it for its own column type, or says why it cannot.
 *
 * - `integer`: decimal digits, `-` for negatives.
 * - `boolean`: `1` / `0` (any non-zero integer is `1`).
 * - `decimal`: the server's text at the column's scale (both sides have the same scale).
 * - `double`: shortest round-trip digits, exponent without `+`.
 * - `text`: the characters as stored; `padded-text`: trailing spaces removed (CHAR, PAD SPACE).
 * - `uuid`: lower-case hyphenated; `enum`: the label; `set`: members joined by `,`.
 * - `binary`: lower-case hex; `bits`: `0`/`1` digits, padded to the column's bit count.
 * - `date`: `YYYY-MM-DD`; `datetime`: `YYYY-MM-DD HH:MM:SS[.f]` in UTC with trailing fraction zeros
 *   removed (the precision both sides hold); `time`: `[-]H..H:MM:SS[.f]`, fraction trimmed the same way.
 * - `json`: the server's serialisation of a parsed document (MySQL's binary JSON and jsonb print alike).
 */
export type CanonicalForm =
  | 'integer'
  | 'boolean'
  | 'decimal'
  | 'double'
  | 'text'
  | 'padded-text'
  | 'uuid'
  | 'enum'
  | 'set'
  | 'binary'
  | 'bits'
  | 'date'
  | 'datetime'
  | 'time'
  | 'json';

/** A piece of SQL with `??` identifier and `?` value placeholders, and their bindings in order. */
export interface SqlFragment {
  sql: string;
  bindings: unknown[];
}

/** A column's canonical text in SQL, or the reason it cannot be rendered on this side. */
export type CanonicalSql = { sql: SqlFragment } | { reason: string };
