import type { ColumnOverride } from '../config/schema.js';
import { convertDefault } from './defaults.js';
import type { ColumnSchema, DatabaseSchema, IndexSchema, TableSchema } from './model.js';
import { NameAllocator, quoteIdent, quoteLiteral } from './names.js';
import { chooseSyncKey, describeSyncKey, noSyncKeyMessage, type SyncKey } from './sync-key.js';
import { onUpdateFunctionDdl, onUpdateTriggerDdl } from './triggers.js';
import { convertColumnType, type ColumnTypeConversion } from './types.js';
import type { UuidColumns } from './uuid.js';
import { convertMysqlExpression, type ExpressionConversion } from './expression.js';

export interface ConvertOptions {
  /** Per-table options from the config (`tables[t].columns[c]`: type, uuid, zeroDate; `tables[t].key`). @default {} */
  tables?: Record<
    string,
    { columns?: Record<string, ColumnOverride | undefined>; key?: readonly string[] | undefined } | undefined
  >;
  /** `table.column` of CHAR(36)/VARCHAR(36) columns to convert to uuid (see detectUuidColumns). @default none */
  uuidColumns?: UuidColumns;
  /**
   * Enforce MySQL's case-insensitive uniqueness of `_ci` text columns with a unique index on `lower(col)`
   * (plus a plain index for lookups). Accent-insensitivity is not enforced. @default true
   */
  caseInsensitiveUniques?: boolean;
}

export interface ColumnReport {
  table: string;
  column: string;
  /** MySQL column type, e.g. `int(10) unsigned`. */
  from: string;
  /** PostgreSQL column type. */
  to: string;
  nullable: boolean;
  defaultFrom: string | null;
  defaultTo: string | null;
  warnings: string[];
}

export interface ConversionReport {
  tables: {
    name: string;
    columns: ColumnReport[];
    warnings: string[];
    /** The key its rows are synced by (`primary key (id)`, `unique key uq (a, b)`...), null when none. */
    syncKey: string | null;
  }[];
  /**
   * Tables no row of which can be synced (no primary key, no NOT NULL unique key, none declared), each
   * with the refusal and its remedies: listed before any data moves.
   */
  keyless: { table: string; reason: string }[];
  enumTypes: string[];
  /** Tables with an ON UPDATE CURRENT_TIMESTAMP trigger, with its columns. */
  updateTriggers: { table: string; trigger: string; columns: string[] }[];
  /** Views, procedures, functions and triggers of MySQL: listed, never converted or dropped silently. */
  notConverted: { kind: string; name: string; reason: string }[];
  warnings: string[];
}

export interface ConversionResult {
  /** DDL statements in the order they must run. */
  statements: string[];
  /** The statements as one script. */
  ddl: string;
  report: ConversionReport;
}

const CI_COLLATION = /_ci$|_ci_|^utf8mb4_0900_ai_ci$/i;

/** MySQL CHECK text → PostgreSQL: backtick identifiers become double-quoted ones. */

/** PostgreSQL column types a converted expression may read: the same operators and functions apply. */
const PLAIN_TYPES =
  /^(smallint|integer|bigint|numeric(\(.*\))?|real|double precision|text|varchar(\(\d+\))?|char(\(\d+\))?|jsonb|date|timestamp(\(\d\))?)$/;

/**
 * A MySQL generated column's expression for `GENERATED ALWAYS AS (…) STORED`, when it converts and
 * reads only columns whose PostgreSQL types keep their MySQL meaning (not booleans, enums, uuids...).
 */
function convertGenerated(
  expression: string,
  typeOf: (column: string) => string | undefined,
): ExpressionConversion {
  const referenced = [...expression.matchAll(/`((?:[^`]|``)+)`/g)].map((m) =>
    (m[1] as string).replace(/``/g, '`'),
  );
  const odd = referenced.find((c) => !PLAIN_TYPES.test(typeOf(c) ?? ''));
  if (odd !== undefined)
    return { error: `it reads ${odd}, whose PostgreSQL type is ${typeOf(odd) ?? 'unknown'}` };
  return convertMysqlExpression(expression);
}

/**
 * A converted generation expression made to yield the column's type: text into a bytea column (a
 * MySQL VARBINARY generated from JSON text, world_x's `_id`) becomes its UTF-8 bytes, as MySQL stores
 * them (`decode(…, 'escape')` with backslashes doubled: immutable, which a generated column needs).
 */
