import type { Knex } from 'knex';
import { parse as parsePgArray } from 'postgres-array';
import { isMetaTable } from '../../meta/tables.js';
import { num, str, type RawRow } from '../../schema/raw.js';
import type {
  ColumnSchema,
  DatabaseSchema,
  ForeignKeySchema,
  IndexSchema,
  TableSchema,
} from '../../schema/model.js';

async function rows(knex: Knex, sql: string, bindings: readonly unknown[] = []): Promise<RawRow[]> {
  const result = (await knex.raw(sql, bindings as Knex.RawBinding[])) as { rows: RawRow[] };
  return result.rows;
}

const textArray = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : parsePgArray(str(v)));

const FK_ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** Base type names as information_schema spells them, shortened to the names used in DDL. */
const DATA_TYPES: Record<string, string> = {
  'character varying': 'varchar',
  character: 'char',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  'double precision': 'double precision',
  'bit varying': 'varbit',
};

/** Reads the PostgreSQL schema of the connection's current schema (normally `public`). dualwrite_* tables are left out. */
export async function introspectPostgres(knex: Knex, schemaName?: string): Promise<DatabaseSchema> {
  const [info] = await rows(knex, 'SELECT version() AS version, current_schema() AS schema_name');
  const serverVersion = str(info?.['version']);
  const schema = schemaName ?? str(info?.['schema_name']);

  const tableRows = await rows(
    knex,
    `SELECT c.relname AS name, c.relkind AS kind, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relname`,
    [schema],
  );
  const columnRows = await rows(
    knex,
    `SELECT c.table_name AS tbl, c.column_name AS name, c.ordinal_position AS pos, c.data_type AS "dataType",
            c.udt_name AS udt, format_type(a.atttypid, a.atttypmod) AS "columnType", c.is_nullable AS nullable,
            c.column_default AS def, c.is_identity AS "isIdentity", c.character_maximum_length AS "charLength",
            c.numeric_precision AS "numPrecision", c.numeric_scale AS "numScale",
            c.datetime_precision AS fsp, c.collation_name AS collation, c.generation_expression AS generation_expr,
            col_description(a.attrelid, a.attnum) AS comment, t.typtype AS typtype,
            et.typname AS "elemType", et.typtype AS "elemTyptype",
            (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
              WHERE e.enumtypid = CASE WHEN t.typtype = 'e' THEN t.oid ELSE et.oid END) AS labels
       FROM information_schema.columns c
       JOIN pg_namespace n ON n.nspname = c.table_schema
       JOIN pg_class r ON r.relname = c.table_name AND r.relnamespace = n.oid
       JOIN pg_attribute a ON a.attrelid = r.oid AND a.attname = c.column_name
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
      WHERE c.table_schema = ? ORDER BY c.table_name, c.ordinal_position`,
    [schema],
  );
  const indexRows = await rows(
    knex,
    `SELECT t.relname AS tbl, i.relname AS name, ix.indisunique AS "unique", ix.indisprimary AS "primary",
            am.amname AS method,
            ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k + 1, true) FROM generate_subscripts(ix.indkey, 1) k
                   ORDER BY k) AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_am am ON am.oid = i.relam
      WHERE n.nspname = ? ORDER BY t.relname, i.relname`,
    [schema],
  );
  const constraintRows = await rows(
    knex,
    `SELECT t.relname AS tbl, con.conname AS name, con.contype AS type, pg_get_constraintdef(con.oid, true) AS def,
            rt.relname AS "refTable", con.confdeltype AS "onDelete", con.confupdtype AS "onUpdate",
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS cols,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS "refCols"
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_class rt ON rt.oid = con.confrelid
      WHERE n.nspname = ? AND con.contype IN ('f', 'c') ORDER BY t.relname, con.conname`,
    [schema],
  );

  const tables: TableSchema[] = [];
  const otherObjects: DatabaseSchema['otherObjects'] = [];
  for (const t of tableRows) {
    const name = str(t['name']);
    if (isMetaTable(name)) continue;
    if (str(t['kind']) === 'v' || str(t['kind']) === 'm') {
      otherObjects.push({ kind: 'view', name });
      continue;
    }
    const columns: ColumnSchema[] = columnRows
      .filter((c) => str(c['tbl']) === name)
      .map((c) => {
        const infoType = str(c['dataType']);
        const typtype = str(c['typtype']);
        const isArray = infoType === 'ARRAY';
        let dataType = DATA_TYPES[infoType] ?? infoType;
        if (typtype === 'e') dataType = 'enum';
        else if (isArray) dataType = 'array';
        else if (infoType === 'USER-DEFINED') dataType = str(c['udt']);
        const labels = c['labels'] === null || c['labels'] === undefined ? null : textArray(c['labels']);
        const def = c['def'] === null ? null : str(c['def']);
        const isBit = dataType === 'bit' || dataType === 'varbit';
        return {
          name: str(c['name']),
          position: Number(c['pos']),
          dataType,
          columnType: str(c['columnType']),
          nullable: str(c['nullable']) === 'YES',
          defaultValue: def,
          autoIncrement: str(c['isIdentity']) === 'YES' || /^nextval\(/.test(def ?? ''),
          onUpdateCurrentTimestamp: false,
          unsigned: false,
          length: num(c['charLength']),
          precision: isBit ? null : num(c['numPrecision']),
          scale: num(c['numScale']),
          fsp: /^(timestamp|timestamptz|time|timetz|interval)$/.test(dataType) ? num(c['fsp']) : null,
          enumValues: labels,
          charset: null,
          collation: c['collation'] === null ? null : str(c['collation']),
          comment: c['comment'] === null ? null : str(c['comment']),
          isJson: dataType === 'json' || dataType === 'jsonb',
          padSpace: dataType === 'char',
          generated: c['generation_expr'] === null ? null : str(c['generation_expr']) || null,
          udtName: typtype === 'e' ? str(c['udt']) : isArray ? str(c['elemType']) : null,
        } satisfies ColumnSchema;
      });

    let primaryKey: string[] = [];
    const uniqueKeys: IndexSchema[] = [];
    const indexes: IndexSchema[] = [];
    for (const ix of indexRows.filter((r) => str(r['tbl']) === name)) {
      const cols = textArray(ix['columns']);
      if (ix['primary'] === true) {
        primaryKey = cols;
        continue;
      }
      const entry: IndexSchema = {
        name: str(ix['name']),
        columns: cols,
        unique: ix['unique'] === true,
        method: str(ix['method']),
      };
      (entry.unique ? uniqueKeys : indexes).push(entry);
    }

    const foreignKeys: ForeignKeySchema[] = [];
    const checks: TableSchema['checks'] = [];
    for (const con of constraintRows.filter((r) => str(r['tbl']) === name)) {
      if (str(con['type']) === 'f') {
        foreignKeys.push({
          name: str(con['name']),
          columns: textArray(con['cols']),
          referencedTable: str(con['refTable']),
          referencedColumns: textArray(con['refCols']),
          onDelete: FK_ACTIONS[str(con['onDelete'])] ?? 'NO ACTION',
          onUpdate: FK_ACTIONS[str(con['onUpdate'])] ?? 'NO ACTION',
        });
      } else {
        checks.push({ name: str(con['name']), expression: str(con['def']) });
      }
    }

    tables.push({
      name,
      columns,
      primaryKey,
      uniqueKeys,
      indexes,
      foreignKeys,
      checks,
      comment: t['comment'] === null ? null : str(t['comment']),
      engine: null,
      collation: null,
    });
  }

  for (const r of await rows(
    knex,
    `SELECT p.proname AS name, p.prokind AS kind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ? ORDER BY p.proname`,
    [schema],
  )) {
    otherObjects.push({ kind: str(r['kind']) === 'p' ? 'procedure' : 'function', name: str(r['name']) });
  }
  for (const r of await rows(
    knex,
    `SELECT tg.tgname AS name FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ? AND NOT tg.tgisinternal ORDER BY tg.tgname`,
    [schema],
  )) {
    otherObjects.push({ kind: 'trigger', name: str(r['name']) });
  }

  return { dialect: 'postgres', serverVersion, tables, otherObjects };
}
