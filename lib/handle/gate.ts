/**
 * Admission of writes. A flip holds the gate: new writes wait, writes already admitted (single
 * statements and open transactions) finish, then the flip drains and switches and opens the gate.
 */
export class WriteGate {
  /** Writes admitted and not finished yet. */
  #inFlight = 0;
  /** Resolved when the gate opens again; undefined while open. */
  #held: { promise: Promise<void>; open: () => void } | undefined;
  /** Waiters for #inFlight reaching zero while held. */
  #idleWaiters: (() => void)[] = [];

  get held(): boolean {
    return this.#held !== undefined;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Waits while the gate is held, then admits one write; call the returned function when it is done. */
  async enter(): Promise<() => void> {
    while (this.#held) await this.#held.promise;
    this.#inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      if (this.#inFlight === 0) for (const w of this.#idleWaiters.splice(0)) w();
    };
  }

  /** Holds new writes and waits (at most `timeoutMs`) for admitted ones to finish; false on timeout. */
  async hold(timeoutMs: number): Promise<boolean> {
    if (this.#held) throw new Error('write gate already held');
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#held = { promise, open };
    if (this.#inFlight === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== onIdle);
        resolve(false);
      }, timeoutMs);
      const onIdle = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(onIdle);
    });
  }

  /** Opens the gate; held writes proceed. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.open();
  }
}
