import { describe, expect, it } from 'vitest';
import { keyText } from '../../lib/sync/buckets.js';
import { parseKeyText } from '../../lib/sync/outbox.js';

describe('outbox key text', () => {
  it('round-trips canonical keys and keeps integers beyond 2^53 exact', () => {
    expect(parseKeyText(keyText([1, 'a']))).toEqual([1, 'a']);
    expect(parseKeyText('[9007199254740993]')).toEqual(['9007199254740993']);
    expect(parseKeyText('[42, "6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f60"]')).toEqual([
      42,
      '6f1c1a52-4d0c-4f4e-9a7e-1c2b3d4e5f60',
    ]);
  });
});
