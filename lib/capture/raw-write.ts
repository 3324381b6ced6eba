import mysqlSqlParser from 'node-sql-parser/build/mysql.js';
import { DualWriteError, ErrorCode } from '../errors.js';

const parser = new mysqlSqlParser.Parser();
const MYSQL = { database: 'MySQL' };

/** How the keys of a raw write are found (the statement is the app's MySQL SQL with `?` placeholders). */
export type RawWritePlan =
  /** The statement names the key of every row it inserts. */
  | { kind: 'keys'; table: string; keys: unknown[][] }
  /** A one-row insert whose single key column is generated: the key is the insert id. */
  | { kind: 'generated'; table: string }
  /**
   * An update or delete: `select` (run first, locking) finds the keys of the rows it touches; `moved`
   * are the new values of key columns the update sets (a moved row's new key is synced too).
   */
  | {
      kind: 'lookup';
      table: string;
      select: { sql: string; bindings: unknown[] };
      moved: Record<string, unknown>;
    };

interface Node {
  type?: string;
  value?: unknown;
  [k: string]: unknown;
}

function refuse(sql: string, why: string, table?: string): never {
  throw new DualWriteError(
    ErrorCode.UncapturedWrite,
    `raw write cannot be captured (${why}); declare its keys with db.raw(sql, bindings, { table, keys }) or use trigger capture: ${sql.slice(0, 100)}`,
    { table },
  );
}

/** `?` placeholders in a sub-tree, in statement order. */
function placeholders(node: unknown): number {
  if (!node || typeof node !== 'object') return 0;
  if (Array.isArray(node)) return node.reduce((n: number, v) => n + placeholders(v), 0);
  const n = node as Node;
  if (n.type === 'origin' && n.value === '?') return 1;
  return Object.values(n).reduce((sum: number, v) => sum + placeholders(v), 0);
}

/** The value of a VALUES/SET item when it is a plain value: a literal, or a placeholder's binding. */
function plainValue(
  node: Node,
  bindings: readonly unknown[],
  next: () => number,
): { ok: boolean; value?: unknown } {
  if (node.type === 'origin' && node.value === '?') return { ok: true, value: bindings[next()] };
  if (node.type === 'number' || node.type === 'single_quote_string' || node.type === 'double_quote_string') {
    return { ok: true, value: node.value };
  }
  if (node.type === 'null') return { ok: true, value: null };
  return { ok: false };
}

function tableOf(node: unknown): { table: string; as: string | null; join?: unknown } | undefined {
  const list = node as { table: string; as: string | null; join?: unknown; db?: string | null }[] | null;
  if (!list || list.length !== 1 || list[0]?.join) return undefined;
  return list[0];
}

/**
 * Reads what a raw INSERT, UPDATE or DELETE writes, so it can be captured like a builder's write.
 * Forms whose keys cannot be known (INSERT ... SELECT, REPLACE, multi-table statements, a generated key
 * over several rows, key columns set to expressions) are refused with a typed error before they run.
 */
export function planRawWrite(
  sql: string,
  bindings: readonly unknown[],
  primaryKeyOf: (table: string) => readonly string[] | undefined,
  otherUniqueKeysOf: (table: string) => readonly (readonly string[])[] | undefined,
): RawWritePlan {
  let ast: Node | Node[];
  try {
    ast = parser.astify(sql, MYSQL) as unknown as Node | Node[];
  } catch {
    return refuse(sql, 'its SQL could not be read');
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) return refuse(sql, 'several statements');
    ast = ast[0] as Node;
  }
  const type = ast.type;
  const target = tableOf(type === 'delete' ? (ast['from'] ?? ast['table']) : ast['table']);
  if (!target) return refuse(sql, 'not a single-table statement');
  const table = target.table;
  const pk = primaryKeyOf(table);
  if (!pk || pk.length === 0) return refuse(sql, `table ${table} is not synced by key`, table);
  if (ast['with']) return refuse(sql, 'a WITH clause', table);

  if (type === 'insert') {
    const values = ast['values'] as { type?: string; values?: { value: Node[] }[] } | undefined;
    const columns = ast['columns'] as string[] | null;
    if (values?.type !== 'values' || !values.values) return refuse(sql, 'INSERT ... SELECT', table);
    if (!columns) return refuse(sql, 'an INSERT without a column list', table);
    if (ast['on_duplicate_update'] && (otherUniqueKeysOf(table)?.length ?? 1) > 0) {
      return refuse(sql, 'an upsert on a table with other unique keys', table);
    }
    let index = 0;
    const next = (): number => index++;
    const keys: unknown[][] = [];
    let missing = false;
    for (const row of values.values) {
      const key: unknown[] = new Array<unknown>(pk.length);
      let found = 0;
      row.value.forEach((item, i) => {
        const col = columns[i];
        const at = col === undefined ? -1 : pk.indexOf(col);
        if (at < 0) {
          index += placeholders(item);
          return;
        }
        const v = plainValue(item, bindings, next);
        if (!v.ok) refuse(sql, `key column ${col} is an expression`, table);
        key[at] = v.value;
        found++;
      });
      if (found < pk.length) missing = true;
      keys.push(key);
    }
    if (!missing) return { kind: 'keys', table, keys };
    if (keys.length === 1 && pk.length === 1) return { kind: 'generated', table };
    return refuse(sql, 'generated keys of several rows', table);
  }

  if (type === 'update' || type === 'delete') {
    if (type === 'delete' && tableOf(ast['table']) === undefined && ast['table']) {
      return refuse(sql, 'a multi-table DELETE', table);
    }
    const set = (ast['set'] ?? []) as { column: string; value: Node }[];
    let index = 0;
    const next = (): number => index++;
    const moved: Record<string, unknown> = {};
    for (const item of set) {
      if (pk.includes(item.column)) {
        const v = plainValue(item.value, bindings, next);
        if (!v.ok) return refuse(sql, `key column ${item.column} set to an expression`, table);
        moved[item.column] = v.value;
      } else {
        index += placeholders(item.value);
      }
    }
    const qualifier = target.as ?? table;
    const select = {
      type: 'select',
      columns: pk.map((c) => ({ expr: { type: 'column_ref', table: qualifier, column: c }, as: c })),
      from: [{ db: null, table, as: target.as }],
      where: ast['where'] ?? null,
      orderby: ast['orderby'] ?? null,
      limit: ast['limit'] ?? null,
    };
    const selectSql = `${parser.sqlify(select as never, MYSQL)} FOR UPDATE`;
    return { kind: 'lookup', table, select: { sql: selectSql, bindings: bindings.slice(index) }, moved };
  }
  return refuse(sql, `a ${String(type)} statement`, table);
}

/** The table a raw INSERT/UPDATE/DELETE writes, when it names exactly one. */
export function rawWriteTable(sql: string): string | undefined {
  try {
    const tables = parser.tableList(sql, MYSQL).filter((t) => !t.startsWith('select::'));
    if (tables.length !== 1) return undefined;
    return tables[0]?.split('::')[2];
  } catch {
    return undefined;
  }
}
