import { ValueProblem } from '../../errors.js';
import { canonicalJson, JsonTextError, losesNumbers, parseJsonLossless, type JsonNumbers } from '../json.js';
import { reject } from '../problem.js';
import type { CodecContext, ColumnCodec } from './types.js';

function jsonText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  // Objects from a driver that parsed JSON itself (dualwrite's connections never do).
  return JSON.stringify(v) ?? 'null';
}

/** A UTF-16 surrogate not part of a pair (text that did not come from UTF-8). */
const LONE_SURROGATE = /\p{Cs}/u;
/** Any surrogate code unit: a cheap scan that rules out the precise check for most text. */
const ANY_SURROGATE = /[\ud800-\udfff]/;

/**
 * Validates JSON text for jsonb: syntax, `\u0000`, lone surrogates. jsonb keeps numbers exact (numeric),
 * so the text itself goes to PostgreSQL; only its validity is checked here. Text without `\u` escapes
 * and without lone surrogates can hold neither problem: the native parser checks its syntax (the same
 * JSON grammar), which is far cheaper than the lossless reader; anything else takes the lossless reader.
 */
export function checkJsonForPg(text: string): string {
  if (!text.includes('\\u') && !(ANY_SURROGATE.test(text) && LONE_SURROGATE.test(text))) {
    try {
      JSON.parse(text);
      return text;
    } catch {
      // Not JSON: the lossless reader below says where, with the same problem code.
    }
  }
  try {
    parseJsonLossless(text);
  } catch (error) {
    if (error instanceof JsonTextError && error.kind === 'nul') {
      reject(ValueProblem.JsonNulEscape, 'jsonb cannot hold \\u0000');
    }
    reject(ValueProblem.InvalidJson, `invalid JSON: ${(error as Error).message}`);
  }
  return text;
}

/**
 * Canonical text of JSON (sorted keys, numbers as `numbers` holds them, last duplicate wins); the raw
 * text when it is not JSON.
 */
export function normalizeJson(v: unknown, numbers: JsonNumbers = 'exact'): string {
  const text = jsonText(v);
  try {
    return canonicalJson(parseJsonLossless(text), numbers);
  } catch {
    return text;
  }
}

/**
 * JSON text for jsonb holding the numbers as the MySQL side holds them, so both databases keep the same
 * document: unchanged unless a number would be rounded by MySQL's binary JSON.
 */
function heldByMysql(text: string, numbers: JsonNumbers): string {
  if (numbers === 'exact') return text;
  try {
    const node = parseJsonLossless(text);
    return losesNumbers(node, numbers) ? canonicalJson(node, numbers) : text;
  } catch {
    return text; // not JSON: checkJsonForPg says why
  }
}

/**
 * JSON (MySQL) / LONGTEXT+json_valid (MariaDB) ↔ jsonb. The text is passed as is; comparisons use the
 * lossless canonical form. MySQL's binary JSON holds numbers beyond 64-bit integers as doubles: such
 * columns compare numbers as MySQL holds them, and app writes to PostgreSQL are rounded the same way,
 * so both sides keep one document. App writes: a string is JSON text, anything else is serialised.
 */
export function jsonCodec(ctx: CodecContext): ColumnCodec {
  // MariaDB reports its JSON as longtext; only MySQL's own type is binary.
  const numbers: JsonNumbers = ctx.mysql.dataType === 'json' ? 'mysql-binary' : 'exact';
  return {
    kind: 'json',
    toPg: (v) => checkJsonForPg(jsonText(v)),
    toMysql: (v) => jsonText(v),
    normalize: (v) => normalizeJson(v, numbers),
    toApp: (v) => {
      const text = jsonText(v);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    },
    prepare: (v, side) => {
      const text = typeof v === 'string' || Buffer.isBuffer(v) ? jsonText(v) : (JSON.stringify(v) ?? 'null');
      return side === 'postgres' ? checkJsonForPg(heldByMysql(text, numbers)) : text;
    },
  };
}
