/**
 * Canonical text of a normalised value: object keys sorted, Buffers as hex, bigint as text, so two
 * values are equal exactly when their canonical texts are. Used for multiset comparison and chunk hashes.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(toCanonical(value));
}

function toCanonical(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return { $hex: value.toString('hex') };
  if (value instanceof Uint8Array) return { $hex: Buffer.from(value).toString('hex') };
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toCanonical);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as object).sort()) {
      out[k] = toCanonical((value as Record<string, unknown>)[k]);
    }
    return out;
  }
  return String(value);
}

/** A JSON-safe image of a value for reports (Buffers as hex text, bigint as text). */
export function reportable(value: unknown): unknown {
  const c = toCanonical(value);
  if (c && typeof c === 'object' && '$hex' in (c as object)) return `0x${(c as { $hex: string }).$hex}`;
  return c;
}
