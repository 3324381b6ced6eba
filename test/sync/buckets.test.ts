import { describe, expect, it } from 'vitest';
import { LOCK_BUCKETS } from '../../lib/meta/tables.js';
import { bucketsFor, keyText, lockBucket, parseKeyText } from '../../lib/sync/buckets.js';

describe('outbox key text', () => {
  it('round-trips canonical keys and keeps integers beyond 2^53 exact', () => {
    expect(parseKeyText(keyText([1, 'a']))).toEqual([1, 'a']);
    expect(parseKeyText('[9007199254740993]')).toEqual(['9007199254740993']);
    expect(parseKeyText('[42, "6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f60"]')).toEqual([
      42,
      '6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f60',
    ]);
  });

  it('maps keys to lock buckets stably across processes and versions, ascending and distinct per batch', () => {
    // Every process must agree on these numbers, or two syncs of one key would not exclude each other.
    expect(lockBucket('items', [1])).toBe(3820);
    expect(lockBucket('items', [2])).toBe(3687);
    expect(lockBucket('film_actor', [1, 23])).toBe(2649);
    expect(lockBucket('users', ['6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f60'])).toBe(929);
    const keys = Array.from({ length: 3000 }, (_, i) => [i]);
    const buckets = bucketsFor('items', keys);
    expect(buckets).toEqual([...new Set(buckets)].sort((a, b) => a - b));
    expect(buckets.every((b) => b >= 0 && b < LOCK_BUCKETS)).toBe(true);
    expect(buckets.length).toBeGreaterThan(1500);
  });
});
