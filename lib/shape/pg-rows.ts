import type { ColumnSchema, TableSchema } from '../schema/model.js';
import type { RowTranslator } from '../translate/types.js';
import { computedSpec, tableColumnSpec } from './mysql-fields.js';
import {
  columnDefinition,
  parseRows,
  resultSetHeader,
  Types,
  type ColumnDefinition,
  type ConnectionConfig,
  type FieldSpec,
  type TextRow,
} from './mysql2-internals.js';

/** What shaping PostgreSQL's answers as MySQL's needs to know (see lib/handle/pg-shape-source). */
export interface ShapeSource {
  /** The MySQL column a PostgreSQL result column comes from (table OID, attribute number). */
  column(tableOid: number, attnum: number): { table: TableSchema; column: ColumnSchema } | undefined;
  table(name: string): TableSchema | undefined;
  translator(table: string): RowTranslator | undefined;
  /** MySQL database name (column definitions and messages name it). */
  readonly database: string;
  /** Collation id of the app connection's result character set. */
  readonly textCollation: number;
  /** MariaDB: JSON is LONGTEXT marked json in extended metadata; MySQL: its JSON type. */
  readonly mariadb: boolean;
  /** mysql2's configuration of the app's MySQL connection options. */
  readonly config: ConnectionConfig;
}

/** An aggregate the app's builder selected, so its result column is typed as MySQL types it. */
export interface AggregateHint {
  fn: string;
  /** Source column (table, column), when the aggregate is over one. */
  table?: string;
  column?: string;
}

export interface ShapeHints {
  /** PostgreSQL result column name → the name MySQL gives it (unaliased aggregates). */
  renames?: ReadonlyMap<string, string>;
  /** Result column name (MySQL's) → the aggregate behind it. */
  aggregates?: ReadonlyMap<string, AggregateHint>;
  /** The table an INSERT writes: its AUTO_INCREMENT column's first returned value is the insert id. */
  insertTable?: string;
}

export interface PgField {
  name: string;
  tableID: number;
  columnID: number;
  dataTypeID: number;
  dataTypeModifier: number;
}

export interface PgResult {
  command: string;
  rowCount: number | null;
  rows: unknown[][];
  fields: PgField[];
}

/** A value as MySQL's text protocol carries it. */
function wire(v: unknown): string | Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** A decimal's text with exactly `scale` fraction digits (half away from zero, as MySQL rounds). */
export function withScale(text: string, scale: number): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) return text;
  const [, sign, int = '0', frac = ''] = m;
  if (frac.length <= scale) return `${sign}${int || '0'}${scale > 0 ? `.${frac.padEnd(scale, '0')}` : ''}`;
  const digits = BigInt(`${int || '0'}${frac.slice(0, scale)}`) + (Number(frac[scale]) >= 5 ? 1n : 0n);
  const s = digits.toString().padStart(scale + 1, '0');
  const whole = scale > 0 ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s;
  return `${sign && digits !== 0n ? '-' : ''}${whole}`;
}

