import { ValueProblem } from '../../errors.js';
import { reject } from '../problem.js';
import type { CodecContext, ColumnCodec } from './types.js';

/** mysql2's parsed geometry: a point, or nested arrays of points (its text-protocol shape). */
type Parsed = { x: number; y: number } | Parsed[];

const isPoint = (v: unknown): v is { x: number; y: number } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { x?: unknown }).x === 'number';

function depth(v: Parsed): number {
  return isPoint(v) ? 0 : 1 + (v.length > 0 ? depth(v[0] as Parsed) : 0);
}

/**
 * WKB of mysql2's parsed shape. mysql2 drops the SRID and the difference between LineString and MultiPoint
 * (both arrays of points) or Polygon and MultiLineString; the nesting depth decides, so those round-trip
 * only when the driver hands over raw bytes (see docs/type-mapping.md).
 */
function encode(v: Parsed): Buffer {
  const header = (type: number, count?: number): Buffer => {
    const b = Buffer.alloc(count === undefined ? 5 : 9);
    b.writeUInt8(1, 0);
    b.writeUInt32LE(type, 1);
    if (count !== undefined) b.writeUInt32LE(count, 5);
    return b;
  };
  const coords = (p: { x: number; y: number }): Buffer => {
    const b = Buffer.alloc(16);
    b.writeDoubleLE(p.x, 0);
    b.writeDoubleLE(p.y, 8);
    return b;
  };
  const ring = (points: Parsed[]): Buffer[] => {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(points.length, 0);
    return [n, ...points.map((p) => coords(p as { x: number; y: number }))];
  };
  if (isPoint(v)) return Buffer.concat([header(1), coords(v)]);
  const d = depth(v);
  if (d <= 1)
    return Buffer.concat([header(2, v.length), ...v.map((p) => coords(p as { x: number; y: number }))]);
  if (d === 2) return Buffer.concat([header(3, v.length), ...v.flatMap((r) => ring(r as Parsed[]))]);
  return Buffer.concat([header(6, v.length), ...v.map((poly) => encode(poly as Parsed))]);
}

/** MySQL's internal format (SRID + WKB) from raw bytes or mysql2's parsed shape (SRID 0). */
function internal(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (isPoint(v) || Array.isArray(v)) return Buffer.concat([Buffer.alloc(4), encode(v as Parsed)]);
  return reject(ValueProblem.InvalidValue, 'not a geometry value');
}

/** WKB → mysql2's parsed shape (what the app saw in its MySQL era). */
function decode(b: Buffer, offset = 0): { value: Parsed; end: number } {
  const le = b.readUInt8(offset) === 1;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const f64 = (o: number): number => (le ? b.readDoubleLE(o) : b.readDoubleBE(o));
  const type = u32(offset + 1) % 1000;
  let o = offset + 5;
  const point = (): { x: number; y: number } => {
    const p = { x: f64(o), y: f64(o + 8) };
    o += 16;
    return p;
  };
  const points = (): Parsed[] => {
    const n = u32(o);
    o += 4;
    return Array.from({ length: n }, point);
  };
  if (type === 1) return { value: point(), end: o };
  if (type === 2) return { value: points(), end: o };
  if (type === 3) {
    const n = u32(o);
    o += 4;
    return { value: Array.from({ length: n }, points), end: o };
  }
  const n = u32(o);
  o += 4;
  const items: Parsed[] = [];
  for (let i = 0; i < n; i++) {
    const next = decode(b, o);
    items.push(next.value);
    o = next.end;
  }
  return { value: items, end: o };
}

function parsed(v: unknown): unknown {
  if (!Buffer.isBuffer(v)) return v;
  try {
    return decode(v, 4).value;
  } catch {
    return v.toString('hex');
  }
}

/** Spatial columns ↔ bytea holding MySQL's internal bytes; compared and shown as mysql2's parsed shape. */
export function geometryCodec(_ctx: CodecContext): ColumnCodec {
  return {
    kind: 'geometry',
    toPg: internal,
    toMysql: internal,
    normalize: (v) => JSON.stringify(parsed(v)),
    toApp: parsed,
    prepare: internal,
  };
}
