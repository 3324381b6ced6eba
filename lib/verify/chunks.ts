import type { Knex } from 'knex';
import type { ColumnSchema, TableSchema } from '../schema/model.js';
import type { Side } from '../stage/stage.js';
import type { KeyTuple, Row, RowTranslator } from '../translate/types.js';

const TEXT_TYPES = new Set([
  'char',
  'varchar',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'character',
  'character varying',
  'bpchar',
]);

/**
 * SQL expression that orders one key column the same way on both servers. Text keys compare bytewise
 * (`<charset>_bin` / `"C"`): the servers' default collations sort differently, and chunk ranges must hold
 * the same keys on both sides. Numbers, uuids, binaries and dates already order alike, and so do UUID text
 * keys on MySQL (hex digits sort alike in every collation) — those keep their index-friendly plain form.
 */
export function keyExpression(
  side: Side,
  column: ColumnSchema | undefined,
  name: string,
  pgColumn?: ColumnSchema,
): { sql: string; ids: string[] } {
  if (!column || !TEXT_TYPES.has(column.dataType)) return { sql: '??', ids: [name] };
  if (pgColumn?.dataType === 'uuid') return { sql: '??', ids: [name] };
  if (side === 'postgres') return { sql: '?? COLLATE "C"', ids: [name] };
  // Already bytewise: no COLLATE, so the primary-key index still serves the range.
  if (column.collation?.endsWith('_bin')) return { sql: '??', ids: [name] };
  const charset = (column.charset ?? 'utf8mb4').replace(/[^a-z0-9]/gi, '');
  return { sql: `?? COLLATE ${charset}_bin`, ids: [name] };
}

export interface KeyOrder {
  exprs: { sql: string; ids: string[] }[];
}

/** Key ordering of `side`; `pgTable` tells which text keys PostgreSQL holds as uuid. */
export function keyOrder(
  side: Side,
  table: TableSchema | undefined,
  primaryKey: readonly string[],
  pgTable?: TableSchema,
): KeyOrder {
  return {
    exprs: primaryKey.map((name) =>
      keyExpression(
        side,
        table?.columns.find((c) => c.name === name),
        name,
        pgTable?.columns.find((c) => c.name === name),
      ),
    ),
  };
}

/** `(k1, k2) > (v1, v2)` expanded so each server can use the primary-key index range. */
function tupleClause(
  order: KeyOrder,
  values: readonly unknown[],
  op: '>' | '<=',
): { sql: string; bindings: unknown[] } {
  const parts: string[] = [];
  const bindings: unknown[] = [];
  const n = order.exprs.length;
  for (let i = 0; i < n; i++) {
    const terms: string[] = [];
    for (let j = 0; j < i; j++) {
      const e = order.exprs[j] as KeyOrder['exprs'][number];
      terms.push(`${e.sql} = ?`);
      bindings.push(...e.ids, values[j]);
    }
    const e = order.exprs[i] as KeyOrder['exprs'][number];
    terms.push(`${e.sql} ${op === '>' ? '>' : '<'} ?`);
    bindings.push(...e.ids, values[i]);
    parts.push(`(${terms.join(' AND ')})`);
  }
  if (op === '<=') {
    const terms = order.exprs.map((e, j) => {
      bindings.push(...e.ids, values[j]);
      return `${e.sql} = ?`;
    });
    parts.push(`(${terms.join(' AND ')})`);
  }
  return { sql: `(${parts.join(' OR ')})`, bindings };
}

export interface KeyRange {
  side: Side;
  translator: RowTranslator;
  order: KeyOrder;
  /** Exclusive lower bound (canonical key); none for the first chunk. */
  after: KeyTuple | undefined;
  /** Inclusive upper bound; none for the last chunk. */
  upTo: KeyTuple | undefined;
}

/** WHERE conditions (ANDed) selecting the keys of a range on its side. */
export function rangeClauses(r: KeyRange): { sql: string; bindings: unknown[] }[] {
  const out: { sql: string; bindings: unknown[] }[] = [];
  if (r.after) out.push(tupleClause(r.order, r.translator.keyForSide(r.after, r.side), '>'));
  if (r.upTo) out.push(tupleClause(r.order, r.translator.keyForSide(r.upTo, r.side), '<='));
  return out;
}

const orderBy = (order: KeyOrder): [string, string[]] => [
  order.exprs.map((e) => e.sql).join(', '),
  order.exprs.flatMap((e) => e.ids),
];

export interface ChunkQuery extends KeyRange {
  db: Knex;
  columns: readonly string[];
  limit: number | undefined;
}

/** Rows of one primary-key range on one side, in key order. */
export async function readChunk(q: ChunkQuery): Promise<Row[]> {
  const query = q.db(q.translator.table).select([...q.columns]);
  for (const c of rangeClauses(q)) query.whereRaw(c.sql, c.bindings as Knex.RawBinding[]);
  query.orderByRaw(...orderBy(q.order));
  if (q.limit !== undefined) query.limit(q.limit);
  return (await query) as Row[];
}

/**
 * The key `rows` rows after `after` in key order (the inclusive upper bound of a chunk of that many
 * rows), or undefined when fewer rows remain. Reads only the key columns. A key `usable` refuses (one
 * the other side cannot hold cannot bound a range there) is passed over for one of the next few; when
 * none of those will do either, undefined: the chunk runs to the end of the table.
 */
export async function chunkBound(
  q: Omit<KeyRange, 'upTo'> & { db: Knex; rows: number; usable?: (key: KeyTuple) => boolean },
): Promise<KeyTuple | undefined> {
  const query = q.db(q.translator.table).select([...q.translator.primaryKey]);
  for (const c of rangeClauses({ ...q, upTo: undefined }))
    query.whereRaw(c.sql, c.bindings as Knex.RawBinding[]);
  query.orderByRaw(...orderBy(q.order));
  const rows = (await query.limit(q.usable ? 16 : 1).offset(q.rows - 1)) as Row[];
  for (const row of rows) {
    const key = q.translator.canonicalKey(
      q.translator.primaryKey.map((c) => row[c]),
      q.side,
    );
    if (!q.usable || q.usable(key)) return key;
  }
  return undefined;
}