function generatedAs(sql: string, pgType: string): string {
  if (pgType !== 'bytea' || /\bbytea\b/.test(sql)) return sql;
  return `decode(replace((${sql})::text, '\\', '\\\\'), 'escape')`;
}

/**
 * Index elements: `lower(col)` for case-insensitive unique keys; MySQL prefix parts (`notes(100)`) as
 * `left(col, n)` (`substring` for bytea), which also keeps long values under btree's entry size limit.
 */
function indexColumnList(
  cols: readonly string[],
  lowerOf: ReadonlySet<string>,
  prefixes: readonly (number | null)[] = [],
  typeOf: (c: string) => string | undefined = () => undefined,
  expressions: readonly (string | null)[] = [],
): string {
  return cols
    .map((c, i) => {
      const functional = expressions[i];
      if (functional) {
        const converted = convertMysqlExpression(functional);
        if ('error' in converted) throw new Error(converted.error); // checked by convertIndexes first
        return `(${converted.sql})`;
      }
      const prefix = prefixes[i];
      let expr = quoteIdent(c);
      if (prefix) {
        expr = typeOf(c) === 'bytea' ? `substring(${expr} from 1 for ${prefix})` : `left(${expr}, ${prefix})`;
      }
      if (lowerOf.has(c)) expr = `lower(${expr})`;
      return expr === quoteIdent(c) ? expr : `(${expr})`;
    })
    .join(', ');
}

/**
 * Converts an introspected MySQL schema to PostgreSQL DDL: tables with their primary keys (kept, the
 * Syncer upserts ON CONFLICT (pk)), enum types, CHECKs keeping MySQL's ranges, defaults, comments,
 * indexes, unique keys, foreign keys with their actions and ON UPDATE CURRENT_TIMESTAMP triggers.
 */
