import { describe, expect, it } from 'vitest';
import { runOrdered } from '../../lib/verify/pipeline.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Tasks 0..n-1, task i taking `delay(i)` ms; records how many ran at once and which settled. */
function tasks(n: number, delay: (i: number) => number, fail?: number) {
  let started = 0;
  let running = 0;
  const state = { peak: 0, settled: new Set<number>(), started: () => started };
  const start = async () => {
    if (started >= n) return null;
    const i = started++;
    running += 1;
    state.peak = Math.max(state.peak, running);
    const task = (async () => {
      await sleep(delay(i));
      running -= 1;
      state.settled.add(i);
      if (i === fail) throw new Error(`task ${i} failed`);
      return i;
    })();
    return { task };
  };
  return { start, state };
}

describe('runOrdered', () => {
  it('hands results over in start order, at most `concurrency` running at once', async () => {
    const { start, state } = tasks(12, (i) => (i % 3 === 0 ? 30 : 5));
    const seen: number[] = [];
    await runOrdered({ concurrency: 3, start, consume: async (i) => void seen.push(i) });
    expect(seen).toEqual([...Array(12).keys()]);
    expect(state.peak).toBe(3);
  });

  it('stops at a failed task and lets the running ones settle first', async () => {
    const { start, state } = tasks(20, (i) => (i === 4 ? 5 : 40), 4);
    await expect(runOrdered({ concurrency: 4, start, consume: async () => undefined })).rejects.toThrow(
      'task 4 failed',
    );
    expect(state.started()).toBeLessThan(20);
    for (let i = 0; i < state.started(); i++) expect(state.settled.has(i)).toBe(true);
  });

  it('stops starting tasks when the consumer throws', async () => {
    const { start, state } = tasks(50, () => 2);
    await expect(
      runOrdered({
        concurrency: 2,
        start,
        consume: async (i) => {
          if (i === 3) throw new Error('stop');
        },
      }),
    ).rejects.toThrow('stop');
    expect(state.started()).toBeLessThan(50);
    expect(state.settled.size).toBe(state.started());
  });
});
