/**
 * Runs every projection from one subscription to the event store.
 *
 * - Each projection's batch and its checkpoint commit in one transaction.
 * - Only one process projects at a time (advisory lock); the others wait for the lock
 *   and meanwhile answer `waitFor` by reading the checkpoints.
 * - A projection that throws is retried with backoff; the others keep going.
 * - `waitFor(position)` lets a request handler answer only after its write is readable.
 */
import { sql } from "drizzle-orm";
import type { Drizzle, SqlClient } from "../../src/db/client";
import { DomainError } from "../../src/domain/errors";
import type { EventStore, RecordedEvent } from "../../src/eventstore/port";
import type { Logger } from "../../src/logger";
import type { Projection } from "./projection";

export const PROJECTOR_LOCK = 7_244_015_002n;

export interface ProjectionStatus {
  name: string;
  position: bigint;
  error: string | null;
}

export interface ProjectorOptions {
  batchSize?: number;
  /** Events per transaction in `rebuild` (default 2000: measured best, bench/rebuild.ts). */
  rebuildBatchSize?: number;
  logger?: Logger;
  /** How often a non-leader retries the lock and polls checkpoints. */
  leaderRetryMs?: number;
  /**
   * While nobody waits for the events at hand, the projector gathers what arrives within
   * this many milliseconds into the same batch (default 25; 0 applies at once). A waiter
   * ends the window at once.
   */
  idleGatherMs?: number;
  /** Called after each live batch (for /metrics): its events and how long it took. */
  onBatch?: (events: number, seconds: number) => void;
}

interface Tracked {
  projection: Projection;
  handles: Set<string>;
  position: bigint;
  error: string | null;
  retryAt: number;
  failures: number;
}

export class Projector {
  private readonly tracked: Tracked[];
  private readonly batchSize: number;
  private readonly rebuildBatchSize: number;
  private readonly logger?: Logger;
  private readonly leaderRetryMs: number;
  private abort?: AbortController;
  private running?: Promise<void>;
  private leader = false;
  private waiters: Array<{ position: bigint; resolve: () => void }> = [];
  private readonly idleGatherMs: number;
  private readonly onBatch?: (events: number, seconds: number) => void;
  /** Ends the current gathering window (a waiter arrived). */
  private endGathering?: () => void;
  /** Set when a stalled projection is due for a retry: the subscription restarts lower. */
  private restartRequested = false;

