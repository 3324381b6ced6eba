import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The parts of mysql2 that shape rows served by PostgreSQL exactly as mysql2 shapes MySQL's: its
 * column definition, its text-protocol row parser (which applies the app's typeCast, dateStrings,
 * supportBigNumbers, bigNumberStrings, decimalNumbers, timezone, nestTables, rowsAsArray), its
 * connection-config normalisation and its OK-packet class. mysql2 does not export these paths, so they
 * are loaded by file; test/shape/mysql2-internals.test.ts is the contract for a mysql2 upgrade.
 */
const require = createRequire(import.meta.url);
const root = join(dirname(require.resolve('mysql2')), 'lib');
const load = <T>(path: string): T => require(join(root, path)) as T;

export interface Mysql2Packet {
  offset: number;
}
export interface ColumnDefinition {
  name: string;
  columnType: number;
  characterSet: number;
  columnLength: number;
  flags: number;
  decimals: number;
  encoding: string;
}
export type ConnectionConfig = Record<string, unknown>;
type TextParserClass = new (fields: ColumnDefinition[]) => {
  next(packet: Mysql2Packet, fields: ColumnDefinition[], options: Record<string, unknown>): unknown;
};

const PacketClass =
  load<new (id: number, buffer: Buffer, start: number, end: number) => Mysql2Packet>('packets/packet.js');
const ColumnDefinitionClass = load<
  new (packet: Mysql2Packet, clientEncoding: string, mariadbExtendedMetadata: boolean) => ColumnDefinition
>('packets/column_definition.js');
const getTextParser =
  load<
    (
      fields: ColumnDefinition[],
      options: Record<string, unknown>,
      config: ConnectionConfig,
    ) => TextParserClass
  >('parsers/text_parser.js');
const ConnectionConfigClass =
  load<new (options: Record<string, unknown>) => ConnectionConfig>('connection_config.js');
const ResultSetHeaderClass = load<{ prototype: object }>('packets/resultset_header.js');

/** mysql2's column type codes (`Types.LONGLONG`...). */
export const Types = load<Record<string, number>>('constants/types.js');
/** mysql2's field flags (`NOT_NULL`, `UNSIGNED`...). */
export const FieldFlags = load<Record<string, number>>('constants/field_flags.js');
/** mysql2's collation ids by name. */
export const Charsets = load<Record<string, number>>('constants/charsets.js');

/** The connection configuration mysql2 derives from the app's connection options. */
export function connectionConfig(options: Record<string, unknown>): ConnectionConfig {
  return new ConnectionConfigClass(options);
}

function lengthEncoded(n: number): Buffer {
  if (n < 251) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

function lengthEncodedBytes(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([lengthEncoded(bytes.length), bytes]);
}

/** A packet of mysql2's over `payload` (its 4-byte header left zero). */
function packetOf(payload: Buffer): Mysql2Packet {
  const buffer = Buffer.concat([Buffer.alloc(4), payload]);
  return new PacketClass(0, buffer, 0, buffer.length);
}

export interface FieldSpec {
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  characterSet: number;
  columnLength: number;
  columnType: number;
  flags: number;
  decimals: number;
}

/** A column definition of mysql2's, as it would have read it from MySQL's packet. */
export function columnDefinition(spec: FieldSpec): ColumnDefinition {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(spec.characterSet, 1);
  fixed.writeUInt32LE(Math.min(spec.columnLength, 0xffffffff) >>> 0, 3);
  fixed[7] = spec.columnType;
  fixed.writeUInt16LE(spec.flags, 8);
  fixed[10] = spec.decimals;
  const payload = Buffer.concat([
    lengthEncodedBytes('def'),
    lengthEncodedBytes(spec.schema),
    lengthEncodedBytes(spec.table),
    lengthEncodedBytes(spec.orgTable),
    lengthEncodedBytes(spec.name),
    lengthEncodedBytes(spec.orgName),
    fixed,
  ]);
  return new ColumnDefinitionClass(packetOf(payload), 'utf8', false);
}

/** Text-protocol values of one row: MySQL's text (or bytes) per column, null for NULL. */
export type TextRow = readonly (string | Buffer | null)[];

/** Parses rows as mysql2's text protocol does for a query with these options on this connection. */
export function parseRows(
  fields: ColumnDefinition[],
  rows: readonly TextRow[],
  options: Record<string, unknown>,
  config: ConnectionConfig,
): unknown[] {
  const Parser = getTextParser(fields, options, config);
  const parser = new Parser(fields);
  return rows.map((row) => {
    const parts = row.map((v) => (v === null ? Buffer.from([0xfb]) : lengthEncodedBytes(v)));
    return parser.next(packetOf(Buffer.concat(parts)), fields, options);
  });
}

export interface OkPacket {
  fieldCount: number;
  affectedRows: number;
  insertId: number | string;
  info: string;
  serverStatus: number;
  warningStatus: number;
  changedRows: number;
}

/** mysql2's ResultSetHeader (OK packet) with these values, in the order mysql2 sets them. */
export function resultSetHeader(ok: OkPacket): OkPacket {
  const header = Object.create(ResultSetHeaderClass.prototype) as OkPacket;
  header.fieldCount = ok.fieldCount;
  header.affectedRows = ok.affectedRows;
  header.insertId = ok.insertId;
  header.info = ok.info;
  header.serverStatus = ok.serverStatus;
  header.warningStatus = ok.warningStatus;
  header.changedRows = ok.changedRows;
  return header;
}
