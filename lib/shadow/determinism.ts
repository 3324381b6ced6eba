/**
 * Reads whose answer changes from one run to the next, or from one server to the other, whatever the data:
 * the clock, random values, session and server facts. Comparing them would only report noise.
 */
const VOLATILE_FUNCTIONS = [
  'now',
  'sysdate',
  'curdate',
  'curtime',
  'utc_timestamp',
  'utc_date',
  'utc_time',
  'clock_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'timeofday',
  'rand',
  'random',
  'uuid',
  'uuid_short',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v4',
  'sys_guid',
  'connection_id',
  'pg_backend_pid',
  'last_insert_id',
  'lastval',
  'nextval',
  'currval',
  'found_rows',
  'row_count',
  'version',
  'database',
  'current_database',
  'schema',
  'user',
  'session_user',
  'system_user',
  'inet_server_addr',
  'sleep',
  'pg_sleep',
];
/** SQL-standard forms written without parentheses. */
const VOLATILE_KEYWORDS = [
  'current_timestamp',
  'current_date',
  'current_time',
  'localtime',
  'localtimestamp',
  'current_user',
  'session_user',
];

const FUNCTION_RE = new RegExp(`\\b(${VOLATILE_FUNCTIONS.join('|')})\\s*\\(`, 'i');
const KEYWORD_RE = new RegExp(`\\b(${VOLATILE_KEYWORDS.join('|')})\\b`, 'i');
/** Server and session variables (`@@version`, `@var`). */
const VARIABLE_RE = /@@?[a-z_][\w.$]*/i;
/** `unix_timestamp()` without an argument reads the clock; with one it converts it. */
const UNIX_NOW_RE = /\bunix_timestamp\s*\(\s*\)/i;

/** SQL with string literals, quoted identifiers and comments blanked out: only the SQL's own words are left. */
function codeOnly(sql: string): string {
  return sql
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"|`(?:[^`]|``)*`/g, 'x');
}

/**
 * Why a read cannot be compared (`now()`, `current_timestamp`, `rand()`...), or null when its answer
 * depends on the data only.
 */
export function nonDeterministic(sql: string): string | null {
  const code = codeOnly(sql);
  const fn = FUNCTION_RE.exec(code);
  if (fn) return `${(fn[1] as string).toLowerCase()}()`;
  const kw = KEYWORD_RE.exec(code);
  if (kw) return (kw[1] as string).toLowerCase();
  if (UNIX_NOW_RE.test(code)) return 'unix_timestamp()';
  const v = VARIABLE_RE.exec(code);
  if (v) return v[0].toLowerCase();
  return null;
}

/**
 * A LIMIT (or OFFSET) without ORDER BY: each server picks its own rows. Only rows matched by key can be
 * compared then (each is re-read by key); a result without a key cannot.
 */
export function unorderedLimit(sql: string): boolean {
  const code = codeOnly(sql).toLowerCase();
  // An ORDER BY anywhere before the first LIMIT counts: a sub-query's order is not checked further.
  const limit = /\b(limit|offset|fetch\s+first)\b/.exec(code);
  if (!limit) return false;
  return !/\border\s+by\b/.test(code.slice(0, limit.index));
}