  constructor(
    private readonly store: EventStore,
    private readonly db: SqlClient,
    projections: readonly Projection[],
    options: ProjectorOptions = {},
  ) {
    this.tracked = projections.map((projection) => ({
      projection,
      handles: new Set(projection.handles),
      position: 0n,
      error: null,
      retryAt: 0,
      failures: 0,
    }));
    this.batchSize = options.batchSize ?? 1000;
    this.rebuildBatchSize = options.rebuildBatchSize ?? 2000;
    this.logger = options.logger;
    this.leaderRetryMs = options.leaderRetryMs ?? 1000;
    this.idleGatherMs = options.idleGatherMs ?? 25;
    this.onBatch = options.onBatch;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.loop(this.abort.signal).catch((err) => {
      this.logger?.error("projector stopped", { error: String(err) });
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Lowest position every healthy projection has reached. */
  projectedPosition(): bigint {
    const healthy = this.tracked.filter((t) => t.error === null);
    if (healthy.length === 0) return 0n;
    return healthy.reduce((min, t) => (t.position < min ? t.position : min), healthy[0].position);
  }

  status(): ProjectionStatus[] {
    return this.tracked.map((t) => ({ name: t.projection.name, position: t.position, error: t.error }));
  }

  /** Resolves once every projection has passed `position`; 503 after `timeoutMs`. */
  async waitFor(position: bigint, timeoutMs = 5000): Promise<void> {
    if (position <= 0n) return;
    if (this.leader || !this.running) {
      if (this.projectedPosition() >= position) return;
    }
    const deadline = Date.now() + timeoutMs;
    if (this.leader) {
      const reached = new Promise<void>((resolve) => this.waiters.push({ position, resolve }));
      this.endGathering?.();
      const timedOut = Bun.sleep(timeoutMs).then(() => "timeout" as const);
      if ((await Promise.race([reached, timedOut])) !== "timeout") return;
    } else {
      // Another process projects: watch the shared checkpoints. (Or this one is about to:
      // should it become the leader meanwhile, its gathering must not keep us waiting.
      // A waiter in another process cannot end the leader's window; it waits at most
      // idleGatherMs longer.)
      while (Date.now() < deadline) {
        this.endGathering?.();
        if ((await this.checkpointFloor()) >= position) return;
        await Bun.sleep(15);
      }
    }
    throw new DomainError("unavailable", "The change was recorded but is not readable yet; retry shortly");
  }

  private async checkpointFloor(): Promise<bigint> {
    const rows = await this.db.query<{ floor: string | null }>(
      "SELECT min(position)::text AS floor FROM projection_checkpoints WHERE last_error IS NULL AND name = ANY($1::text[])",
      [this.tracked.map((t) => t.projection.name)],
    );
    return rows[0]?.floor ? BigInt(rows[0].floor) : 0n;
  }

  private notifyWaiters(): void {
    if (this.waiters.length === 0) return;
    const reached = this.projectedPosition();
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.position <= reached ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const lock = await this.db.tryAdvisoryLock(PROJECTOR_LOCK).catch(() => null);
      if (!lock) {
        await sleep(this.leaderRetryMs, signal);
        continue;
      }
      this.leader = true;
      try {
        await this.prepareCheckpoints();
        this.notifyWaiters();
        while (!signal.aborted) await this.follow(signal);
      } catch (err) {
        if (!signal.aborted) {
          this.logger?.error("projector failed; retrying", { error: String(err) });
          await sleep(500, signal);
        }
      } finally {
        this.leader = false;
        await lock.release();
      }
    }
  }

  /** Creates missing checkpoints and rebuilds projections whose version changed. */
  async prepareCheckpoints(): Promise<void> {
    const rows = await this.db.query<{ name: string; position: string; version: number; last_error: string | null }>(
      "SELECT name, position::text AS position, version, last_error FROM projection_checkpoints",
    );
    const byName = new Map(rows.map((r) => [r.name, r]));
    for (const t of this.tracked) {
      const row = byName.get(t.projection.name);
      if (row && row.version === t.projection.version) {
        t.position = BigInt(row.position);
        continue;
      }
      if (row) this.logger?.info("projection version changed; rebuilding", { projection: t.projection.name });
      await this.reset(t.projection);
      t.position = 0n;
    }
  }

  /** Empties a projection's tables and puts its checkpoint at zero, atomically. */
  async reset(projection: Projection): Promise<void> {
    await this.db.drizzle.transaction(async (tx) => {
      for (const table of projection.tables) await tx.execute(sql.raw(`DELETE FROM "${table}"`));
      await tx.execute(sql`
        INSERT INTO projection_checkpoints (name, position, version, last_error, updated_at)
        VALUES (${projection.name}, 0, ${projection.version}, NULL, now())
        ON CONFLICT (name) DO UPDATE SET position = 0, version = excluded.version, last_error = NULL, updated_at = now()`);
    });
  }

  /** One subscription from the lowest checkpoint, until a stalled projection is due again. */
  private async follow(signal: AbortSignal): Promise<void> {
    const inner = new AbortController();
    const onAbort = () => inner.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    this.restartRequested = false;
    const retryTimer = setInterval(() => {
      if (this.tracked.some((t) => t.error !== null && Date.now() >= t.retryAt)) {
        this.restartRequested = true;
        inner.abort();
      }
    }, 250);
    try {
      const due = this.tracked.filter((t) => t.error === null || Date.now() >= t.retryAt);
      const from = due.reduce((min, t) => (t.position < min ? t.position : min), due[0]?.position ?? 0n);
      const iterator = this.store.subscribeAll({ fromPosition: from, signal: inner.signal })[Symbol.asyncIterator]();
      let pending = iterator.next();
      for (;;) {
        const first = await pending;
        if (first.done) break;
        const batch: RecordedEvent[] = [first.value];
        pending = iterator.next();
        /** Adds events to the batch until `stop` settles first; "ended" when the subscription did. */
        const take = async (stop: () => Promise<symbol>): Promise<"ended" | "stopped"> => {
          while (batch.length < this.batchSize) {
            const next = await Promise.race([pending, stop()]);
            if (typeof next === "symbol") return "stopped";
            if (next.done) return "ended";
            batch.push(next.value);
            pending = iterator.next();
          }
          return "stopped";
        };
        // Whatever the subscription already has buffered, without waiting for more.
        const buffered = await take(macrotask);
        // Nobody waits for these events yet (a login leaves its read models to the user's
        // next request): what arrives within a short window joins this batch, one
        // transaction instead of several. A waiter ends the window at once.
        if (buffered !== "ended" && this.idleGatherMs > 0 && this.waiters.length === 0) {
          const window = this.gatheringWindow();
          try {
            await take(() => window);
          } finally {
            this.endGathering?.();
          }
        }
        await this.applyBatch(batch);
        if (this.restartRequested) break;
      }
      await iterator.return?.();
    } finally {
      clearInterval(retryTimer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Resolves after idleGatherMs, or as soon as a waiter arrives (endGathering). */
  private gatheringWindow(): Promise<typeof GATHERED> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.endGathering?.(), this.idleGatherMs);
      this.endGathering = () => {
        clearTimeout(timer);
        this.endGathering = undefined;
        resolve(GATHERED);
      };
    });
  }

  /**
   * Applies one batch to every projection that has not yet seen it, in one transaction:
   * one commit (one disk flush) per batch instead of one per projection plus one for
   * the checkpoints of projections with nothing to do.
   *
   * First without savepoints: they cost two round trips per projection, and with the
   * small batches of a quiet system that was most of the batch's statements. Only when
   * that transaction fails is the batch applied again, with a SAVEPOINT per projection,
   * so that a failing projection cannot take the others down with it.
   */
  async applyBatch(batch: RecordedEvent[]): Promise<void> {
    const started = performance.now();
    const end = batch[batch.length - 1].position;
    const due = this.tracked.filter((t) => t.position < end && (t.error === null || Date.now() >= t.retryAt));
    const work = due.map((t) => ({ t, events: batch.filter((e) => e.position > t.position && t.handles.has(e.type)) }));
    let outcomes: Array<{ t: Tracked; error: string | null }>;
    try {
      await this.db.drizzle.transaction(async (tx) => {
        // Projections write disjoint tables, and the checkpoints only count once all of it
        // commits, so everything runs side by side: the statements share the transaction's
        // connection, pipelined instead of one round trip each.
        const applied = await Promise.allSettled([
          ...work.filter((w) => w.events.length > 0).map(({ t, events }) => t.projection.apply(tx, events)),
          this.moveCheckpoints(tx, due, end),
        ]);
        const failed = applied.find((a) => a.status === "rejected");
        if (failed) throw failed.reason;
      });
      outcomes = due.map((t) => ({ t, error: null }));
    } catch {
      outcomes = await this.applyIsolated(work, end);
    } finally {
      // This transaction held back what subscribers may pass (see src/eventstore/postgres.ts).
      this.store.nudge?.();
    }
    for (const { t, error } of outcomes) {
      if (error === null) {
        t.position = end;
        if (t.error !== null) this.logger?.info("projection recovered", { projection: t.projection.name });
        t.error = null;
        t.failures = 0;
      } else {
        t.failures++;
        t.error = error;
        t.retryAt = Date.now() + Math.min(30_000, 250 * 2 ** Math.min(t.failures, 7));
        this.logger?.error("projection failed; will retry", { projection: t.projection.name, error, position: String(t.position) });
      }
    }
    this.notifyWaiters();
    this.onBatch?.(batch.length, (performance.now() - started) / 1000);
  }

  /** The batch again, each projection behind its own savepoint: the failing ones record their error. */
  private async applyIsolated(work: Array<{ t: Tracked; events: RecordedEvent[] }>, end: bigint): Promise<Array<{ t: Tracked; error: string | null }>> {
    const outcomes: Array<{ t: Tracked; error: string | null }> = [];
    await this.db.drizzle.transaction(async (tx) => {
      for (const { t, events } of work) {
        if (events.length === 0) {
          outcomes.push({ t, error: null });
          continue;
        }
        await tx.execute(sql`SAVEPOINT projection`);
        try {
          await t.projection.apply(tx, events);
          await tx.execute(sql`RELEASE SAVEPOINT projection`);
          outcomes.push({ t, error: null });
        } catch (err) {
          await tx.execute(sql`ROLLBACK TO SAVEPOINT projection`);
          const error = err instanceof Error ? err.message : String(err);
          await tx.execute(sql`UPDATE projection_checkpoints SET last_error = ${error}, updated_at = now() WHERE name = ${t.projection.name}`);
          outcomes.push({ t, error });
        }
      }
      await this.moveCheckpoints(tx, outcomes.filter((o) => o.error === null).map((o) => o.t), end);
    });
    return outcomes;
  }

  /**
   * Every projection that took the batch (or had nothing in it) moves on, in one
   * statement, so other processes waiting on the checkpoints see the floor rise.
   */
  private async moveCheckpoints(tx: Drizzle, moved: Tracked[], end: bigint): Promise<void> {
    if (moved.length === 0) return;
    await tx.execute(sql`
      UPDATE projection_checkpoints SET position = ${end}, last_error = NULL, updated_at = now()
      WHERE name IN (${sql.join(moved.map((t) => sql`${t.projection.name}`), sql`, `)}) AND position < ${end}`);
  }

  /**
   * Rebuilds projections from zero while the caller holds the projector lock (the
   * replay command) or the projector is stopped. Progress is reported per batch.
   */
  async rebuild(
    names: readonly string[] | undefined,
    onProgress?: (p: { projection: string; position: bigint; head: bigint; applied: number }) => void,
  ): Promise<{ events: number; seconds: number }> {
    const chosen = names && names.length > 0 ? this.tracked.filter((t) => names.includes(t.projection.name)) : this.tracked;
    const unknown = (names ?? []).filter((n) => !this.tracked.some((t) => t.projection.name === n));
    if (unknown.length > 0) throw new Error(`unknown projection(s): ${unknown.join(", ")}`);
    const started = performance.now();
    let total = 0;
    const head = await this.store.headPosition();
    for (const t of chosen) {
      await this.reset(t.projection);
      t.position = 0n;
      t.error = null;
      let applied = 0;
      // Untyped reads in position order, filtered here: a typed read plans as a sort of
      // every matching row when the events table has no statistics (PGlite never does).
      const read = (from: bigint) => this.store.readAll({ fromPosition: from, limit: this.rebuildBatchSize });
      let next = read(t.position);
      for (;;) {
        const batch = await next;
        if (batch.length === 0) break;
        const end = batch[batch.length - 1].position;
        // Read the next batch while this one is applied: the read (event store, JSON
        // parsing) overlaps the write (read-model transaction).
        next = read(end);
        next.catch(() => {}); // surfaces when awaited
        const events = batch.filter((e) => t.handles.has(e.type));
        await this.db.drizzle.transaction(async (tx) => {
          if (events.length > 0) await t.projection.apply(tx, events);
          await tx.execute(sql`UPDATE projection_checkpoints SET position = ${end}, updated_at = now() WHERE name = ${t.projection.name}`);
        });
        t.position = end;
        applied += events.length;
        onProgress?.({ projection: t.projection.name, position: end, head, applied });
      }
      // Nothing of its types beyond here: it is caught up to the head we saw.
      if (head > t.position) {
        await this.db.query("UPDATE projection_checkpoints SET position = $1 WHERE name = $2 AND position < $1", [head.toString(), t.projection.name]);
        t.position = head;
      }
      total += applied;
    }
    return { events: total, seconds: (performance.now() - started) / 1000 };
  }
}

const GATHERED = Symbol("gathered");
const MACROTASK = Symbol("macrotask");
function macrotask(): Promise<typeof MACROTASK> {
  return new Promise((resolve) => setImmediate(() => resolve(MACROTASK)));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
