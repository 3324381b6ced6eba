import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PG_DIFFERENCES } from './support/differences.js';
import { OPERATIONS } from './support/ops.js';

describe('the differences README.md lists', () => {
  it('are exactly the ones the conformance test allows, each an operation it runs', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### What the app sees after the flip'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| reason')));
    const listed = new Set([...table.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
    const names = new Set(OPERATIONS.map((o) => o.name));
    for (const name of Object.keys(PG_DIFFERENCES)) {
      expect(listed.has(name), `README lists ${name}`).toBe(true);
      expect(names.has(name), `${name} is an operation`).toBe(true);
    }
    const operationsInTable = [...listed].filter((n) => names.has(n));
    expect(operationsInTable.filter((n) => !(n in PG_DIFFERENCES))).toEqual([]);
  });
});
