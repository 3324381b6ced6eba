import type { ColumnOverride } from '../config/schema.js';
import { generationSql } from '../dialect/mysql/generation.js';
import { TranslationError } from '../errors.js';
import type { TableSchema } from '../schema/model.js';
import type { Side } from '../stage/stage.js';
import { codecFor } from './codecs/select.js';
import type { ColumnCodec } from './codecs/types.js';
import { ValueRejection } from './problem.js';
import type { KeyTuple, Row, RowTranslator } from './types.js';

/** Per-table options the translator reads from the config. */
export interface TableTranslationOptions {
  /** The columns rows are synced by (see schema/sync-key). @default the primary key of MySQL, else of PostgreSQL */
  key?: readonly string[];
  /** Per-column overrides (transform, zeroDate, ignoreInCompare...). @default {} */
  columns?: Record<string, ColumnOverride | undefined>;
  /** Columns whose values never appear in errors. @default [] */
  sensitiveColumns?: readonly string[];
}

/** knex Raw/QueryBuilder values (`knex.fn.now()`, `knex.raw(...)`) are SQL, not values: never translated. */
function isSqlExpression(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { toSQL?: unknown }).toSQL === 'function';
}

/** Towards MySQL values are only reshaped: what a codec cannot read is left for MySQL itself to accept or refuse. */
function reshapeOrKeep(step: () => unknown, original: unknown): unknown {
  try {
    return step();
  } catch (error) {
    if (error instanceof ValueRejection) return original;
    throw error;
  }
}

function keyPart(v: unknown): string | number {
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return String(v);
}

export class TableTranslator implements RowTranslator {
  readonly table: string;
  readonly primaryKey: readonly string[];
  readonly looseKeyLookup: boolean;
  readonly generatedKey: Readonly<Record<string, string>>;
  readonly columns: readonly string[];
  /** Column → codec, for columns present on both sides. */
  readonly #codecs: ReadonlyMap<string, ColumnCodec>;
  /** Column → codec of the columns written on each side (its generated columns left out). */
  readonly #written: Record<Side, readonly (readonly [string, ColumnCodec])[]>;
  readonly #ignored: ReadonlySet<string>;
  readonly #sensitive: ReadonlySet<string>;

