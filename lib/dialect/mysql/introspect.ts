import type { Knex } from 'knex';
import { isMetaTable } from '../../meta/tables.js';
import { num, str, type RawRow } from '../../schema/raw.js';
import type {
  CheckSchema,
  ColumnSchema,
  DatabaseSchema,
  ForeignKeySchema,
  IndexSchema,
  TableSchema,
} from '../../schema/model.js';

async function rows(knex: Knex, sql: string, bindings: readonly unknown[] = []): Promise<RawRow[]> {
  const result = (await knex.raw(sql, bindings as Knex.RawBinding[])) as [RawRow[], unknown];
  return result[0];
}

/** Members of `enum('a','b''c')` / `set(...)` in declaration order. */
export function parseEnumMembers(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const body = columnType.slice(open + 1, columnType.lastIndexOf(')'));
  const members: string[] = [];
  let i = 0;
  while (i < body.length) {
    if (body[i] !== "'") {
      i++;
      continue;
    }
    let value = '';
    i++;
    while (i < body.length) {
      const ch = body[i] as string;
      if (ch === "'" && body[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (ch === '\\' && i + 1 < body.length) {
        value += body[i + 1];
        i += 2;
      } else if (ch === "'") {
        i++;
        break;
      } else {
        value += ch;
        i++;
      }
    }
    members.push(value);
  }
  return members;
}

const NUMERIC_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'year',
  'bit',
]);

/**
 * The default as one SQL expression in MariaDB's style: literals quoted (`'abc'`), numbers bare,
 * functions as written (`current_timestamp(6)`); null when the column has no default or defaults to NULL.
 * MySQL 8 reports string literals unquoted and marks expressions with DEFAULT_GENERATED.
 */
function normalizeDefault(
  raw: unknown,
  flavor: 'mysql' | 'mariadb',
  dataType: string,
  extra: string,
): string | null {
  if (raw === null || raw === undefined) return null;
  const value = String(raw);
  if (flavor === 'mariadb') return value === 'NULL' ? null : value;
  if (/^current_timestamp/i.test(value)) return value.toLowerCase();
  if (/DEFAULT_GENERATED/i.test(extra)) return value;
  if (NUMERIC_TYPES.has(dataType) || /^b'[01]*'$/.test(value)) return value;
  return `'${value.replace(/'/g, "''")}'`;
}

/** `(a > 0)` → `a > 0`: MySQL wraps CHECK clauses in one pair of parentheses, MariaDB does not. */
export function stripOuterParentheses(expression: string): string {
  const e = expression.trim();
  if (!e.startsWith('(') || !e.endsWith(')')) return e;
  let depth = 0;
  for (let i = 0; i < e.length; i++) {
    if (e[i] === '(') depth++;
    else if (e[i] === ')') depth--;
    // The first parenthesis closes before the end: `(a) + (b)` is not wrapped.
    if (depth === 0 && i < e.length - 1) return e;
  }
  return e.slice(1, -1).trim();
}

/** Whether a collation ignores trailing spaces. MariaDB marks NO PAD collations by name; MySQL 8 reports it. */
function padSpaceOf(collation: string | null, padAttributes: Map<string, boolean>): boolean {
  if (!collation) return false;
  const known = padAttributes.get(collation);
  if (known !== undefined) return known;
  return !/nopad/i.test(collation);
}

