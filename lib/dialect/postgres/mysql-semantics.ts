/**
 * MySQL behaviour the app's builder calls rely on, kept when they run on PostgreSQL (see
 * docs/mysql-semantics.md): rewrites of one recorded builder call before it is replayed there.
 */

/** MySQL sorts NULL first ascending and last descending; PostgreSQL the other way round. */
function withMysqlNulls(args: readonly unknown[]): unknown[] {
  const [column, order, nulls] = args;
  if (Array.isArray(column)) {
    return [
      column.map((c: unknown) => {
        if (!c || typeof c !== 'object' || 'nulls' in c) return c;
        const o = String((c as { order?: string }).order ?? 'asc').toLowerCase();
        return { ...c, nulls: o === 'desc' ? 'last' : 'first' };
      }),
      ...args.slice(1),
    ];
  }
  if (nulls !== undefined || typeof column !== 'string') return [...args];
  const o = String(order ?? 'asc').toLowerCase();
  return [column, order ?? 'asc', o === 'desc' ? 'last' : 'first'];
}

/** One builder call as it must be replayed on PostgreSQL to answer as MySQL did. */
export function mysqlSemanticsCall(method: string, args: readonly unknown[]): unknown[] {
  if (method === 'orderBy') return withMysqlNulls(args);
  return [...args];
}
