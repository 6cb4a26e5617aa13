/**
 * Wakes sleeping subscribers when new events may exist. A ticket is taken before reading;
 * if a wake-up happened since, `wait` returns at once, so no notification is lost
 * between "read returned nothing" and "go to sleep".
 */
export class Waker {
  private generation = 0;
  private waiters = new Set<() => void>();
  private closed = false;

  ticket(): number {
    return this.generation;
  }

  wake(): void {
    this.generation++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves on a wake-up after `ticket`, after `timeoutMs`, or when the signal aborts. */
  wait(ticket: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || ticket !== this.generation || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }
}
