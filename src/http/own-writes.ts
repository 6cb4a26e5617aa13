/**
 * Read-your-writes without making a write's answer wait for the projector.
 *
 * Some writes answer from what they computed, not from a read model: a query's answer is
 * its result, and the QueryExecuted event only feeds history, usage and audit rows. Those
 * writes skip `settle` and note their position here instead; the auth macro then makes the
 * same principal's next request in this process wait until the projector has passed it.
 * So a client that asks and then lists its history still sees its query, while the answer
 * itself no longer pays for a projection batch (measured: 73-88% of a /query/sql
 * request's CPU went to the append, the batch and the wait).
 *
 * Per process, like the projector's own waiters: a request that lands on another API
 * process sees the write once that process's checkpoints pass it (eventual, not stale
 * forever).
 */
export class OwnWrites {
  private readonly pending = new Map<string, bigint>();

  note(userId: string, position: bigint): void {
    const known = this.pending.get(userId);
    if (known === undefined || position > known) this.pending.set(userId, position);
  }

  /** Waits for the user's (or their API keys') newest noted write to be readable, then forgets it. */
  async settle(userId: string, waitFor: (position: bigint) => Promise<void>): Promise<void> {
    const position = this.pending.get(userId);
    if (position === undefined) return;
    await waitFor(position);
    if (this.pending.get(userId) === position) this.pending.delete(userId);
  }
}
