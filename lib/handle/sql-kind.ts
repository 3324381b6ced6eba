/** What a statement does, from its SQL text: enough to route it and to know whether it must be captured. */
export type SqlKind = 'read' | 'write' | 'control' | 'schema';

const LEADING = /^(?:\s+|--[^\n]*\n|#[^\n]*\n|\/\*[\s\S]*?\*\/|\()*/;
const READS = new Set(['select', 'show', 'explain', 'describe', 'desc', 'values', 'table', 'help']);
const WRITES = new Set([
  'insert',
  'update',
  'delete',
  'replace',
  'merge',
  'truncate',
  'load',
  'call',
  'handler',
  'do',
  'copy',
]);
const CONTROL = new Set([
  'begin',
  'start',
  'commit',
  'rollback',
  'savepoint',
  'release',
  'set',
  'xa',
  'reset',
  'discard',
]);
const WRITE_WORDS = /\b(insert|update|delete|merge|replace)\b/i;

export function sqlKind(sql: string): SqlKind {
  const text = sql.replace(LEADING, '');
  const word = /^[a-z]+/i.exec(text)?.[0]?.toLowerCase() ?? '';
  if (word === 'with') return WRITE_WORDS.test(text) ? 'write' : 'read';
  // `SELECT ... INTO` and `SELECT ... FOR UPDATE` still only read rows.
  if (READS.has(word)) return 'read';
  if (WRITES.has(word)) return 'write';
  if (CONTROL.has(word)) return 'control';
  return 'schema';
}

/** Whether a raw statement only reads (a `WITH` counts as a read unless it writes). */
export function isReadSql(sql: string): boolean {
  return sqlKind(sql) === 'read';
}

/** knex builder methods that write rows. */
const WRITE_METHODS = new Set(['insert', 'update', 'del', 'counter', 'truncate', 'upsert']);

/** What a compiled knex statement does: its method when it has one, else its SQL. */
export function statementKind(obj: { method?: string; sql: string }): SqlKind {
  if (obj.method && WRITE_METHODS.has(obj.method)) return 'write';
  if (obj.method && obj.method !== 'raw') return sqlKind(obj.sql) === 'write' ? 'write' : 'read';
  return sqlKind(obj.sql);
}
