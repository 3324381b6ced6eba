/** Introspected schema of one database, produced by each dialect's introspector and consumed everywhere. */

export interface ColumnSchema {
  name: string;
  /** Ordinal position, 1-based. */
  position: number;
  /** Base type in lower case, as the server names it: `int`, `varchar`, `json`, `enum`, `timestamp`, `uuid`, `jsonb`... */
  dataType: string;
  /** Full type text: `tinyint(1) unsigned`, `enum('a','b')`, `character varying(36)`. */
  columnType: string;
  nullable: boolean;
  /** Default expression as the server reports it (null when none). */
  defaultValue: string | null;
  autoIncrement: boolean;
  /** MySQL `ON UPDATE CURRENT_TIMESTAMP`. */
  onUpdateCurrentTimestamp: boolean;
  unsigned: boolean;
  /** Character length for strings, byte length for binary, bit count for BIT. */
  length: number | null;
  precision: number | null;
  scale: number | null;
  /** Fractional seconds precision of temporal columns. */
  fsp: number | null;
  /** ENUM / SET members (MySQL) or enum labels (PostgreSQL), in declaration order. */
  enumValues: string[] | null;
  charset: string | null;
  collation: string | null;
  comment: string | null;
  /** True for JSON columns, including MariaDB's LONGTEXT + json_valid() JSON. */
  isJson: boolean;
  /** Trailing spaces are ignored in comparisons (MySQL PAD SPACE collations; PostgreSQL `character(n)`). */
  padSpace?: boolean;
  /** Expression of a generated (computed) column; such columns are never written. */
  generated?: string | null;
  /** PostgreSQL: name of the enum type (dataType `enum`) or of the array element type (dataType `array`). */
  udtName?: string | null;
}

export interface IndexSchema {
  name: string;
  columns: string[];
  unique: boolean;
  /** e.g. BTREE, FULLTEXT, SPATIAL (MySQL) or btree, gin (PostgreSQL). */
  method: string;
  /** MySQL prefix lengths per column (`KEY (notes(100))`), null where the whole column is indexed. */
  prefixLengths?: (number | null)[];
  /**
   * MySQL functional key parts (`KEY ((lower(email)))`), as the server reports them, null where the part
   * is a column; `columns` then holds the expression text in that place, not a column name.
   */
  expressions?: (string | null)[];
}

export interface ForeignKeySchema {
  name: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface CheckSchema {
  name: string;
  expression: string;
}

export interface TableSchema {
  name: string;
  columns: ColumnSchema[];
  /** Primary key columns in key order; empty when the table has none. */
  primaryKey: string[];
  uniqueKeys: IndexSchema[];
  /** Non-unique indexes (unique ones are in uniqueKeys). */
  indexes: IndexSchema[];
  foreignKeys: ForeignKeySchema[];
  checks: CheckSchema[];
  comment: string | null;
  /** MySQL storage engine; null on PostgreSQL. */
  engine: string | null;
  collation: string | null;
}

export interface DatabaseSchema {
  dialect: 'mysql' | 'postgres';
  /** MySQL flavour when dialect is mysql. */
  flavor?: 'mysql' | 'mariadb';
  serverVersion: string;
  tables: TableSchema[];
  /** Objects that are listed but not converted: views, procedures, functions, triggers. */
  otherObjects: { kind: 'view' | 'procedure' | 'function' | 'trigger'; name: string }[];
}

export function findTable(schema: DatabaseSchema, name: string): TableSchema | undefined {
  return schema.tables.find((t) => t.name === name);
}
