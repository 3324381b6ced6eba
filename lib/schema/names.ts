import { createHash } from 'node:crypto';

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1), with only a NOTICE. */
export const PG_MAX_IDENTIFIER_BYTES = 63;

/** A PostgreSQL identifier, always quoted so reserved words (`order`, `user`) and mixed case survive. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A PostgreSQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function truncateBytes(s: string, bytes: number): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * Hands out names that are unique within one PostgreSQL schema and at most 63 bytes: a name that is too
 * long or already taken gets a short hash suffix instead of being silently truncated into a collision.
 */
export class NameAllocator {
  readonly #taken = new Set<string>();

  /** Marks names that exist already (table names share the namespace with indexes and types). */
  reserve(name: string): void {
    this.#taken.add(name);
  }

  allocate(wanted: string): string {
    let name = wanted;
    if (Buffer.byteLength(name) > PG_MAX_IDENTIFIER_BYTES || this.#taken.has(name)) {
      const hash = createHash('sha1').update(wanted).digest('hex');
      for (let n = 0; ; n++) {
        const suffix = `_${hash.slice(0, 8)}${n > 0 ? n : ''}`;
        name = truncateBytes(wanted, PG_MAX_IDENTIFIER_BYTES - suffix.length) + suffix;
        if (!this.#taken.has(name)) break;
      }
    }
    this.#taken.add(name);
    return name;
  }
}
