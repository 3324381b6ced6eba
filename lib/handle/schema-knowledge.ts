import type { Knex } from 'knex';
import { sameColumns } from '../capture/keys.js';
import type { DualWriteConfig } from '../config/schema.js';
import { introspectMysql } from '../dialect/mysql/introspect.js';
import { introspectPostgres } from '../dialect/postgres/introspect.js';
import { DualWriteError, ErrorCode } from '../errors.js';
import type { Side } from '../stage/stage.js';
import { buildTranslators } from '../translate/build.js';
import type { ColumnSchema, DatabaseSchema, TableSchema } from '../schema/model.js';
import type { RowTranslator, TranslatorSet } from '../translate/types.js';

/** How long a table found on neither side (or on one only) is not looked up again, ms. */
const RECHECK_MS = 5000;

/**
 * What dualwrite knows of the app's tables: the translators of the tables on both databases and the
 * MySQL unique keys, re-read when the app writes a table it did not know (created since the start, by
 * the handle's schema builder or a migration), so such a table is captured from its first write.
 */
export class SchemaKnowledge implements TranslatorSet {
  #translators: TranslatorSet;
  #uniqueKeys: Map<string, string[][]>;
  #mysqlSchema: DatabaseSchema;
  /** PostgreSQL table OID → table name and attribute numbers → column names. */
  #pgColumns: Map<number, { table: string; columns: Map<number, string> }>;
  readonly #knex: Readonly<Record<Side, Knex>>;
  readonly #config: () => Readonly<DualWriteConfig>;
  readonly #fixed: boolean;
  #refreshing: Promise<void> | undefined;
  readonly #checked = new Map<string, number>();

  private constructor(
    knex: Readonly<Record<Side, Knex>>,
    config: () => Readonly<DualWriteConfig>,
    read: Awaited<ReturnType<typeof SchemaKnowledge.read>>,
    fixed: boolean,
  ) {
    this.#knex = knex;
    this.#config = config;
    this.#translators = read.translators;
    this.#uniqueKeys = read.uniqueKeys;
    this.#mysqlSchema = read.mysqlSchema;
    this.#pgColumns = read.pgColumns;
    this.#fixed = fixed;
  }

  /** Introspects both databases (translators given by the caller are used as they are). */
  static async load(
    knex: Readonly<Record<Side, Knex>>,
    config: () => Readonly<DualWriteConfig>,
    given?: TranslatorSet,
  ): Promise<SchemaKnowledge> {
    const read = await SchemaKnowledge.read(knex, config(), given);
    return new SchemaKnowledge(knex, config, read, given !== undefined);
  }

  private static async read(
    knex: Readonly<Record<Side, Knex>>,
    config: Readonly<DualWriteConfig>,
    given?: TranslatorSet,
  ): Promise<{
    translators: TranslatorSet;
    uniqueKeys: Map<string, string[][]>;
    mysqlSchema: DatabaseSchema;
    pgColumns: Map<number, { table: string; columns: Map<number, string> }>;
  }> {
    const mysqlSchema = await introspectMysql(knex.mysql);
    const translators =
      given ?? buildTranslators(mysqlSchema, await introspectPostgres(knex.postgres), config);
    // Unique keys besides the one rows are synced by (the primary key, or the table's sync key).
    const keyOf = (t: TableSchema): readonly string[] =>
      translators.has(t.name) ? translators.table(t.name).primaryKey : t.primaryKey;
    const uniqueKeys = new Map(
      mysqlSchema.tables.map((t) => [
        t.name,
        t.uniqueKeys
          // Functional unique keys are not looked up by value (see README, Limitations).
          .filter((u) => !u.expressions)
          .map((u) => u.columns)
          .filter((cols) => !sameColumns(cols, keyOf(t))),
      ]),
    );
    const attributes = (await knex.postgres.raw(
      `SELECT c.oid::int AS oid, c.relname AS "table", a.attnum::int AS attnum, a.attname AS "column"
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
          AND a.attnum > 0 AND NOT a.attisdropped`,
    )) as { rows: { oid: number; table: string; attnum: number; column: string }[] };
    const pgColumns = new Map<number, { table: string; columns: Map<number, string> }>();
    for (const r of attributes.rows) {
      let t = pgColumns.get(r.oid);
      if (!t) pgColumns.set(r.oid, (t = { table: r.table, columns: new Map() }));
      t.columns.set(r.attnum, r.column);
    }
    return { translators, uniqueKeys, mysqlSchema, pgColumns };
  }

