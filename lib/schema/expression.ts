import { quoteIdent, quoteLiteral } from './names.js';

/**
 * Converts the SQL expressions MySQL reports for CHECK constraints and functional key parts
 * (information_schema, e.g. ``(`email` like _utf8mb4\'%@%\')``, ``lower(`email`)``) to PostgreSQL.
 * Only what has a faithful PostgreSQL form is converted; anything else is refused with a reason, so the
 * schema conversion can report it instead of emitting DDL PostgreSQL rejects or that means something else.
 */
export type ExpressionConversion = { sql: string } | { error: string };

type Token =
  | { t: 'ident'; v: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: string }
  | { t: 'word'; v: string }
  | { t: 'op'; v: string }
  | { t: '(' | ')' | ',' };

type Node =
  | { k: 'tok'; tok: Token }
  | { k: 'call'; name: string; args: Node[][] }
  /** Parentheses: one expression, or a list (`IN (a, b)`). */
  | { k: 'group'; items: Node[][] };

class Unconvertible extends Error {}

/** Reads one string literal starting at `i` (`'…'` or the `\'…\'` form information_schema shows). */
function readString(text: string, start: number): { value: string; end: number } {
  const escapedQuotes = text.startsWith("\\'", start);
  let i = start + (escapedQuotes ? 2 : 1);
  let value = '';
  while (i < text.length) {
    if (escapedQuotes && text.startsWith("\\'", i)) return { value, end: i + 2 };
    const ch = text[i] as string;
    if (!escapedQuotes && ch === "'") {
      if (text[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    if (ch === '\\' && i + 1 < text.length) {
      const next = text[i + 1] as string;
      value += ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[next] ?? next;
      i += 2;
      continue;
    }
    value += ch;
    i++;
  }
  throw new Unconvertible('unterminated string literal');
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new Unconvertible('unterminated identifier');
      out.push({ t: 'ident', v: text.slice(i + 1, end) });
      i = end + 1;
    } else if (ch === "'" || text.startsWith("\\'", i)) {
      const { value, end } = readString(text, i);
      out.push({ t: 'str', v: value });
      i = end;
    } else if (/[0-9.]/.test(ch)) {
      const m = /^\d*\.?\d+(?:e[+-]?\d+)?/i.exec(text.slice(i));
      if (!m) throw new Unconvertible(`unexpected '${ch}'`);
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_$]/.test(ch)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(text.slice(i)) as RegExpExecArray;
      i += m[0].length;
      // A charset introducer (`_utf8mb4'x'`): PostgreSQL text has one encoding.
      if (/^_(utf8|utf8mb[34]|latin1|ascii)$/i.test(m[0]) && (text[i] === "'" || text.startsWith("\\'", i)))
        continue;
      out.push({ t: 'word', v: m[0] });
    } else if (ch === '(' || ch === ')' || ch === ',') {
      out.push({ t: ch });
      i++;
    } else {
      const m = /^(<=>|<>|!=|<=|>=|\|\||&&|[-+*/%=<>!])/.exec(text.slice(i));
      if (!m) throw new Unconvertible(`unexpected '${ch}'`);
      out.push({ t: 'op', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/** MySQL functions whose PostgreSQL namesake behaves the same (and is immutable, for indexes). */
const SAME_FUNCTIONS = new Set([
  'lower',
  'upper',
  'trim',
  'ltrim',
  'rtrim',
  'left',
  'right',
  'substr',
  'substring',
  'char_length',
  'character_length',
  'abs',
  'coalesce',
  'nullif',
  'round',
  'floor',
  'ceil',
  'greatest',
  'least',
  'md5',
]);
const RENAMED_FUNCTIONS: Record<string, string> = {
  length: 'octet_length', // MySQL's length() counts bytes
  ifnull: 'coalesce',
  lcase: 'lower',
  ucase: 'upper',
  ceiling: 'ceil',
};
/** Bare words passed through: operators and literals both languages spell alike. */
const SAME_WORDS = new Set([
  'and',
  'or',
  'not',
  'is',
  'null',
  'true',
  'false',
  'in',
  'between',
  'like',
  'escape',
  'case',
  'when',
  'then',
  'else',
  'end',
]);
const RENAMED_WORDS: Record<string, string> = { regexp: '~', rlike: '~', div: '/', mod: '%' };

function parse(tokens: Token[]): Node[] {
  let i = 0;
  const list = (): Node[][] => {
    const items: Node[][] = [];
    if (tokens[i]?.t === ')') return items;
    items.push(sequence());
    while (tokens[i]?.t === ',') {
      i++;
      items.push(sequence());
    }
    return items;
  };
  const sequence = (): Node[] => {
    const items: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i] as Token;
      if (tok.t === ')' || tok.t === ',') break;
      i++;
      if (tok.t === '(') {
        items.push({ k: 'group', items: list() });
        if (tokens[i++]?.t !== ')') throw new Unconvertible('unbalanced parentheses');
      } else if (tok.t === 'word' && tokens[i]?.t === '(' && !SAME_WORDS.has(tok.v.toLowerCase())) {
        i++;
        const args = list();
        if (tokens[i++]?.t !== ')') throw new Unconvertible(`unbalanced parentheses in ${tok.v}()`);
        items.push({ k: 'call', name: tok.v.toLowerCase(), args });
      } else {
        items.push({ k: 'tok', tok });
      }
    }
    return items;
  };
  const nodes = sequence();
  if (i !== tokens.length) throw new Unconvertible('unexpected token');
  return nodes;
}

/** `char(20) charset utf8mb4` / `unsigned` / `decimal(10,2)` after CAST's AS → a PostgreSQL type. */
function castType(nodes: Node[]): string {
  const words = nodes
    .filter((n): n is { k: 'tok'; tok: Token } => n.k === 'tok')
    .map((n) => ('v' in n.tok ? n.tok.v.toLowerCase() : ''));
  const sizes = nodes.flatMap((n) =>
    n.k === 'call' || n.k === 'group'
      ? (n.k === 'call' ? n.args : n.items).map((a) => a.map(render).join(' '))
      : [],
  );
  const call = nodes.find((n) => n.k === 'call') as { name: string } | undefined;
  const base = call?.name ?? words[0];
  switch (base) {
    case 'char':
    case 'varchar':
    case 'nchar':
      return sizes.length > 0 ? `varchar(${sizes.join(',')})` : 'text';
    case 'signed':
    case 'unsigned':
      return 'bigint';
    case 'decimal':
      return sizes.length > 0 ? `numeric(${sizes.join(',')})` : 'numeric';
    case 'date':
      return 'date';
    case 'datetime':
      return 'timestamp';
    case 'time':
      return 'interval';
    case 'json':
      return 'jsonb';
    case 'double':
    case 'real':
      return 'double precision';
    case 'float':
      return 'real';
    case 'binary':
      return 'bytea';
    default:
      throw new Unconvertible(`CAST to ${base ?? '?'} has no PostgreSQL counterpart here`);
  }
}

/** `$.a.b` / `$.a[0]` → a PostgreSQL text[] path literal. */
function jsonPath(arg: Node[]): string {
  const tok = arg.length === 1 && arg[0]?.k === 'tok' ? arg[0].tok : undefined;
  if (tok?.t !== 'str') throw new Unconvertible('JSON path is not a literal');
  const m = /^\$((?:\.[A-Za-z_][\w]*|\[\d+\])*)$/.exec(tok.v);
  if (!m) throw new Unconvertible(`JSON path ${tok.v} has no PostgreSQL counterpart here`);
  const parts = [...(m[1] as string).matchAll(/\.([A-Za-z_]\w*)|\[(\d+)\]/g)].map((p) => p[1] ?? p[2]);
  return quoteLiteral(`{${parts.join(',')}}`);
}

function renderCall(name: string, args: Node[][]): string {
  const list = (): string => args.map((a) => a.map(render).join(' ')).join(', ');
  if (SAME_FUNCTIONS.has(name)) return `${name}(${list()})`;
  const renamed = RENAMED_FUNCTIONS[name];
  if (renamed) return `${renamed}(${list()})`;
  if (name === 'substring_index' && args.length === 3) {
    // Only the first or last part has a PostgreSQL form: split_part(s, d, 1 | -1).
    const count = (args[2] as Node[])
      .map(render)
      .join('')
      .replace(/[\s()]/g, '');
    if (count === '1' || count === '-1') {
      return `split_part(${(args[0] as Node[]).map(render).join(' ')}, ${(args[1] as Node[]).map(render).join(' ')}, ${count})`;
    }
    throw new Unconvertible(`substring_index() with count ${count}`);
  }
  if (name === 'cast' && args.length === 1) {
    const seq = args[0] as Node[];
    const as = seq.findIndex((n) => n.k === 'tok' && n.tok.t === 'word' && n.tok.v.toLowerCase() === 'as');
    if (as < 0) throw new Unconvertible('CAST without AS');
    return `CAST(${seq.slice(0, as).map(render).join(' ')} AS ${castType(seq.slice(as + 1))})`;
  }
  if (name === 'json_extract' && args.length === 2) {
    return `(${(args[0] as Node[]).map(render).join(' ')} #> ${jsonPath(args[1] as Node[])})`;
  }
  if (name === 'json_unquote' && args.length === 1) {
    const inner = (args[0] as Node[])[0];
    if (
      args[0]?.length === 1 &&
      inner?.k === 'call' &&
      inner.name === 'json_extract' &&
      inner.args.length === 2
    ) {
      return `(${(inner.args[0] as Node[]).map(render).join(' ')} #>> ${jsonPath(inner.args[1] as Node[])})`;
    }
  }
  throw new Unconvertible(`function ${name}() has no PostgreSQL counterpart here`);
}

function render(node: Node): string {
  if (node.k === 'group') return `(${node.items.map((e) => e.map(render).join(' ')).join(', ')})`;
  if (node.k === 'call') return renderCall(node.name, node.args);
  const tok = node.tok;
  switch (tok.t) {
    case 'ident':
      return quoteIdent(tok.v);
    case 'str':
      return quoteLiteral(tok.v);
    case 'num':
      return tok.v;
    case 'op':
      if (tok.v === '<=>') throw new Unconvertible('the null-safe <=> operator');
      if (tok.v === '&&') return 'AND';
      if (tok.v === '||') return 'OR'; // MySQL's || is OR unless PIPES_AS_CONCAT
      return tok.v;
    case 'word': {
      const w = tok.v.toLowerCase();
      if (SAME_WORDS.has(w)) return w.toUpperCase();
      const renamed = RENAMED_WORDS[w];
      if (renamed) return renamed;
      throw new Unconvertible(`'${tok.v}' has no PostgreSQL counterpart here`);
    }
    default:
      throw new Unconvertible('unexpected token');
  }
}

/** A MySQL expression as PostgreSQL SQL, or why it cannot be converted faithfully. */
export function convertMysqlExpression(expression: string): ExpressionConversion {
  try {
    return { sql: parse(tokenize(expression)).map(render).join(' ') };
  } catch (error) {
    if (error instanceof Unconvertible) return { error: error.message };
    throw error;
  }
}