export function convertSchema(mysql: DatabaseSchema, options: ConvertOptions = {}): ConversionResult {
  const names = new NameAllocator();
  for (const t of mysql.tables) names.reserve(t.name);
  const ciUniques = options.caseInsensitiveUniques ?? true;
  const uuid = options.uuidColumns ?? new Set<string>();

  const types: string[] = [];
  const tables: string[] = [];
  const comments: string[] = [];
  const indexes: string[] = [];
  const foreignKeys: string[] = [];
  const triggers: string[] = [];
  const report: ConversionReport = {
    tables: [],
    keyless: [],
    enumTypes: [],
    updateTriggers: [],
    notConverted: [],
    warnings: [],
  };
  const pgTypes = new Map<string, string>();

  for (const table of mysql.tables) {
    const syncKey = chooseSyncKey(table, options.tables?.[table.name]?.key);
    const tableReport = {
      name: table.name,
      columns: [] as ColumnReport[],
      warnings: [] as string[],
      syncKey: syncKey ? describeSyncKey(syncKey) : null,
    };
    report.tables.push(tableReport);
    const q = quoteIdent(table.name);
    const defs: string[] = [];
    const onUpdate: string[] = [];
    const columns = [...table.columns].sort((a, b) => a.position - b.position);
    // Every column's type first: a generated column's expression is checked against the types it reads.
    const conversions = new Map(
      columns.map((col) => {
        const conv = convertColumnType(col, {
          table: table.name,
          uuid: uuid.has(`${table.name}.${col.name}`),
          override: options.tables?.[table.name]?.columns?.[col.name],
          names,
        });
        pgTypes.set(`${table.name}.${col.name}`, conv.type);
        return [col.name, conv];
      }),
    );
    for (const col of columns) {
      const override = options.tables?.[table.name]?.columns?.[col.name];
      const conv = conversions.get(col.name) as ColumnTypeConversion;
      const warnings = [...conv.warnings];
      const generated = col.generated
        ? convertGenerated(col.generated, (c) => conversions.get(c)?.type)
        : undefined;
      if (col.generated) {
        warnings.push(
          'sql' in (generated ?? {})
            ? `generated column (${col.generated}) converted to GENERATED ALWAYS AS (…) STORED: PostgreSQL computes it`
            : `generated column (${col.generated}) converted to a plain column filled by sync (${(generated as { error: string }).error}); once PostgreSQL is authoritative its writes leave it NULL`,
        );
      }
      if (conv.enumType) {
        types.push(
          `CREATE TYPE ${quoteIdent(conv.enumType.name)} AS ENUM (${conv.enumType.values.map(quoteLiteral).join(', ')})`,
        );
        report.enumTypes.push(conv.enumType.name);
      }
      const def = convertDefault(col, conv.type);
      if (def.warning) warnings.push(def.warning);
      let notNull = !col.nullable;
      if (notNull && override?.zeroDate === 'null' && /^(date|datetime|timestamp)$/.test(col.dataType)) {
        notNull = false;
        warnings.push('NOT NULL dropped: zero dates are stored as NULL (zeroDate: null)');
      }
      let line = `${quoteIdent(col.name)} ${conv.type}`;
      if (conv.identity) line += ' GENERATED BY DEFAULT AS IDENTITY';
      if (generated && 'sql' in generated)
        line += ` GENERATED ALWAYS AS (${generatedAs(generated.sql, conv.type)}) STORED`;
      if (notNull) line += ' NOT NULL';
      if (def.expression !== null && !conv.identity && !(generated && 'sql' in generated))
        line += ` DEFAULT ${def.expression}`;
      defs.push(line);
      for (const check of conv.checks) {
        defs.push(
          `CONSTRAINT ${quoteIdent(names.allocate(`${table.name}_${col.name}_check`))} CHECK (${check})`,
        );
      }
      if (col.onUpdateCurrentTimestamp) onUpdate.push(col.name);
      if (col.comment)
        comments.push(`COMMENT ON COLUMN ${q}.${quoteIdent(col.name)} IS ${quoteLiteral(col.comment)}`);
      tableReport.columns.push({
        table: table.name,
        column: col.name,
        from: col.columnType + (col.autoIncrement ? ' auto_increment' : ''),
        to: conv.type + (conv.identity ? ' identity' : ''),
        nullable: !notNull,
        defaultFrom: col.defaultValue,
        defaultTo: conv.identity ? null : def.expression,
        warnings,
      });
    }
    if (table.primaryKey.length > 0) {
      defs.push(
        `CONSTRAINT ${quoteIdent(names.allocate(`${table.name}_pkey`))} PRIMARY KEY (${table.primaryKey.map(quoteIdent).join(', ')})`,
      );
    } else if (syncKey) {
      tableReport.warnings.push(`no primary key: rows are synced by ${describeSyncKey(syncKey)}`);
    } else {
      tableReport.warnings.push(noSyncKeyMessage(table.name));
      report.keyless.push({ table: table.name, reason: noSyncKeyMessage(table.name) });
    }
    for (const check of table.checks) {
      const converted = convertMysqlExpression(check.expression);
      if ('error' in converted) {
        tableReport.warnings.push(
          `CHECK ${check.name} (${check.expression}) not converted: ${converted.error}; enforce it in the app or add it by hand`,
        );
        continue;
      }
      defs.push(
        `CONSTRAINT ${quoteIdent(names.allocate(`${table.name}_${check.name}`))} CHECK (${converted.sql})`,
      );
      tableReport.warnings.push(`CHECK ${check.name} converted: ${check.expression} → ${converted.sql}`);
    }
    tables.push(`CREATE TABLE ${q} (\n  ${defs.join(',\n  ')}\n)`);
    if (table.comment) comments.push(`COMMENT ON TABLE ${q} IS ${quoteLiteral(table.comment)}`);

    indexes.push(...convertIndexes(table, names, pgTypes, ciUniques, mysql, tableReport.warnings, syncKey));

    for (const fk of table.foreignKeys) {
      foreignKeys.push(
        `ALTER TABLE ${q} ADD CONSTRAINT ${quoteIdent(names.allocate(fk.name))} FOREIGN KEY (${fk.columns.map(quoteIdent).join(', ')}) ` +
          `REFERENCES ${quoteIdent(fk.referencedTable)} (${fk.referencedColumns.map(quoteIdent).join(', ')}) ` +
          `ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`,
      );
    }
    if (onUpdate.length > 0) {
      const trigger = names.allocate(`${table.name}_on_update`);
      triggers.push(onUpdateTriggerDdl(table.name, trigger, onUpdate));
      report.updateTriggers.push({ table: table.name, trigger, columns: onUpdate });
    }
  }

  for (const o of mysql.otherObjects) {
    report.notConverted.push({
      kind: o.kind,
      name: o.name,
      reason: `MySQL ${o.kind} bodies are not translated; recreate it on PostgreSQL by hand`,
    });
  }
  if (report.notConverted.length > 0) {
    report.warnings.push(`${report.notConverted.length} views/procedures/functions/triggers not converted`);
  }
  const statements = [
    ...(triggers.length > 0 ? [onUpdateFunctionDdl()] : []),
    ...types,
    ...tables,
    ...comments,
    ...indexes,
    ...foreignKeys,
    ...triggers,
  ];
  return { statements, ddl: statements.map((s) => `${s};\n`).join('\n'), report };
}

