import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFreshDatabases } from '../support/databases.js';

const dbs = useFreshDatabases('dwreserved');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Bare (unquoted) aliases in dualwrite's own SQL: `... AS name` not followed by a type or `(`. */
function bareAliases(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles('lib')) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bAS ([A-Za-z_][A-Za-z_0-9]*)\b(?!\s*\()/g)) {
      const word = m[1] as string;
      if (!found.has(word)) found.set(word, file);
    }
  }
  return found;
}

describe('reserved words', () => {
  it('every bare alias in dualwrite’s SQL is accepted as a column alias by this server and PostgreSQL', async () => {
    const aliases = bareAliases();
    expect(aliases.size).toBeGreaterThan(20);
    const refused: string[] = [];
    const accepts = (db: typeof dbs.mysql, word: string): Promise<boolean> =>
      db.raw(`SELECT 1 AS ${word}`).then(
        () => true,
        () => false,
      );
    for (const [word, file] of aliases) {
      if (word === 'SELECT') continue; // CREATE TABLE … AS SELECT
      // An alias is one word on every server: the MySQL side's rules and PostgreSQL's both apply.
      if (!(await accepts(dbs.mysql, word)) || !(await accepts(dbs.pg, word)))
        refused.push(`${word} (${file})`);
    }
    // A CAST target (`AS char`, `AS signed`...) is no alias: such words are listed here.
    const castTargets =
      /^(char|signed|unsigned|binary|decimal|date|datetime|time|json|double|float|real|integer|int|text|bigint|smallint|numeric|boolean|varchar|timestamp|uuid|bytea|jsonb|interval|ENUM|IDENTITY)\b/i;
    expect(refused.filter((r) => !castTargets.test(r))).toEqual([]);
  });
});
