import type { ColumnOverride } from '../config/schema.js';
import type { CanonicalForm, SqlFragment } from '../dialect/canonical.js';
import * as mysqlDigest from '../dialect/mysql/digest.js';
import * as pgDigest from '../dialect/postgres/digest.js';
import type { ColumnSchema, TableSchema } from '../schema/model.js';
import type { Side } from '../stage/stage.js';
import { isMysqlBoolean } from '../translate/codecs/select.js';
import type { RowTranslator } from '../translate/types.js';

/** How one compared column is checked: hashed inside both servers, or fetched and hashed in Node. */
export interface ColumnPath {
  column: string;
  path: 'database' | 'node';
  /** Why the column is hashed in Node. */
  reason?: string;
}

export interface DigestPlan {
  columns: ColumnPath[];
  /** Canonical text of each database-path column, per side, in the same order on both. */
  fields: Record<Side, SqlFragment[]>;
  /** Columns hashed in Node (normalised by the translator, as the row diff does). */
  nodeColumns: string[];
}

/** Translation family (codec kind) → canonical form, or why the values need Node's normalisation. */
function formFor(kind: string, m: ColumnSchema, p: ColumnSchema): CanonicalForm | { reason: string } {
  switch (kind) {
    case 'integer':
    case 'year':
      // The driver reads TINYINT(1) as a boolean, so Node compares it as 0/1 against PostgreSQL's integer.
      return isMysqlBoolean(m) ? { reason: 'TINYINT(1) kept as an integer on PostgreSQL' } : 'integer';
    case 'boolean':
      return 'boolean';
    case 'decimal':
      return m.scale !== null && m.scale === p.scale
        ? 'decimal'
        : { reason: `scale ${m.scale ?? '-'} against ${p.scale ?? 'unconstrained'} on PostgreSQL` };
    case 'double':
      return 'double';
    case 'float':
      return { reason: 'FLOAT compares at 6 significant digits' };
    case 'text':
      return m.dataType === 'char' || m.padSpace === true || p.padSpace === true ? 'padded-text' : 'text';
    case 'uuid':
    case 'enum':
    case 'set':
    case 'binary':
    case 'date':
    case 'time':
    case 'json':
      return kind;
    case 'bit':
      return 'bits';
    case 'datetime':
    case 'timestamp':
      return 'datetime';
    case 'geometry':
      return { reason: 'spatial values compare as parsed geometries' };
    default:
      return { reason: `no canonical text for ${m.columnType}` };
  }
}

export interface PlanInput {
  translator: RowTranslator;
  mysql: TableSchema | undefined;
  pg: TableSchema | undefined;
  flavour: 'mysql' | 'mariadb';
  /** Compared columns (ignoreInCompare ones already left out), in translator order. */
  columns: readonly string[];
  overrides: Readonly<Record<string, ColumnOverride | undefined>>;
}

/**
 * Decides per column whether both servers can render the same canonical text in SQL. A column takes
 * the database path only when both dialects can render its form, so equal text on both sides means
 * values Node's normalisation would also find equal; everything else is hashed in Node.
 */
export function planDigest(input: PlanInput): DigestPlan {
  const kinds = input.translator.columnKinds?.() ?? {};
  const plan: DigestPlan = { columns: [], fields: { mysql: [], postgres: [] }, nodeColumns: [] };
  const toNode = (column: string, reason: string): void => {
    plan.columns.push({ column, path: 'node', reason });
    plan.nodeColumns.push(column);
  };
  for (const column of input.columns) {
    const m = input.mysql?.columns.find((c) => c.name === column);
    const p = input.pg?.columns.find((c) => c.name === column);
    const kind = kinds[column];
    if (!m || !p || kind === undefined) {
      toNode(column, 'type unknown to the translator');
      continue;
    }
    const transform = input.overrides[column]?.transform;
    if (transform) {
      toNode(column, `the ${transform} transform is applied in Node`);
      continue;
    }
    const form = formFor(kind, m, p);
    if (typeof form !== 'string') {
      toNode(column, form.reason);
      continue;
    }
    const mysqlSql = mysqlDigest.canonicalText(form, m, input.flavour);
    const pgSql = pgDigest.canonicalText(form, p);
    if ('reason' in mysqlSql || 'reason' in pgSql) {
      toNode(column, 'reason' in mysqlSql ? mysqlSql.reason : (pgSql as { reason: string }).reason);
      continue;
    }
    plan.columns.push({ column, path: 'database' });
    plan.fields.mysql.push(mysqlSql.sql);
    plan.fields.postgres.push(pgSql.sql);
  }
  return plan;
}