  /** The introspected MySQL schema. */
  get mysqlSchema(): DatabaseSchema {
    return this.#mysqlSchema;
  }

  /** The MySQL table and column a PostgreSQL result column comes from (by table OID and attribute). */
  pgOrigin(oid: number, attnum: number): { table: TableSchema; column: ColumnSchema } | undefined {
    const t = this.#pgColumns.get(oid);
    const name = t?.columns.get(attnum);
    if (!t || !name) return undefined;
    const table = this.#mysqlSchema.tables.find((x) => x.name === t.table);
    const column = table?.columns.find((c) => c.name === name);
    return table && column ? { table, column } : undefined;
  }

  table(name: string): RowTranslator {
    return this.#translators.table(name);
  }

  has(name: string): boolean {
    return this.#translators.has(name);
  }

  tableNames(): string[] {
    return this.#translators.tableNames();
  }

  /** MySQL unique keys of a table other than its primary key (undefined: a table not seen). */
  uniqueKeys(table: string): readonly (readonly string[])[] | undefined {
    return this.#uniqueKeys.get(table);
  }

  /** Reads both schemas again (after DDL through the handle). */
  async refresh(): Promise<void> {
    if (this.#fixed) return;
    this.#refreshing ??= (async () => {
      try {
        const next = await SchemaKnowledge.read(this.#knex, this.#config());
        this.#translators = next.translators;
        this.#uniqueKeys = next.uniqueKeys;
        this.#mysqlSchema = next.mysqlSchema;
        this.#pgColumns = next.pgColumns;
        this.#checked.clear();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    await this.#refreshing;
  }

  /**
   * A write in a syncing stage to `table`, which has no translator: true when it must be captured (it
   * turned out to be on both databases), false when it runs as it is (it is on neither: the database
   * answers as it would have; or it is knex's migration bookkeeping). A table that exists on the
   * authoritative side only cannot be synced: refused.
   */
  async resolveUnknown(table: string, side: Side, unsynced: ReadonlySet<string>): Promise<boolean> {
    const last = this.#checked.get(table);
    if (last === undefined || Date.now() - last > RECHECK_MS) {
      await this.refresh();
      this.#checked.set(table, Date.now());
    }
    if (this.has(table)) return true;
    if (unsynced.has(table) || !(await this.#exists(table, side))) return false;
    try {
      // A table on both sides but without a key says so (NoPrimaryKey, with the remedy).
      this.#translators.table(table);
    } catch (error) {
      if ((error as { code?: string }).code === ErrorCode.NoPrimaryKey) throw error;
    }
    throw new DualWriteError(
      ErrorCode.UnknownTable,
      `table ${table} exists on ${side} only: its writes cannot be synced (create it on both databases, or set tables.${table}.exclude)`,
      { table },
    );
  }

  async #exists(table: string, side: Side): Promise<boolean> {
    if (side === 'mysql') {
      const [rows] = (await this.#knex.mysql.raw(
        'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
        [table],
      )) as [{ n: number | string }[]];
      return Number(rows[0]?.n) > 0;
    }
    const result = (await this.#knex.postgres.raw('SELECT to_regclass(?) IS NOT NULL AS found', [table])) as {
      rows: { found: boolean }[];
    };
    return result.rows[0]?.found === true;
  }
}