  constructor(mysql: TableSchema, pg: TableSchema, options: TableTranslationOptions = {}) {
    this.table = mysql.name;
    this.primaryKey = Object.freeze(
      options.key
        ? [...options.key]
        : mysql.primaryKey.length > 0
          ? [...mysql.primaryKey]
          : [...pg.primaryKey],
    );
    const codecs = new Map<string, ColumnCodec>();
    for (const m of mysql.columns) {
      const p = pg.columns.find((c) => c.name === m.name);
      if (!p) continue;
      codecs.set(m.name, codecFor({ mysql: m, pg: p, override: options.columns?.[m.name] }));
    }
    this.#codecs = codecs;
    this.generatedKey = Object.fromEntries(
      this.primaryKey.flatMap((c) => {
        const expression = mysql.columns.find((col) => col.name === c)?.generated;
        return expression ? [[c, generationSql(expression)] as const] : [];
      }),
    );
    // A text key part under a non-binary collation: 'abc' = 'ABC' (or 'é' = 'e') in a MySQL WHERE.
    this.looseKeyLookup = this.primaryKey.some(
      (c) =>
        codecs.get(c)?.kind === 'text' &&
        !/_bin$/i.test(mysql.columns.find((col) => col.name === c)?.collation ?? ''),
    );
    this.columns = Object.freeze([...codecs.keys()]);
    const generated = {
      mysql: new Set(mysql.columns.filter((c) => c.generated).map((c) => c.name)),
      postgres: new Set(pg.columns.filter((c) => c.generated).map((c) => c.name)),
    };
    this.#written = {
      mysql: [...codecs].filter(([c]) => !generated.mysql.has(c)),
      postgres: [...codecs].filter(([c]) => !generated.postgres.has(c)),
    };
    this.#ignored = new Set(
      Object.entries(options.columns ?? {})
        .filter(([, o]) => o?.ignoreInCompare)
        .map(([c]) => c),
    );
    this.#sensitive = new Set(options.sensitiveColumns ?? []);
  }

  /** Translation family of each shared column (`uuid`, `datetime`, `set`...), for reports. */
  columnKinds(): Record<string, string> {
    return Object.fromEntries([...this.#codecs].map(([c, codec]) => [c, codec.kind]));
  }

  translate(row: Row, from: Side): Row {
    const toPg = from === 'mysql';
    const out: Row = {};
    // Hot path of every sync and backfill: no closure per value (see #guard).
    for (const [column, codec] of this.#written[toPg ? 'postgres' : 'mysql']) {
      if (!(column in row)) continue;
      const v = row[column];
      if (v === null || v === undefined) {
        out[column] = null;
        continue;
      }
      try {
        out[column] = toPg ? codec.toPg(v) : codec.toMysql(v);
      } catch (error) {
        throw this.#rejection(error, row, from, column, v);
      }
    }
    return out;
  }

  normalize(row: Row, side: Side): Row {
    const out: Row = {};
    for (const [column, codec] of this.#codecs) {
      if (!(column in row) || this.#ignored.has(column)) continue;
      const v = row[column];
      out[column] = v === null || v === undefined ? null : codec.normalize(v, side);
    }
    return out;
  }

  canonicalKey(values: readonly unknown[], side: Side): KeyTuple {
    return this.primaryKey.map((column, i) => {
      const v = values[i];
      const codec = this.#codecs.get(column);
      if (v === null || v === undefined || !codec) return keyPart(v);
      return keyPart(codec.key ? codec.key(v, side) : codec.normalize(v, side));
    });
  }

  keyForSide(key: KeyTuple, side: Side): unknown[] {
    return this.primaryKey.map((column, i) => {
      const v = key[i];
      const codec = this.#codecs.get(column);
      if (v === undefined || !codec) return v;
      return this.#guard({}, side, column, v, () => codec.prepare(v, side), key);
    });
  }

  prepareWrite(values: Row, side: Side): Row {
    const out: Row = {};
    for (const [column, v] of Object.entries(values)) {
      const codec = this.#codecs.get(column);
      if (v === null || v === undefined || !codec || isSqlExpression(v)) out[column] = v;
      else if (side === 'postgres')
        out[column] = this.#guard(values, side, column, v, () => codec.prepare(v, side));
      else out[column] = reshapeOrKeep(() => codec.prepare(v, side), v);
    }
    return out;
  }

  toApp(row: Row, side: Side): Row {
    const out: Row = {};
    for (const [column, v] of Object.entries(row)) {
      const codec = this.#codecs.get(column);
      out[column] = v === null || v === undefined || !codec ? v : codec.toApp(v, side);
    }
    return out;
  }

  /** Runs a codec step; a rejection becomes a TranslationError naming table, column, key and reason. */
  #guard(row: Row, side: Side, column: string, value: unknown, step: () => unknown, key?: KeyTuple): unknown {
    try {
      return step();
    } catch (error) {
      throw this.#rejection(error, row, side, column, value, key);
    }
  }

  /** A codec's ValueRejection as a TranslationError naming table, column, key and reason; other errors as they are. */
  #rejection(error: unknown, row: Row, side: Side, column: string, value: unknown, key?: KeyTuple): unknown {
    if (!(error instanceof ValueRejection)) return error;
    const sensitive = this.#sensitive.has(column);
    return new TranslationError(
      error.problem,
      `${this.table}.${column}: ${sensitive ? error.problem : error.message}`,
      {
        table: this.table,
        column,
        key: key ?? this.#keyOf(row, side),
        value: sensitive ? '[redacted]' : value,
        cause: error,
      },
    );
  }

  #keyOf(row: Row, side: Side): KeyTuple | undefined {
    if (!this.primaryKey.every((c) => c in row)) return undefined;
    try {
      return this.canonicalKey(
        this.primaryKey.map((c) => row[c]),
        side,
      );
    } catch {
      return undefined;
    }
  }
}