/** Reads a MySQL 8 or MariaDB database's schema from information_schema. dualwrite_* tables are left out. */
export async function introspectMysql(knex: Knex, database?: string): Promise<DatabaseSchema> {
  const [info] = await rows(knex, 'SELECT VERSION() AS version, DATABASE() AS db');
  const serverVersion = str(info?.['version']);
  const flavor: 'mysql' | 'mariadb' = /mariadb/i.test(serverVersion) ? 'mariadb' : 'mysql';
  const schema = database ?? str(info?.['db']);

  const padAttributes = new Map<string, boolean>();
  if (flavor === 'mysql') {
    for (const r of await rows(
      knex,
      'SELECT COLLATION_NAME AS name, PAD_ATTRIBUTE AS pad FROM information_schema.COLLATIONS',
    )) {
      padAttributes.set(str(r['name']), str(r['pad']) === 'PAD SPACE');
    }
  }

  const tableRows = await rows(
    knex,
    `SELECT TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine, TABLE_COMMENT AS comment,
            TABLE_COLLATION AS collation
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`,
    [schema],
  );
  const columnRows = await rows(
    knex,
    `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, ORDINAL_POSITION AS pos, DATA_TYPE AS dataType,
            COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS def, EXTRA AS extra,
            CHARACTER_MAXIMUM_LENGTH AS charLength, NUMERIC_PRECISION AS numPrecision,
            NUMERIC_SCALE AS numScale, DATETIME_PRECISION AS fsp, CHARACTER_SET_NAME AS charset,
            COLLATION_NAME AS collation, COLUMN_COMMENT AS comment, GENERATION_EXPRESSION AS generationExpr
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [schema],
  );
  const indexRows = await rows(
    knex,
    `SELECT TABLE_NAME AS tbl, INDEX_NAME AS name, NON_UNIQUE AS nonUnique, SEQ_IN_INDEX AS seq,
            COLUMN_NAME AS col, INDEX_TYPE AS method, SUB_PART AS prefix${
              // Functional key parts (MySQL 8.0.13+): no column, the expression instead. MariaDB has none.
              flavor === 'mysql' ? ', EXPRESSION AS expr' : ''
            }
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [schema],
  );
  const fkRows = await rows(
    knex,
    `SELECT k.TABLE_NAME AS tbl, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col,
            k.REFERENCED_TABLE_NAME AS refTable, k.REFERENCED_COLUMN_NAME AS refCol,
            r.UPDATE_RULE AS onUpdate, r.DELETE_RULE AS onDelete
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
        AND r.TABLE_NAME = k.TABLE_NAME
      WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
      ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [schema],
  );
  const checkRows =
    flavor === 'mariadb'
      ? await rows(
          knex,
          `SELECT TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS expr, LEVEL AS level
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?
            ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
          [schema],
        )
      : await rows(
          knex,
          `SELECT t.TABLE_NAME AS tbl, c.CONSTRAINT_NAME AS name, c.CHECK_CLAUSE AS expr, 'Table' AS level
             FROM information_schema.CHECK_CONSTRAINTS c
             JOIN information_schema.TABLE_CONSTRAINTS t
               ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME
              AND t.CONSTRAINT_TYPE = 'CHECK'
            WHERE c.CONSTRAINT_SCHEMA = ? ORDER BY t.TABLE_NAME, c.CONSTRAINT_NAME`,
          [schema],
        );

  const tables: TableSchema[] = [];
  const otherObjects: DatabaseSchema['otherObjects'] = [];
  for (const t of tableRows) {
    const name = str(t['name']);
    if (isMetaTable(name)) continue;
    if (str(t['type']) === 'VIEW') {
      otherObjects.push({ kind: 'view', name });
      continue;
    }
    const checksOfTable = checkRows.filter((c) => str(c['tbl']) === name);
    const jsonValid = new Set<string>();
    const checks: CheckSchema[] = [];
    for (const c of checksOfTable) {
      const expr = stripOuterParentheses(str(c['expr']));
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(expr.trim());
      if (m) jsonValid.add((m[1] as string).replace(/``/g, '`'));
      else checks.push({ name: str(c['name']), expression: expr });
    }
    const columns: ColumnSchema[] = columnRows
      .filter((c) => str(c['tbl']) === name)
      .map((c) => {
        const dataType = str(c['dataType']).toLowerCase();
        const columnType = str(c['columnType']).toLowerCase();
        const extra = str(c['extra']);
        const colName = str(c['name']);
        const collation = c['collation'] === null ? null : str(c['collation']);
        const isText = /char|text/.test(dataType);
        const generatedExpr = str(c['generationExpr']);
        const isJson = dataType === 'json' || (dataType === 'longtext' && jsonValid.has(colName));
        return {
          name: colName,
          position: Number(c['pos']),
          dataType,
          columnType,
          nullable: str(c['nullable']) === 'YES',
          defaultValue: normalizeDefault(c['def'], flavor, dataType, extra),
          autoIncrement: /auto_increment/i.test(extra),
          onUpdateCurrentTimestamp: /on update current_timestamp/i.test(extra),
          unsigned: /\bunsigned\b/.test(columnType),
          length: dataType === 'bit' ? num(c['numPrecision']) : num(c['charLength']),
          precision: dataType === 'bit' ? null : num(c['numPrecision']),
          scale: num(c['numScale']),
          fsp: num(c['fsp']),
          enumValues:
            dataType === 'enum' || dataType === 'set' ? parseEnumMembers(str(c['columnType'])) : null,
          charset: c['charset'] === null ? null : str(c['charset']),
          collation,
          comment: str(c['comment']) || null,
          isJson,
          padSpace: isText && !isJson && padSpaceOf(collation, padAttributes),
          generated:
            /GENERATED|VIRTUAL|STORED|PERSISTENT/i.test(extra) && generatedExpr ? generatedExpr : null,
        } satisfies ColumnSchema;
      });

    const byIndex = new Map<
      string,
      {
        unique: boolean;
        method: string;
        columns: string[];
        prefixLengths: (number | null)[];
        expressions: (string | null)[];
      }
    >();
    for (const ix of indexRows.filter((r) => str(r['tbl']) === name)) {
      const ixName = str(ix['name']);
      const entry = byIndex.get(ixName) ?? {
        unique: Number(ix['nonUnique']) === 0,
        method: str(ix['method']),
        columns: [],
        prefixLengths: [],
        expressions: [],
      };
      const expression = ix['col'] === null && ix['expr'] ? str(ix['expr']) : null;
      entry.columns.push(expression ?? str(ix['col']));
      entry.prefixLengths.push(num(ix['prefix']));
      entry.expressions.push(expression);
      byIndex.set(ixName, entry);
    }
    const primaryKey = byIndex.get('PRIMARY')?.columns ?? [];
    const uniqueKeys: IndexSchema[] = [];
    const indexes: IndexSchema[] = [];
    for (const [ixName, { prefixLengths, expressions, ...ix }] of byIndex) {
      if (ixName === 'PRIMARY') continue;
      const entry: IndexSchema = { name: ixName, ...ix };
      if (prefixLengths.some((p) => p !== null)) entry.prefixLengths = prefixLengths;
      if (expressions.some((e) => e !== null)) entry.expressions = expressions;
      (ix.unique ? uniqueKeys : indexes).push(entry);
    }

    const fks = new Map<string, ForeignKeySchema>();
    for (const fk of fkRows.filter((r) => str(r['tbl']) === name)) {
      const fkName = str(fk['name']);
      const entry = fks.get(fkName) ?? {
        name: fkName,
        columns: [],
        referencedTable: str(fk['refTable']),
        referencedColumns: [],
        onDelete: str(fk['onDelete']),
        onUpdate: str(fk['onUpdate']),
      };
      entry.columns.push(str(fk['col']));
      entry.referencedColumns.push(str(fk['refCol']));
      fks.set(fkName, entry);
    }

    tables.push({
      name,
      columns,
      primaryKey,
      uniqueKeys,
      indexes,
      foreignKeys: [...fks.values()],
      checks,
      comment: str(t['comment']) || null,
      engine: t['engine'] === null ? null : str(t['engine']),
      collation: t['collation'] === null ? null : str(t['collation']),
    });
  }

  for (const r of await rows(
    knex,
    `SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES
      WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME`,
    [schema],
  )) {
    otherObjects.push({
      kind: str(r['type']) === 'FUNCTION' ? 'function' : 'procedure',
      name: str(r['name']),
    });
  }
  for (const r of await rows(
    knex,
    `SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME`,
    [schema],
  )) {
    const trigger = str(r['name']);
    // Triggers dualwrite installs itself (trigger capture) are not the application's objects.
    if (!trigger.startsWith('dualwrite_')) otherObjects.push({ kind: 'trigger', name: trigger });
  }

  return { dialect: 'mysql', flavor, serverVersion, tables, otherObjects };
}
