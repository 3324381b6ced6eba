import type { Knex } from 'knex';
import { rowsOf } from '../backfill/keys.js';
import type { SqlFragment } from '../dialect/canonical.js';
import * as mysqlDigest from '../dialect/mysql/digest.js';
import * as pgDigest from '../dialect/postgres/digest.js';
import { canonicalJson } from '../shadow/canonical.js';
import { normalizeRow } from '../shadow/compare.js';
import { keyText } from '../shadow/keys.js';
import type { Side } from '../stage/stage.js';
import type { Row } from '../translate/types.js';
import { rangeClauses, type KeyRange } from './chunks.js';
import type { DigestPlan } from './columns.js';
import { keyOf, rowsDigest } from './entries.js';

const DIALECTS = { mysql: mysqlDigest, postgres: pgDigest } as const;

/** What one side holds in a key range: its rows and the exact sum of their in-database row hashes. */
export interface ChunkDigest {
  rows: number;
  /** Sum of the row hashes as decimal text; null without rows or without database-path columns. */
  hash: string | null;
  /** Digest of the Node-path columns (key + those columns, normalised); null when there are none. */
  node: string | null;
}

const where = (range: KeyRange): string => {
  const clauses = rangeClauses(range);
  return clauses.length > 0 ? ` WHERE ${clauses.map((c) => c.sql).join(' AND ')}` : '';
};
const whereBindings = (range: KeyRange): unknown[] => rangeClauses(range).flatMap((c) => c.bindings);

function rowHash(range: KeyRange, plan: DigestPlan): SqlFragment | null {
  const fields = plan.fields[range.side];
  return fields.length > 0 ? DIALECTS[range.side].rowHash(fields) : null;
}

async function query(db: Knex, sql: string, bindings: unknown[]): Promise<Row[]> {
  return rowsOf(await db.raw(sql, bindings as Knex.RawBinding[]));
}

/** Key columns plus the Node-path columns that are not part of the key. */
const nodeRead = (range: KeyRange, plan: DigestPlan): string[] => {
  const keys = range.translator.primaryKey;
  return [...keys, ...plan.nodeColumns.filter((c) => !keys.includes(c))];
};

/** Digests one side's rows of `range`: the database-path columns inside the server, the others in Node. */
export async function digestRange(
  db: Knex,
  range: KeyRange,
  plan: DigestPlan,
  ignore: ReadonlySet<string>,
): Promise<ChunkDigest> {
  const hash = rowHash(range, plan);
  const inDatabase = query(
    db,
    `SELECT COUNT(*) AS n, ${hash ? `SUM(${hash.sql})` : 'NULL'} AS h FROM ??${where(range)}`,
    [...(hash?.bindings ?? []), range.translator.table, ...whereBindings(range)],
  ).then(([row]) => ({
    rows: Number(row?.['n'] ?? 0),
    hash: row?.['h'] === null || row?.['h'] === undefined ? null : String(row['h']),
  }));
  if (plan.nodeColumns.length === 0) return { ...(await inDatabase), node: null };
  // Summed, not sorted: any row order will do.
  const read = db(range.translator.table).select(nodeRead(range, plan));
  for (const c of rangeClauses(range)) read.whereRaw(c.sql, c.bindings as Knex.RawBinding[]);
  const nodeRows = read.then((rows) => rows as Row[]);
  const [counted, rows] = await Promise.all([inDatabase, nodeRows]);
  return { ...counted, node: rowsDigest(range.translator, rows, range.side, ignore) };
}

/**
 * Every row of a range as keyText → its in-database row hash (plus its normalised Node-path columns):
 * for a chunk whose digests differ, the rows whose hashes differ are the only ones worth fetching.
 */
export async function rowDigests(
  db: Knex,
  range: KeyRange,
  plan: DigestPlan,
  ignore: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const hash = rowHash(range, plan);
  const columns = nodeRead(range, plan);
  const rows = await query(
    db,
    `SELECT ${columns.map(() => '??').join(', ')}, ${hash ? hash.sql : 'NULL'} AS dw_h FROM ??${where(range)}`,
    [...columns, ...(hash?.bindings ?? []), range.translator.table, ...whereBindings(range)],
  );
  const out = new Map<string, string>();
  for (const row of rows) {
    const h = String(row['dw_h'] ?? '');
    const node =
      plan.nodeColumns.length > 0
        ? canonicalJson(normalizeRow(range.translator, row, range.side, ignore))
        : '';
    out.set(keyText(keyOf(range.translator, row, range.side)), `${h}|${node}`);
  }
  return out;
}

/** Average text bytes of a row of `columns` over a small sample (null for an empty table). */
export async function sampleRowWidth(
  db: Knex,
  side: Side,
  table: string,
  columns: readonly string[],
): Promise<number | null> {
  if (columns.length === 0) return null;
  const bytes = columns.map((c) => DIALECTS[side].textBytes(c));
  const [row] = await query(
    db,
    `SELECT AVG(${bytes.map((b) => b.sql).join(' + ')}) AS w FROM (SELECT ${columns.map(() => '??').join(', ')} FROM ?? LIMIT 1000) s`,
    [...bytes.flatMap((b) => b.bindings), ...columns, table],
  );
  const w = row?.['w'];
  return w === null || w === undefined ? null : Number(w);
}