/** `YYYY-MM-DD HH:MM:SS[.f][+tz]` as MySQL's DATETIME text with `digits` fraction digits. */
function datetimeText(text: string, digits: number): string {
  const m = /^(\d{4,}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(?:\.(\d+))?/.exec(text);
  if (!m) return text;
  const frac = (m[2] ?? '').padEnd(digits, '0').slice(0, digits);
  return `${(m[1] as string).replace('T', ' ')}${digits > 0 ? `.${frac}` : ''}`;
}

/** Flags MIN/MAX keep of their column (the type's; not keys, defaults or NOT NULL). */
const KEPT_BY_AGGREGATES = 16 | 32 | 64 | 128 | 256 | 1024 | 2048 | 32768;

/** Scale MySQL gives SUM/AVG over a column (AVG adds div_precision_increment, 4). */
function aggregateSpec(hint: AggregateHint, name: string, source: ShapeSource): FieldSpec | undefined {
  const table = hint.table ? source.table(hint.table) : undefined;
  const col = table?.columns.find((c) => c.name === hint.column);
  const fn = hint.fn.toLowerCase();
  const base = { schema: '', table: '', orgTable: '', name, orgName: '', characterSet: 63, flags: 128 };
  if (fn.startsWith('count'))
    return { ...base, columnLength: 21, columnType: Types['LONGLONG']!, decimals: 0, flags: 129 };
  if (!col || !table) return undefined;
  if (fn === 'min' || fn === 'max') {
    const spec = tableColumnSpec(col, table, { schema: '', table: '', name }, source.textCollation);
    return { ...spec, orgTable: '', orgName: '', flags: spec.flags & KEPT_BY_AGGREGATES };
  }
  const float = col.dataType === 'float' || col.dataType === 'double' || col.dataType === 'real';
  if (float) return { ...base, columnLength: 23, columnType: Types['DOUBLE']!, decimals: 31 };
  const scale = col.dataType === 'decimal' ? (col.scale ?? 0) : 0;
  const decimals = fn.startsWith('avg') ? scale + 4 : scale;
  return { ...base, columnLength: 67, columnType: Types['NEWDECIMAL']!, decimals };
}

interface Resolved {
  spec: FieldSpec;
  /** Turns the PostgreSQL value (as dualwrite's type parsers read it) into MySQL's text. */
  text(v: unknown): string | Buffer | null;
  /** MariaDB JSON: mysql2 parses it when the extended metadata says so. */
  json?: boolean;
}

function resolve(field: PgField, name: string, source: ShapeSource, hints: ShapeHints): Resolved {
  const agg = hints.aggregates?.get(name);
  const origin = field.tableID ? source.column(field.tableID, field.columnID) : undefined;
  if (origin && !agg) {
    const { table, column } = origin;
    const spec = tableColumnSpec(
      column,
      table,
      { schema: source.database, table: table.name, name },
      source.textCollation,
    );
    const translator = source.translator(table.name);
    const decimals = spec.columnType === Types['NEWDECIMAL'] ? spec.decimals : undefined;
    return {
      spec,
      json: source.mariadb && column.isJson,
      text: (v) => {
        if (v === null || v === undefined) return null;
        let out: unknown = v;
        try {
          const translated = translator?.translate({ [column.name]: v }, 'postgres')[column.name];
          if (translated !== undefined) out = translated;
        } catch {
          // A value MySQL could not hold (infinity...): its PostgreSQL text.
        }
        const w = wire(out);
        // DECIMAL(p,s) text carries exactly s fraction digits, as MySQL sends it.
        return decimals !== undefined && typeof w === 'string' ? withScale(w, decimals) : w;
      },
    };
  }
  const spec =
    (agg && aggregateSpec(agg, name, source)) ??
    computedSpec(
      name,
      field.dataTypeID,
      field.dataTypeModifier,
      source.textCollation,
      source.mariadb ? 'text' : 'json',
    );
  const json = source.mariadb && (field.dataTypeID === 114 || field.dataTypeID === 3802);
  const type = spec.columnType;
  return {
    spec,
    json,
    text: (v) => {
      const w = wire(v);
      if (typeof w !== 'string') return w;
      if (type === Types['NEWDECIMAL']) return withScale(w, spec.decimals);
      if (type === Types['DATETIME'] || type === Types['TIMESTAMP']) return datetimeText(w, spec.decimals);
      return w;
    },
  };
}

/**
 * PostgreSQL's answer (rows as arrays) as mysql2 gives MySQL's to a query with these options:
 * `[rows, fields]` for a statement that returns rows, `[ResultSetHeader, undefined]` for one that does
 * not. `rowCount` is MySQL's affectedRows (mysql2 asks MySQL for found rows, as PostgreSQL counts).
 */
export function mysqlResponse(
  result: PgResult,
  options: Record<string, unknown>,
  source: ShapeSource,
  hints: ShapeHints = {},
): [unknown, unknown] {
  const fields = result.fields ?? [];
  const names = fields.map((f) => hints.renames?.get(f.name) ?? f.name);
  const write = /^(INSERT|UPDATE|DELETE|MERGE)$/.test(result.command);
  if (fields.length === 0 || write) {
    let insertId: number | string = 0;
    const ai = hints.insertTable
      ? source.table(hints.insertTable)?.columns.find((c) => c.autoIncrement)?.name
      : undefined;
    const at = ai ? names.indexOf(ai) : -1;
    const first = result.rows[0];
    if (result.command === 'INSERT' && at >= 0 && first) {
      const v = first[at];
      insertId = typeof v === 'number' ? v : Number(v);
    }
    const affected = result.rowCount ?? 0;
    return [
      resultSetHeader({
        fieldCount: 0,
        affectedRows: affected,
        insertId,
        info:
          result.command === 'UPDATE' ? `Rows matched: ${affected}  Changed: ${affected}  Warnings: 0` : '',
        serverStatus: 2,
        warningStatus: 0,
        changedRows: result.command === 'UPDATE' ? affected : 0,
      }),
      undefined,
    ];
  }
  const resolved = fields.map((f, i) => resolve(f, names[i] as string, source, hints));
  const defs: ColumnDefinition[] = resolved.map((r) => {
    const def = columnDefinition(r.spec);
    if (r.json) (def as unknown as { extendedFormat: string }).extendedFormat = 'json';
    return def;
  });
  const text: TextRow[] = result.rows.map((row) => row.map((v, i) => (resolved[i] as Resolved).text(v)));
  const queryOptions = { rowsAsArray: (source.config as { rowsAsArray?: boolean }).rowsAsArray, ...options };
  return [parseRows(defs, text, queryOptions, source.config), defs];
}

/** Converts rows one at a time (streams), for the fields PostgreSQL described. */
export function rowConverter(
  fields: readonly PgField[],
  options: Record<string, unknown>,
  source: ShapeSource,
  hints: ShapeHints = {},
): (row: unknown[]) => unknown {
  const names = fields.map((f) => hints.renames?.get(f.name) ?? f.name);
  const resolved = fields.map((f, i) => resolve(f, names[i] as string, source, hints));
  const defs = resolved.map((r) => {
    const def = columnDefinition(r.spec);
    if (r.json) (def as unknown as { extendedFormat: string }).extendedFormat = 'json';
    return def;
  });
  const queryOptions = { rowsAsArray: (source.config as { rowsAsArray?: boolean }).rowsAsArray, ...options };
  return (row) =>
    parseRows(defs, [row.map((v, i) => (resolved[i] as Resolved).text(v))], queryOptions, source.config)[0];
}
