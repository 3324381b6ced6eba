/**
 * A JSON image of whatever an operation returned, precise about what an app can observe: JS types
 * (Date, Buffer, number vs string, bigint), key order of rows, class names of result objects, and
 * for errors the fields apps switch on (code, errno, sqlState, sqlMessage) and the error's class.
 */
export type Described = null | string | number | boolean | Described[] | { [k: string]: Described };

/** Properties of an error that an app reads (messages name the SQL, compared separately). */
const ERROR_FIELDS = ['code', 'errno', 'sqlState', 'sqlMessage'] as const;

/** mysql2's column definition: what its `inspect()` shows (the packet buffer behind it is not observable). */
const FIELD_PROPS = [
  'catalog',
  'schema',
  'name',
  'orgName',
  'table',
  'orgTable',
  'characterSet',
  'encoding',
  'columnLength',
  'columnType',
  'flags',
  'decimals',
] as const;

export function describe(value: unknown, depth = 0): Described {
  if (depth > 12) return '$deep';
  if (value === null) return null;
  if (value === undefined) return { $: 'undefined' };
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return { $bool: value };
  if (typeof value === 'number') return { $num: Number.isFinite(value) ? value : String(value) };
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value === 'function') return { $fn: value.name };
  if (value instanceof Date)
    return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() };
  if (Buffer.isBuffer(value)) return { $buf: value.toString('hex') };
  if (value instanceof Error) return describeError(value);
  if (Array.isArray(value)) return value.map((v) => describe(v, depth + 1));
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name ?? 'Object';
  if (ctor === 'ColumnDefinition') {
    const f = value as Record<string, unknown>;
    return { $field: Object.fromEntries(FIELD_PROPS.map((p) => [p, describe(f[p], depth + 1)])) };
  }
  const entries: Described[] = Object.entries(value as Record<string, unknown>).map(([k, v]) => [
    k,
    describe(v, depth + 1),
  ]);
  return ctor === 'Object' ? { $o: entries } : { $class: ctor, $o: entries };
}

export function describeError(error: Error): Described {
  const e = error as Error & Record<string, unknown>;
  const out: Record<string, Described> = { $error: e.name };
  for (const f of ERROR_FIELDS) if (e[f] !== undefined) out[f] = describe(e[f]);
  return out;
}

/** Runs `fn`; its value or the error it threw, described. */
export async function outcome(fn: () => unknown): Promise<Described> {
  try {
    return describe(await fn());
  } catch (error) {
    return error instanceof Error ? describeError(error) : { $thrown: describe(error) };
  }
}
