/** Small readers for rows of catalog queries, shared by both introspectors. */
export type RawRow = Record<string, unknown>;

/** A catalog value as text ('' for NULL). */
export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** A catalog value as a number, or null. */
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
