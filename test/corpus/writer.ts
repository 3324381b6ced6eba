import type { DualWriteDb } from '../../lib/handle/types.js';
import type { ColumnSchema, DatabaseSchema, ForeignKeySchema, TableSchema } from '../../lib/schema/model.js';
import type { Row, TranslatorSet } from '../../lib/translate/types.js';

/** What the writer did, per kind of write; `failed` counts writes the database refused (not acknowledged). */
export interface WriterStats {
  insert: number;
  update: number;
  /** Updates that changed a key (or a generated key's input). */
  keyMoves: number;
  delete: number;
  skipped: number;
  failed: number;
  /** A few of the refusals, for the test's report. */
  errors: string[];
  /** Writes done per table. */
  tables: Record<string, number>;
}

interface TableInfo {
  schema: TableSchema;
  key: readonly string[];
  /** Column sets that must stay unique: the key and the other unique keys. */
  uniques: (readonly string[])[];
  /** Foreign keys of other tables (and its own) that point at this one. */
  referencedBy: { table: string; fk: ForeignKeySchema }[];
  /** Columns an insert or update writes (not generated, not auto-increment). */
  writable: ColumnSchema[];
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  tinyint: [-128n, 127n],
  smallint: [-32768n, 32767n],
  mediumint: [-8388608n, 8388607n],
  int: [-2147483648n, 2147483647n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/** MySQL's internal geometry bytes of POINT(1 1), SRID 0: what the handle writes to a spatial column. */
const POINT = Buffer.from('000000000101000000000000000000f03f000000000000f03f', 'hex');

/**
 * Random app writes through the handle on every table of a schema, as an app would make them: inserts
 * built from an existing row of the table (so CHECKs, enums and JSON stay valid) with fresh values for
 * key and unique columns and parents picked among existing rows; updates that copy another row's value
 * into one column, or move a key; deletes of rows no foreign key points at. Reads go through the handle
 * too, so they see the authoritative side.
 */
export class RandomWriter {
  readonly stats: WriterStats = {
    insert: 0,
    update: 0,
    keyMoves: 0,
    delete: 0,
    skipped: 0,
    failed: 0,
    errors: [],
    tables: {},
  };
  readonly #tables: TableInfo[];
  readonly #db: DualWriteDb;
  readonly #rand: () => number;

  constructor(options: {
    db: DualWriteDb;
    schema: DatabaseSchema;
    translators: TranslatorSet;
    /** Tables to write (the others are left alone). */
    tables: readonly string[];
    rand: () => number;
  }) {
    this.#db = options.db;
    this.#rand = options.rand;
    const all = options.schema.tables;
    this.#tables = options.tables.map((name) => {
      const schema = all.find((t) => t.name === name)!;
      const key = options.translators.table(name).primaryKey;
      return {
        schema,
        key,
        uniques: [key, ...schema.uniqueKeys.filter((u) => !u.expressions).map((u) => u.columns)],
        referencedBy: all.flatMap((t) =>
          t.foreignKeys.filter((fk) => fk.referencedTable === name).map((fk) => ({ table: t.name, fk })),
        ),
        writable: schema.columns.filter((c) => !c.generated && !c.autoIncrement),
      };
    });
  }

  /** One write on a random table: an insert, an update or a delete. */
  async step(): Promise<void> {
    const table = this.#tables[Math.floor(this.#rand() * this.#tables.length)]!;
    const dice = this.#rand();
    try {
      const done =
        dice < 0.4
          ? await this.#insert(table)
          : dice < 0.8
            ? await this.#update(table)
            : await this.#delete(table);
      if (!done) this.stats.skipped++;
      else this.stats.tables[table.schema.name] = (this.stats.tables[table.schema.name] ?? 0) + 1;
    } catch (error) {
      this.stats.failed++;
      if (this.stats.errors.length < 5) {
        this.stats.errors.push(`${table.schema.name}: ${(error as Error).message.slice(0, 300)}`);
      }
    }
  }

