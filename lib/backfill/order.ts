import PQueue from 'p-queue';
import type { TableSchema } from '../schema/model.js';

export interface TableOrder {
  /** For each table, the tables it references (its parents) that must be copied first. */
  parents: Map<string, Set<string>>;
  /** Groups of tables whose foreign keys form a cycle (self-references excluded): no order satisfies them. */
  cycles: string[][];
}

/**
 * Foreign-key dependencies between the given tables, for copying parents before children (and deleting
 * children before parents). Self-references and edges inside a cycle are left out: those tables are
 * copied without an order between them, and the syncer must defer or tolerate their constraints.
 */
export function foreignKeyOrder(tables: readonly TableSchema[]): TableOrder {
  const names = new Set(tables.map((t) => t.name));
  const edges = new Map<string, Set<string>>();
  for (const t of tables) {
    const ps = new Set<string>();
    for (const fk of t.foreignKeys) {
      if (fk.referencedTable !== t.name && names.has(fk.referencedTable)) ps.add(fk.referencedTable);
    }
    edges.set(t.name, ps);
  }
  const components = stronglyConnected([...names], edges);
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((n) => componentOf.set(n, i)));
  const parents = new Map<string, Set<string>>();
  for (const [name, ps] of edges) {
    parents.set(name, new Set([...ps].filter((p) => componentOf.get(p) !== componentOf.get(name))));
  }
  return { parents, cycles: components.filter((c) => c.length > 1) };
}

/** Tarjan's strongly connected components (iterative enough for schemas: recursion depth = table count). */
function stronglyConnected(nodes: string[], edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(component.sort());
    }
  };
  for (const n of [...nodes].sort()) if (!idx.has(n)) visit(n);
  return out;
}

/**
 * Runs `work` for every table with at most `concurrency` at once, a table starting only once all of its
 * `after` tables have finished (successfully or not: a failure is reported by the caller, not cascaded).
 */
export async function runOrdered(
  names: readonly string[],
  after: Map<string, Set<string>>,
  concurrency: number,
  work: (name: string) => Promise<void>,
): Promise<void> {
  const queue = new PQueue({ concurrency });
  const waiting = new Map(
    names.map((n) => [n, new Set([...(after.get(n) ?? [])].filter((p) => names.includes(p)))]),
  );
  const started = new Set<string>();
  const failures: unknown[] = [];
  const startReady = (): void => {
    for (const [name, deps] of waiting) {
      if (deps.size === 0 && !started.has(name)) {
        started.add(name);
        waiting.delete(name);
        void queue.add(async () => {
          try {
            await work(name);
          } catch (error) {
            failures.push(error);
          }
          for (const deps2 of waiting.values()) deps2.delete(name);
          startReady();
        });
      }
    }
  };
  startReady();
  await queue.onIdle();
  if (failures.length > 0) throw failures[0];
}
