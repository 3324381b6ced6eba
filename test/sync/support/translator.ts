import { DualWriteError, ErrorCode, TranslationError, ValueProblem } from '../../../lib/errors.js';
import type { Side } from '../../../lib/stage/stage.js';
import type { KeyTuple, Row, RowTranslator, TranslatorSet } from '../../../lib/translate/types.js';

/**
 * Test-only translator for simple tables whose columns hold the same values on both sides (integers,
 * text, booleans, uuids). It rejects what PostgreSQL cannot hold the way the real translator does.
 */
export interface TestTableSpec {
  primaryKey: string[];
  columns: string[];
  /** Key columns holding integers (canonical key = number). @default every key column */
  intKeys?: string[];
  /** Columns that are `uuid` on PostgreSQL. @default [] */
  uuidColumns?: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class TestTranslator implements RowTranslator {
  constructor(
    readonly table: string,
    private readonly spec: TestTableSpec,
  ) {}
  get primaryKey(): readonly string[] {
    return this.spec.primaryKey;
  }
  get columns(): readonly string[] {
    return this.spec.columns;
  }
  translate(row: Row, from: Side): Row {
    const out: Row = {};
    for (const c of this.spec.columns) {
      const v = row[c];
      if (from === 'mysql' && typeof v === 'string') {
        if (v.includes('\u0000')) {
          throw new TranslationError(ValueProblem.NulByte, `${this.table}.${c} contains a NUL byte`, {
            table: this.table,
            column: c,
          });
        }
        if (this.spec.uuidColumns?.includes(c) && !UUID.test(v)) {
          throw new TranslationError(ValueProblem.InvalidUuid, `${this.table}.${c} is not a UUID: ${v}`, {
            table: this.table,
            column: c,
          });
        }
      }
      out[c] = v;
    }
    return out;
  }
  normalize(row: Row): Row {
    const out: Row = {};
    for (const c of this.spec.columns) {
      const v = row[c];
      out[c] = typeof v === 'string' && this.spec.uuidColumns?.includes(c) ? v.toLowerCase() : v;
    }
    return out;
  }
  canonicalKey(values: readonly unknown[]): KeyTuple {
    const ints = this.spec.intKeys ?? this.spec.primaryKey;
    return values.map((v, i) => (ints.includes(this.spec.primaryKey[i] as string) ? Number(v) : String(v)));
  }
  keyForSide(key: KeyTuple): unknown[] {
    return [...key];
  }
  prepareWrite(values: Row): Row {
    return values;
  }
  toApp(row: Row): Row {
    return row;
  }
}

export function testTranslators(tables: Record<string, TestTableSpec>): TranslatorSet {
  const map = new Map(Object.entries(tables).map(([name, spec]) => [name, new TestTranslator(name, spec)]));
  return {
    table(name: string): RowTranslator {
      const t = map.get(name);
      if (!t) throw new DualWriteError(ErrorCode.UnknownTable, `unknown table ${name}`, { table: name });
      return t;
    },
    has: (name) => map.has(name),
    tableNames: () => [...map.keys()],
  };
}
