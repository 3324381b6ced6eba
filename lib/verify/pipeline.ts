/** Wakes everything waiting on it; wait() registers synchronously, so no wake-up is lost. */
class Signal {
  #waiters: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

export interface OrderedRun<T> {
  /** Tasks running at once. */
  concurrency: number;
  /** Starts the next task (`{ task }`), or says there is none left (null). Never called concurrently. */
  start: () => Promise<{ task: Promise<T> } | null>;
  /** Every task's result, in start order; a throw stops the run. */
  consume: (result: T) => Promise<void>;
}

/**
 * Runs tasks `concurrency` at a time and hands their results over in start order. Starting never
 * waits for a slow consumer beyond a few results, and consuming never holds the next start back.
 * A failed task, start or consume stops the run; the tasks already running are let finish first.
 */
export async function runOrdered<T>(run: OrderedRun<T>): Promise<void> {
  const queue: Promise<T>[] = [];
  const changed = new Signal();
  let running = 0;
  let stopped = false;
  let finished = false;
  let failure: { error: unknown } | null = null;
  const produce = async (): Promise<void> => {
    for (;;) {
      while (!stopped && (running >= run.concurrency || queue.length >= run.concurrency * 4)) {
        await changed.wait();
      }
      if (stopped) return;
      const started = await run.start();
      if (!started) return;
      running += 1;
      const task = started.task.finally(() => {
        running -= 1;
        changed.notify();
      });
      // Awaited in order below; this only keeps a failure behind an earlier task from going unhandled.
      task.catch(() => undefined);
      queue.push(task);
      changed.notify();
    }
  };
  const producer = produce().then(
    () => {
      finished = true;
      changed.notify();
    },
    (error: unknown) => {
      failure = { error };
      changed.notify();
    },
  );
  try {
    for (;;) {
      const first = queue.shift();
      if (first) {
        changed.notify();
        await run.consume(await first);
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (finished) return;
      await changed.wait();
    }
  } finally {
    stopped = true;
    changed.notify();
    await producer;
    await Promise.allSettled(queue);
  }
}
