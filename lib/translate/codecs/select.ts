import { SPATIAL_TYPES } from '../../schema/types.js';
import { geometryCodec } from './geometry.js';
import { decimalCodec, floatCodec, intCodec } from './numeric.js';
import { binaryCodec, bitsCodec, boolCodec } from './binary.js';
import { enumCodec, setCodec } from './enum.js';
import { jsonCodec } from './json.js';
import { dateTimeCodec, timeCodec } from './temporal.js';
import { passthroughCodec, textCodec, uuidCodec } from './text.js';
import type { CodecContext, ColumnCodec } from './types.js';

const INT_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** Whether a MySQL column is a boolean in MySQL's own terms: TINYINT(1) / BOOLEAN or BIT(1). */
export function isMysqlBoolean(col: CodecContext['mysql']): boolean {
  return (
    (col.dataType === 'tinyint' && /^tinyint\(1\)/.test(col.columnType)) ||
    (col.dataType === 'bit' && col.length === 1)
  );
}

/** The codec of a column pair, chosen from the MySQL type and the PostgreSQL type it was converted to. */
export function codecFor(ctx: CodecContext): ColumnCodec {
  const { mysql, pg } = ctx;
  const t = mysql.dataType;
  if (mysql.isJson) return jsonCodec(ctx);
  if (pg.dataType === 'uuid' && TEXT_TYPES.has(t)) return uuidCodec(ctx);
  if (pg.dataType === 'boolean' || (isMysqlBoolean(mysql) && t === 'bit')) return boolCodec(ctx);
  if (isMysqlBoolean(mysql) && pg.dataType !== 'boolean') return intCodec(ctx); // TINYINT(1) kept numeric by override
  if (INT_TYPES.has(t)) return intCodec(ctx);
  if (t === 'decimal' || t === 'numeric') return decimalCodec(ctx);
  if (t === 'float' || t === 'double' || t === 'real') return floatCodec(ctx);
  if (t === 'bit') return bitsCodec(ctx);
  if (TEXT_TYPES.has(t)) return textCodec(ctx);
  if (BINARY_TYPES.has(t)) return binaryCodec(ctx);
  if (t === 'enum') return enumCodec(ctx);
  if (t === 'set') return setCodec(ctx);
  if (t === 'date' || t === 'datetime' || t === 'timestamp') return dateTimeCodec(ctx);
  if (t === 'time') return timeCodec(ctx);
  if (SPATIAL_TYPES.has(t)) return geometryCodec(ctx);
  return passthroughCodec(ctx);
}
