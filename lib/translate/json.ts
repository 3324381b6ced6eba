/**
 * A small lossless JSON reader used for validation and canonical comparison. Numbers keep their digits
 * (no rounding above 2^53), duplicate keys keep the last value (as jsonb does), and problems PostgreSQL's
 * jsonb would reject (`\u0000`, lone surrogates) are reported, so both sides' JSON text can be compared
 * whatever order and spacing each database stores.
 */

export type JsonNode =
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'num'; v: string }
  | { t: 'str'; v: string }
  | { t: 'arr'; v: JsonNode[] }
  | { t: 'obj'; v: Map<string, JsonNode> };

export class JsonTextError extends Error {
  constructor(
    message: string,
    /** `nul` for a `\u0000` escape (valid JSON that jsonb rejects), `syntax` otherwise. */
    readonly kind: 'syntax' | 'nul',
  ) {
    super(message);
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);

export function parseJsonLossless(text: string): JsonNode {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonTextError(`${what} at position ${i}`, 'syntax');
  };
  const skip = (): void => {
    while (i < text.length && WS.has(text[i] as string)) i++;
  };
  const parseString = (): string => {
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const ch = text[i] as string;
      if (ch === '"') {
        i++;
        break;
      }
      if (ch < ' ') fail('control character in string');
      if (ch !== '\\') {
        const code = ch.charCodeAt(0);
        if (code >= 0xd800 && code <= 0xdbff) {
          const next = text.charCodeAt(i + 1);
          if (!(next >= 0xdc00 && next <= 0xdfff)) fail('lone surrogate');
          out += ch + text[i + 1];
          i += 2;
          continue;
        }
        if (code >= 0xdc00 && code <= 0xdfff) fail('lone surrogate');
        out += ch;
        i++;
        continue;
      }
      const esc = text[i + 1];
      i += 2;
      switch (esc) {
        case '"':
        case '\\':
        case '/':
          out += esc;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad unicode escape');
          const code = parseInt(hex, 16);
          i += 4;
          if (code === 0) throw new JsonTextError('\\u0000 in a JSON string', 'nul');
          if (code >= 0xd800 && code <= 0xdbff) {
            const low = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(text.slice(i, i + 6));
            if (!low) fail('lone surrogate');
            out += String.fromCharCode(code, parseInt((low as RegExpExecArray)[1] as string, 16));
            i += 6;
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            fail('lone surrogate');
          } else {
            out += String.fromCharCode(code);
          }
          break;
        }
        default:
          fail('bad escape');
      }
    }
    return out;
  };
  const parseValue = (): JsonNode => {
    skip();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const map = new Map<string, JsonNode>();
      skip();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', v: map };
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail('expected a key');
        const key = parseString();
        skip();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        map.delete(key); // the last duplicate wins, in the last position
        map.set(key, parseValue());
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { t: 'obj', v: map };
        }
        fail('expected "," or "}"');
      }
    }
    if (ch === '[') {
      i++;
      const items: JsonNode[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', v: items };
      }
      for (;;) {
        items.push(parseValue());
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { t: 'arr', v: items };
        }
        fail('expected "," or "]"');
      }
    }
    if (ch === '"') return { t: 'str', v: parseString() };
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 1000));
    if (m && m[0].length > 0) {
      i += m[0].length;
      return { t: 'num', v: m[0] };
    }
    for (const [word, node] of [
      ['true', { t: 'bool', v: true }],
      ['false', { t: 'bool', v: false }],
      ['null', { t: 'null' }],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return node;
      }
    }
    return fail('unexpected token');
  };
  const value = parseValue();
  skip();
  if (i !== text.length) fail('trailing characters');
  return value;
}

/** A JSON number's digits as a plain decimal string: no exponent, no superfluous zeros (`1.50e1` → `15`). */
export function canonicalNumber(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const sign = m[1] as string;
  let digits = (m[2] as string) + (m[3] ?? '');
  let point = (m[2] as string).length + Number(m[4] ?? 0);
  if (point > 400 || point < -400) return text.toLowerCase(); // absurd exponents: keep as written
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  let intPart = digits.slice(0, point).replace(/^0+/, '') || '0';
  const frac = digits.slice(point).replace(/0+$/, '');
  if (intPart === '') intPart = '0';
  const body = frac ? `${intPart}.${frac}` : intPart;
  return body === '0' ? '0' : sign + body;
}

/**
 * How JSON numbers are held. `exact`: as written (jsonb, MariaDB's text JSON). `mysql-binary`: as MySQL's
 * binary JSON type holds them — integers within the 64-bit ranges exactly, every other number as a
 * double (`12345678901234567890123` → `1.2345678901234568e22`, `1.50` → `1.5`).
 */
export type JsonNumbers = 'exact' | 'mysql-binary';

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** A JSON number as `numbers` holds it, in canonical decimal form. */
export function heldNumber(text: string, numbers: JsonNumbers): string {
  if (numbers === 'exact') return canonicalNumber(text);
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    if (n >= INT64_MIN && n <= UINT64_MAX) return canonicalNumber(text);
  }
  const double = Number(text);
  return Number.isFinite(double) ? canonicalNumber(String(double)) : canonicalNumber(text);
}

/** Whether a document holds a number that `numbers` cannot hold as written. */
export function losesNumbers(node: JsonNode, numbers: JsonNumbers): boolean {
  if (numbers === 'exact') return false;
  switch (node.t) {
    case 'num':
      return heldNumber(node.v, numbers) !== canonicalNumber(node.v);
    case 'arr':
      return node.v.some((n) => losesNumbers(n, numbers));
    case 'obj':
      return [...node.v.values()].some((n) => losesNumbers(n, numbers));
    default:
      return false;
  }
}

/** Canonical text of a JSON value: keys sorted, no spaces, numbers in canonical decimal form. */
export function canonicalJson(node: JsonNode, numbers: JsonNumbers = 'exact'): string {
  switch (node.t) {
    case 'null':
      return 'null';
    case 'bool':
      return node.v ? 'true' : 'false';
    case 'num':
      return heldNumber(node.v, numbers);
    case 'str':
      return JSON.stringify(node.v);
    case 'arr':
      return `[${node.v.map((n) => canonicalJson(n, numbers)).join(',')}]`;
    case 'obj':
      return `{${[...node.v.keys()]
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalJson(node.v.get(k) as JsonNode, numbers)}`)
        .join(',')}}`;
  }
}
