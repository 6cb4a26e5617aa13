/**
 * Group commit for the Postgres event store: appends that arrive while earlier ones are
 * in flight wait and then go to the database together, as one call of ll_append_batch
 * (one round trip, one transaction, one commit). An append that finds a free slot goes
 * at once and alone, so a quiet system waits for nothing. Each append still succeeds or
 * fails on its own: a failed expectation comes back for that item only.
 *
 * Why: on a small machine each round trip and each commit cost more CPU than the insert
 * itself (drizzle/0012_append_batch.sql has the figures).
 */

/** One append as ll_append takes it: the stream, the expectation as text, the events with their content hashes. */
export interface PendingAppend {
  stream: string;
  expected: string;
  events: unknown[];
}

export interface AppendRow {
  next_revision: string;
  last_position: string;
}

/** What ll_append_batch answers per item. */
export interface BatchRow {
  ord: number;
  next_revision: string | null;
  last_position: string | null;
  error: string | null;
  actual: string | null;
}

export interface AppendTransport {
  /** ll_append: rejects with the database's error (code LL409 with the actual revision as detail, 23505, ...). */
  one(append: PendingAppend): Promise<AppendRow>;
  /** ll_append_batch: one row per append, in order; rejects as a whole on any other error. */
  many(appends: PendingAppend[]): Promise<BatchRow[]>;
  /** Errors that say the database is unreachable: retrying one by one would not help. */
  isConnectionError(err: unknown): boolean;
}

/** Shaped like the database's own error for a failed expectation, so one catch handles both paths. */
export class ExpectationFailed extends Error {
  readonly code = "LL409";
  constructor(readonly detail: string) {
    super("wrong expected revision");
  }
}

interface Waiting {
  append: PendingAppend;
  resolve(row: AppendRow): void;
  reject(err: unknown): void;
}

export class AppendBatcher {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;

  constructor(
    private readonly transport: AppendTransport,
    /** Calls in flight at once; more appends wait and are sent together. */
    private readonly maxInFlight = 2,
    /** Appends per call at most. */
    private readonly maxBatch = 32,
  ) {}

  submit(append: PendingAppend): Promise<AppendRow> {
    return new Promise((resolve, reject) => {
      this.queue.push({ append, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.sendAlone(batch[0]);
    let rows: BatchRow[];
    try {
      rows = await this.transport.many(batch.map((w) => w.append));
    } catch (err) {
      if (this.transport.isConnectionError(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      // E.g. an event id that exists already (an idempotent retry): the whole call rolled
      // back; one by one, each append meets its own outcome.
      await Promise.all(batch.map((w) => this.sendAlone(w)));
      return;
    }
    for (const row of rows) {
      const w = batch[row.ord - 1];
      if (row.error === null && row.next_revision !== null && row.last_position !== null) {
        w.resolve({ next_revision: row.next_revision, last_position: row.last_position });
      } else {
        w.reject(new ExpectationFailed(row.actual ?? "no_stream"));
      }
    }
  }

  private async sendAlone(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.transport.one(w.append));
    } catch (err) {
      w.reject(err);
    }
  }
}