  async #sample(table: string): Promise<Row | undefined> {
    const info = this.#tables.find((t) => t.schema.name === table);
    const order = info?.key ?? [];
    const counted = (await this.#db(table).count({ n: '*' }).first()) as { n: string | number } | undefined;
    const n = Number(counted?.n ?? 0);
    if (n === 0) return undefined;
    const q = this.#db(table)
      .select('*')
      .offset(Math.floor(this.#rand() * n));
    if (order.length > 0) q.orderBy([...order]);
    return (await q.first()) as Row | undefined;
  }

  async #exists(table: string, values: Row): Promise<boolean> {
    return (await this.#db(table).where(values).first()) !== undefined;
  }

  /** A value no row of `table` holds in `column`, of its type; undefined when the type has none here. */
  async #freshValue(table: string, column: ColumnSchema): Promise<unknown> {
    const t = column.dataType;
    const range = INT_RANGE[t];
    if (range) {
      const [lo, hi] = column.unsigned ? [0n, range[1] * 2n + 1n] : range;
      const max = (await this.#db(table).max({ m: column.name }).first()) as { m: unknown } | undefined;
      let next = BigInt(String(max?.m ?? 0)) + 1n + BigInt(Math.floor(this.#rand() * 5));
      if (next > hi) next = lo + BigInt(Math.floor(this.#rand() * Number(hi - lo)));
      return t === 'bigint' ? next.toString() : Number(next);
    }
    if (t === 'char' || t === 'varchar' || t.endsWith('text')) {
      const length = Math.min(column.length ?? 12, 12);
      let s = '';
      for (let i = 0; i < length; i++) s += String.fromCharCode(65 + Math.floor(this.#rand() * 26));
      return s;
    }
    if (t === 'decimal') return (this.#rand() * 1000).toFixed(Math.min(column.scale ?? 0, 2));
    if (t === 'date') return randomDate(this.#rand).slice(0, 10);
    if (t === 'datetime' || t === 'timestamp') return randomDate(this.#rand);
    return undefined;
  }

  /** Parent values for a foreign key, from a random row of the referenced table. */
  async #parent(fk: ForeignKeySchema): Promise<Row | undefined> {
    const parent = await this.#sample(fk.referencedTable);
    if (!parent) return undefined;
    return Object.fromEntries(fk.columns.map((c, i) => [c, parent[fk.referencedColumns[i]!]]));
  }

  /** `row` with fresh values in every unique column set it would otherwise repeat. */
  async #freshen(info: TableInfo, row: Row, fkColumns: ReadonlySet<string>): Promise<boolean> {
    const writable = new Set(info.writable.map((c) => c.name));
    for (const unique of info.uniques) {
      if (!unique.every((c) => writable.has(c) || !(c in row))) continue;
      for (let attempt = 0; attempt < 8; attempt++) {
        const values = Object.fromEntries(unique.map((c) => [c, row[c]]));
        if (unique.some((c) => row[c] === undefined) || !(await this.#exists(info.schema.name, values)))
          break;
        if (attempt === 7) return false;
        const own = unique.filter((c) => !fkColumns.has(c));
        if (own.length > 0) {
          const c = own[Math.floor(this.#rand() * own.length)]!;
          row[c] = await this.#freshValue(
            info.schema.name,
            info.schema.columns.find((x) => x.name === c)!,
          );
          if (row[c] === undefined) return false;
        } else {
          // A key made of foreign keys only (a link table): other parents.
          const fk = info.schema.foreignKeys.find((f) => f.columns.some((c) => unique.includes(c)));
          const parent = fk ? await this.#parent(fk) : undefined;
          if (!parent) return false;
          Object.assign(row, parent);
        }
      }
    }
    return true;
  }

  async #insert(info: TableInfo): Promise<boolean> {
    const base = await this.#sample(info.schema.name);
    if (!base) return false;
    const row: Row = {};
    for (const c of info.writable) row[c.name] = spatial(c) ? POINT : base[c.name];
    freshDocumentIds(row, this.#rand);
    const fkColumns = new Set<string>();
    for (const fk of info.schema.foreignKeys) {
      const parent = await this.#parent(fk);
      if (!parent) return false;
      Object.assign(row, parent);
      for (const c of fk.columns) fkColumns.add(c);
    }
    if (!(await this.#freshen(info, row, fkColumns))) return false;
    await this.#db(info.schema.name).insert(row);
    this.stats.insert++;
    return true;
  }

  async #update(info: TableInfo): Promise<boolean> {
    const base = await this.#sample(info.schema.name);
    if (!base) return false;
    const where = Object.fromEntries(info.key.map((c) => [c, base[c]]));
    const unique = new Set(info.uniques.flat());
    const fkColumns = new Set(info.schema.foreignKeys.flatMap((fk) => fk.columns));
    const plain = info.writable.filter((c) => !unique.has(c.name) && !fkColumns.has(c.name) && !spatial(c));
    const movable = info.referencedBy.length === 0 && !info.schema.columns.some((c) => c.autoIncrement);
    if (plain.length > 0 && !(movable && this.#rand() < 0.25)) {
      const column = plain[Math.floor(this.#rand() * plain.length)]!;
      const other = await this.#sample(info.schema.name);
      if (!other) return false;
      const set: Row = { [column.name]: other[column.name] };
      // A JSON document keeps its own id (a generated key may be computed from it).
      keepDocumentId(set, base);
      await this.#db(info.schema.name).where(where).update(set);
      this.stats.update++;
      return true;
    }
    if (!movable) return false;
    // Move the row to a key no row has: a key column, or the document a generated key is read from.
    const moved: Row = { ...base };
    const set: Row = {};
    const generatedInputs = info.writable.filter((c) => c.isJson && isDocument(base[c.name]));
    if (
      info.key.some((k) => info.schema.columns.find((c) => c.name === k)?.generated) &&
      generatedInputs.length > 0
    ) {
      for (const c of generatedInputs) set[c.name] = base[c.name];
      freshDocumentIds(set, this.#rand);
    } else {
      const own = info.key.filter((c) => !fkColumns.has(c));
      if (own.length === 0) {
        const fk = info.schema.foreignKeys.find((f) => f.columns.some((c) => info.key.includes(c)));
        const parent = fk ? await this.#parent(fk) : undefined;
        if (!parent) return false;
        Object.assign(set, parent);
      } else {
        const c = own[Math.floor(this.#rand() * own.length)]!;
        set[c] = await this.#freshValue(
          info.schema.name,
          info.schema.columns.find((x) => x.name === c)!,
        );
        if (set[c] === undefined) return false;
      }
      Object.assign(moved, set);
      const target = Object.fromEntries(info.key.map((c) => [c, moved[c]]));
      if (await this.#exists(info.schema.name, target)) return false;
    }
    await this.#db(info.schema.name).where(where).update(set);
    this.stats.update++;
    this.stats.keyMoves++;
    return true;
  }

  async #delete(info: TableInfo): Promise<boolean> {
    const counted = (await this.#db(info.schema.name).count({ n: '*' }).first()) as
      { n: unknown } | undefined;
    if (Number(counted?.n ?? 0) <= 2) return false;
    for (let attempt = 0; attempt < 3; attempt++) {
      const base = await this.#sample(info.schema.name);
      if (!base) return false;
      let referenced = false;
      for (const { table, fk } of info.referencedBy) {
        const values = Object.fromEntries(fk.columns.map((c, i) => [c, base[fk.referencedColumns[i]!]]));
        if (Object.values(values).some((v) => v === null)) continue;
        if (await this.#exists(table, values)) {
          referenced = true;
          break;
        }
      }
      if (referenced) continue;
      await this.#db(info.schema.name)
        .where(Object.fromEntries(info.key.map((c) => [c, base[c]])))
        .del();
      this.stats.delete++;
      return true;
    }
    return false;
  }
}

function spatial(column: ColumnSchema): boolean {
  return /^(geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/.test(
    column.dataType,
  );
}

function isDocument(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !Buffer.isBuffer(v) &&
    typeof (v as Row)['_id'] === 'string'
  );
}

/** Documents (JSON objects with a string `_id`, X DevAPI style) get a new id of the same length. */
function freshDocumentIds(row: Row, rand: () => number): void {
  for (const [c, v] of Object.entries(row)) {
    if (!isDocument(v)) continue;
    const length = String(v['_id']).length;
    let id = '';
    for (let i = 0; i < length; i++) id += Math.floor(rand() * 16).toString(16);
    row[c] = { ...v, _id: id };
  }
}

function keepDocumentId(set: Row, base: Row): void {
  for (const [c, v] of Object.entries(set)) {
    const own = base[c];
    if (isDocument(v) && isDocument(own)) set[c] = { ...v, _id: own['_id'] };
  }
}

function randomDate(rand: () => number): string {
  const d = new Date(Date.UTC(2000, 0, 1) + Math.floor(rand() * 30 * 365 * 86_400) * 1000);
  return d.toISOString().slice(0, 19).replace('T', ' ');
}