function isCiText(col: ColumnSchema | undefined, pgType: string | undefined): boolean {
  return Boolean(
    col && col.collation && CI_COLLATION.test(col.collation) && pgType && /^(varchar|text)/.test(pgType),
  );
}

function convertIndexes(
  table: TableSchema,
  names: NameAllocator,
  pgTypes: ReadonlyMap<string, string>,
  ciUniques: boolean,
  mysql: DatabaseSchema,
  warnings: string[],
  syncKey: SyncKey | null,
): string[] {
  const out: string[] = [];
  const q = quoteIdent(table.name);
  // The unique key rows are synced by stays on the columns themselves: the Syncer's ON CONFLICT names them.
  const isSyncKey = (ix: IndexSchema): boolean =>
    syncKey !== null && syncKey.source !== 'primary' && ix.name === syncKey.index;
  // Unique keys other tables reference must stay plain: a foreign key needs a unique index on the columns themselves.
  const referenced = (ix: IndexSchema): boolean =>
    mysql.tables.some((t) =>
      t.foreignKeys.some(
        (fk) => fk.referencedTable === table.name && fk.referencedColumns.join() === ix.columns.join(),
      ),
    );
  for (const ix of [...table.uniqueKeys, ...table.indexes]) {
    const method = ix.method.toUpperCase();
    if (method === 'SPATIAL') {
      warnings.push(`SPATIAL index ${ix.name} not converted (no PostGIS)`);
      continue;
    }
    const unconvertible = (ix.expressions ?? [])
      .map((e) => (e ? convertMysqlExpression(e) : undefined))
      .find((c) => c !== undefined && 'error' in c);
    if (unconvertible && 'error' in unconvertible) {
      warnings.push(
        `functional ${ix.unique ? 'unique key' : 'index'} ${ix.name} (${ix.columns.join(', ')}) not converted: ${unconvertible.error}` +
          (ix.unique ? '; PostgreSQL does not enforce this uniqueness' : ''),
      );
      continue;
    }
    const name = names.allocate(`${table.name}_${ix.name}`);
    if (method === 'FULLTEXT') {
      const doc = ix.columns.map((c) => `coalesce(${quoteIdent(c)}, '')`).join(` || ' ' || `);
      out.push(
        `CREATE INDEX ${quoteIdent(name)} ON ${q} USING gin (to_tsvector('simple'::regconfig, ${doc}))`,
      );
      warnings.push(
        `FULLTEXT index ${ix.name} became a GIN index on to_tsvector('simple', …); MATCH … AGAINST queries need rewriting`,
      );
      continue;
    }
    const ci = new Set(
      ix.unique && ciUniques && !referenced(ix) && !isSyncKey(ix)
        ? ix.columns.filter((c) =>
            isCiText(
              table.columns.find((col) => col.name === c),
              pgTypes.get(`${table.name}.${c}`),
            ),
          )
        : [],
    );
    const typeOf = (c: string): string | undefined => pgTypes.get(`${table.name}.${c}`);
    out.push(
      `CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(name)} ON ${q} (${indexColumnList(ix.columns, ci, ix.prefixLengths, typeOf, ix.expressions)})`,
    );
    if (ci.size > 0) {
      out.push(
        `CREATE INDEX ${quoteIdent(names.allocate(`${name}_lookup`))} ON ${q} (${indexColumnList(ix.columns, new Set(), ix.prefixLengths, typeOf, ix.expressions)})`,
      );
      warnings.push(
        `unique key ${ix.name} is case-insensitive in MySQL: enforced on lower(${[...ci].join(', ')})`,
      );
    }
  }
  // A declared key no unique index matches gets one on PostgreSQL (ON CONFLICT needs it).
  if (syncKey?.source === 'declared' && syncKey.index === null) {
    const name = names.allocate(`${table.name}_dualwrite_key`);
    out.push(
      `CREATE UNIQUE INDEX ${quoteIdent(name)} ON ${q} (${syncKey.columns.map(quoteIdent).join(', ')})`,
    );
    warnings.push(
      `declared key (${syncKey.columns.join(', ')}) has no unique index in MySQL: unique index ${name} created`,
    );
  }
  return out;
}
