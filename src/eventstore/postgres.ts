/**
 * Event store on a Postgres `events` table (postgres.js or PGlite, same SQL).
 * Appends go through `ll_append` (drizzle/0011): one round trip, one transaction; appends
 * that queue up behind others go together through `ll_append_batch` (append-batcher.ts).
 * Readers never pass an event whose writing transaction may still be open
 * (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`), so a subscriber cannot
 * skip an event that commits after a later-numbered one.
 */
import type { SqlClient } from "../db/client";
import {
  DuplicateEventIdError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from "./port";
import { Waker } from "./waker";
import { AppendBatcher, type AppendRow, type BatchRow, type PendingAppend } from "./append-batcher";
import { contentHash } from "./hash-chain";

export const EVENTS_CHANNEL = "ledgerline_events";

interface EventRow {
  global_position: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: Record<string, unknown> | string;
  metadata: EventMetadata | string;
  recorded_at: string | Date;
  hash: string | null;
  prev_hash: string | null;
}

// Output aliases shadow column names in ORDER BY: always order by `events.<column>`.
const COLUMNS =
  "global_position::text AS global_position, stream_id, stream_revision::text AS stream_revision, event_id::text AS event_id, event_type, data, metadata, recorded_at, encode(hash, 'hex') AS hash, encode(prev_hash, 'hex') AS prev_hash";

/** Other processes hear of this one's appends at most this much later (notifyOthers). */
const NOTIFY_INTERVAL_MS = 5;

/** A subscriber held back by an open transaction looks again at least this often. */
const BLOCKED_MAX_WAIT_MS = 64;

/** Only events committed below every open transaction are safe to hand to a reader. */
const VISIBLE = "transaction_id < pg_snapshot_xmin(pg_current_snapshot())";

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.event_type,
    data: typeof row.data === "string" ? JSON.parse(row.data) : row.data,
    metadata: typeof row.metadata === "string" ? JSON.parse(row.metadata) : row.metadata,
    streamId: row.stream_id,
    revision: BigInt(row.stream_revision),
    position: BigInt(row.global_position),
    recordedAt: row.recorded_at instanceof Date ? row.recorded_at : new Date(row.recorded_at),
    hash: row.hash,
    prevHash: row.prev_hash,
  };
}

/**
 * An append as ll_append and ll_append_batch take it. The content hash is computed here,
 * from the same values that are stored; the database chains it.
 */
function pendingAppend(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): PendingAppend {
  return {
    stream: streamId,
    expected: typeof expected === "bigint" ? expected.toString() : expected,
    events: events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata, content_hash: contentHash(e).toString("hex") })),
  };
}

/** The stream's revision an LL409 reports in its DETAIL. */
function actualRevision(err: unknown): bigint | "no_stream" {
  const detail = (err as { detail?: string }).detail;
  return detail && detail !== "no_stream" ? BigInt(detail) : "no_stream";
}

function errorCode(err: unknown): string | undefined {
  return (err as { code?: string })?.code;
}

function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "CONNECTION_CLOSED" ||
    code === "CONNECTION_ENDED" ||
    code === "CONNECT_TIMEOUT" ||
    code === "CONNECTION_DESTROYED" ||
    (typeof code === "string" && code.startsWith("08")) ||
    code === "57P01"
  );
}

export interface PostgresEventStoreOptions {
  /** How often an idle subscriber re-reads when no notification arrives. */
  pollIntervalMs?: number;
  /** Events per read while a subscriber catches up. */
  batchSize?: number;
}

export class PostgresEventStore implements EventStore {
  readonly name: "postgres" | "pglite";
  private readonly waker: Waker;
  /** Appends that queue up behind others go to the database together (group commit). */
  private readonly batcher: AppendBatcher;
  /** Wakes only subscribers held back by an open transaction (see nudge). */
  private readonly nudges = new Waker();
  /** The newest position this process appended: an idle subscriber at or past it has nothing local to read. */
  private localHead = 0n;
  /** Counts wake-ups from other processes (NOTIFY), which say nothing about positions. */
  private remoteWakes = 0;
  /** Sent as the NOTIFY payload so that this process ignores the echo of its own appends. */
  private readonly instanceId = crypto.randomUUID();
  private stopListening?: Promise<() => Promise<void>>;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private notifying = false;
  private readonly followingReads = new Map<string, { generation: number; read: Promise<{ events: RecordedEvent[]; blocked: boolean }> }>();
  private notifyAgain = false;

  constructor(private readonly db: SqlClient, options: PostgresEventStoreOptions = {}) {
    this.name = db.kind;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.batchSize = options.batchSize ?? 1000;
    this.waker = new Waker();
    this.batcher = new AppendBatcher({
      one: async (a) => {
        const [row] = await this.db.query<AppendRow>(
          "SELECT next_revision::text AS next_revision, last_position::text AS last_position FROM ll_append($1, $2, $3::jsonb)",
          [a.stream, a.expected, JSON.stringify(a.events)],
        );
        return row;
      },
      many: (appends) =>
        this.db.query<BatchRow>(
          "SELECT ord, next_revision::text AS next_revision, last_position::text AS last_position, error, actual FROM ll_append_batch($1::jsonb)",
          [JSON.stringify(appends)],
        ),
      isConnectionError,
    });
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError("append needs at least one event");
    try {
      const row = await this.batcher.submit(pendingAppend(streamId, events, expected));
      const position = BigInt(row.last_position);
      this.appended(position);
      return { nextRevision: BigInt(row.next_revision), position };
    } catch (err) {
      const code = errorCode(err);
      if (code === "LL409" || code === "23505") {
        const replay = await this.previouslyAppended(streamId, events);
        if (replay) return replay;
        if (code === "23505") {
          // Our stream row was free but an event id collided: it lives elsewhere.
          if (String((err as { constraint_name?: string; constraint?: string }).constraint_name ?? (err as { constraint?: string }).constraint ?? (err as Error).message).includes("event_id")) {
            throw new DuplicateEventIdError(events[0].id);
          }
          // A concurrent first append to a new stream raced us on (stream_id, revision).
          throw new WrongExpectedRevisionError(streamId, expected, await this.currentRevision(streamId));
        }
        throw new WrongExpectedRevisionError(streamId, expected, actualRevision(err));
      }
      if (isConnectionError(err)) throw new EventStoreUnavailableError("event store unreachable", err);
      throw err;
    }
  }

  async appendAtomically(appends: ReadonlyArray<{ streamId: string; events: readonly NewEvent[]; expected: ExpectedRevision }>): Promise<AppendResult[]> {
    if (appends.length === 0 || appends.some((a) => a.events.length === 0)) throw new RangeError("appendAtomically needs at least one event per stream");
    const items = appends.map((a) => pendingAppend(a.streamId, a.events, a.expected));
    let rows: BatchRow[];
    try {
      // Its own call, not through the batcher: the unit must not share a fate with strangers' appends.
      rows = await this.db.query<BatchRow>(
        "SELECT ord, next_revision::text AS next_revision, last_position::text AS last_position, error, actual FROM ll_append_batch($1::jsonb, true)",
        [JSON.stringify(items)],
      );
    } catch (err) {
      if (errorCode(err) === "LL409") {
        const failed = appends[Number((err as { hint?: string }).hint ?? 1) - 1] ?? appends[0];
        throw new WrongExpectedRevisionError(failed.streamId, failed.expected, actualRevision(err));
      }
      if (errorCode(err) === "23505") throw new DuplicateEventIdError(appends[0].events[0].id);
      if (isConnectionError(err)) throw new EventStoreUnavailableError("event store unreachable", err);
      throw err;
    }
    const results = rows
      .sort((a, b) => a.ord - b.ord)
      .map((r) => ({ nextRevision: BigInt(r.next_revision!), position: BigInt(r.last_position!) }));
    this.appended(results.reduce((max, r) => (r.position > max ? r.position : max), 0n));
    return results;
  }

  /** After a commit up to `position`: local subscribers at once, other processes by NOTIFY. */
  private appended(position: bigint): void {
    if (position > this.localHead) this.localHead = position;
    // Same-process subscribers need not wait for the NOTIFY round trip.
    this.waker.wake();
    this.notifyOthers();
  }

  /**
   * Wakes subscribers in other processes, after the append has committed. Coalesced: at
   * most one NOTIFY per NOTIFY_INTERVAL_MS per process, covering every append before it
   * was sent. (NOTIFY inside the append transaction would serialize all commits on its
   * lock.) If the process dies before notifying, other subscribers find the events by
   * polling.
   */
  private notifyOthers(): void {
    if (this.db.kind !== "postgres") return;
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    void this.db
      .query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, this.instanceId])
      .catch(() => {})
      .finally(() =>
        setTimeout(() => {
          this.notifying = false;
          if (this.notifyAgain) {
            this.notifyAgain = false;
            this.notifyOthers();
          }
        }, NOTIFY_INTERVAL_MS),
      );
  }

  /** Idempotency: the same event ids already stored in this stream, in order, count as success. */
  private async previouslyAppended(streamId: string, events: readonly NewEvent[]): Promise<AppendResult | null> {
    const ids = events.map((e) => e.id);
    const rows = await this.db.query<{ stream_id: string; stream_revision: string; global_position: string; event_id: string }>(
      "SELECT stream_id, stream_revision::text AS stream_revision, global_position::text AS global_position, event_id::text AS event_id FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY events.global_position",
      [ids],
    );
    if (rows.length === 0) return null;
    const sameStream = rows.every((r) => r.stream_id === streamId);
    if (!sameStream || rows.length !== ids.length || rows.some((r, i) => r.event_id !== ids[i])) {
      throw new DuplicateEventIdError(rows[0].event_id);
    }
    const last = rows[rows.length - 1];
    return { nextRevision: BigInt(last.stream_revision), position: BigInt(last.global_position) };
  }

  private async currentRevision(streamId: string): Promise<bigint | "no_stream"> {
    const [row] = await this.db.query<{ revision: string }>("SELECT revision::text AS revision FROM streams WHERE stream_id = $1", [streamId]);
    return row ? BigInt(row.revision) : "no_stream";
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === "backwards";
    const limit = options.limit ?? 2_147_483_647;
    const from = options.fromRevision ?? (backwards ? 9_223_372_036_854_775_807n : 0n);
    const rows = await this.guard(() =>
      this.db.query<EventRow>(
        `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND stream_revision ${backwards ? "<=" : ">="} $2
          ORDER BY events.stream_revision ${backwards ? "DESC" : "ASC"} LIMIT $3`,
        [streamId, from.toString(), limit],
      ),
    );
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const from = (options.fromPosition ?? 0n).toString();
    const limit = options.limit ?? this.batchSize;
    const rows = await this.guard(() =>
      options.types && options.types.length > 0
        ? this.db.query<EventRow>(
            `SELECT ${COLUMNS} FROM events WHERE global_position > $1 AND event_type = ANY($3::text[]) AND ${VISIBLE}
              ORDER BY events.global_position LIMIT $2`,
            [from, limit, options.types],
          )
        : this.db.query<EventRow>(
            `SELECT ${COLUMNS} FROM events WHERE global_position > $1 AND ${VISIBLE} ORDER BY events.global_position LIMIT $2`,
            [from, limit],
          ),
    );
    return rows.map(toRecorded);
  }

  async *subscribeAll(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    await this.ensureListening();
    let position = options.fromPosition ?? 0n;
    const signal = options.signal;
    let blockedWaitMs = 0;
    while (!signal?.aborted) {
      // Take the wake-up tickets before reading, so an append landing during the read is not missed.
      const ticket = this.waker.ticket();
      const nudgeTicket = this.nudges.ticket();
      const remoteTicket = this.remoteWakes;
      const { events: batch, blocked } = await this.readFollowing(position, this.batchSize, ticket);
      for (const event of batch) {
        if (signal?.aborted) return;
        yield event;
        position = event.position;
      }
      if (batch.length === this.batchSize) {
        blockedWaitMs = 0;
        continue;
      }
      if (blocked) {
        // Committed events wait behind a transaction still open: an append in flight
        // (its wake-up comes), or a read-model transaction, whose commit notifies nobody
        // unless it is this process's projector (it nudges). Look again soon, backing
        // off while it stays open.
        blockedWaitMs = Math.min(this.pollIntervalMs, BLOCKED_MAX_WAIT_MS, blockedWaitMs === 0 ? 4 : blockedWaitMs * 2);
        await Promise.race([this.waker.wait(ticket, blockedWaitMs, signal), this.nudges.wait(nudgeTicket, blockedWaitMs, signal)]);
        continue;
      }
      blockedWaitMs = 0;
      await this.idle(position, ticket, remoteTicket, signal);
    }
  }

  /**
   * Waits until there may be something after `position`: a local append past it, a
   * notification from another process, or the poll interval (the safety net for a lost
   * notification). A local wake-up for events already read costs no query.
   */
  private async idle(position: bigint, ticket: number, remoteTicket: number, signal?: AbortSignal): Promise<void> {
    const deadline = performance.now() + this.pollIntervalMs;
    for (;;) {
      if (this.localHead > position || this.remoteWakes !== remoteTicket || signal?.aborted || this.waker.isClosed) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      await this.waker.wait(ticket, left, signal);
      ticket = this.waker.ticket();
    }
  }

  private readFollowing(from: bigint, limit: number, ticket: number): Promise<{ events: RecordedEvent[]; blocked: boolean }> {
    // Subscribers woken by the same append (the projector, the security state) usually
    // ask for the same page at the same moment: one query serves them all. A read is only
    // shared if it was sent after the caller's wake-up ticket, or it could predate the
    // append that woke the caller. The events are shared between them, and read-only.
    const key = `${from}:${limit}`;
    const shared = this.followingReads.get(key);
    if (shared && shared.generation >= ticket) return shared.read;
    const generation = this.waker.ticket();
    const read = this.queryFollowing(from, limit).finally(() => {
      if (this.followingReads.get(key)?.read === read) this.followingReads.delete(key);
    });
    this.followingReads.set(key, { generation, read });
    return read;
  }

  private async queryFollowing(from: bigint, limit: number): Promise<{ events: RecordedEvent[]; blocked: boolean }> {
    const rows = await this.guard(() =>
      this.db.query<EventRow & { visible: boolean }>(
        `SELECT ${COLUMNS}, ${VISIBLE} AS visible FROM events WHERE global_position > $1 ORDER BY events.global_position LIMIT $2`,
        [from.toString(), limit],
      ),
    );
    const firstHeld = rows.findIndex((r) => !r.visible);
    if (firstHeld < 0) return { events: rows.map(toRecorded), blocked: false };
    return { events: rows.slice(0, firstHeld).map(toRecorded), blocked: true };
  }

  private ensureListening(): Promise<unknown> {
    this.stopListening ??= this.db
      .listen(EVENTS_CHANNEL, (payload) => {
        if (payload === this.instanceId) return; // our own append: local subscribers were woken already
        this.remoteWakes++;
        this.waker.wake();
      })
      .catch(() => async () => {});
    return this.stopListening;
  }

  async headPosition(): Promise<bigint> {
    const [row] = await this.guard(() =>
      this.db.query<{ head: string | null }>(`SELECT max(global_position)::text AS head FROM events WHERE ${VISIBLE}`),
    );
    return row?.head ? BigInt(row.head) : 0n;
  }

  nudge(): void {
    // Only subscribers held back by an open transaction care; idle ones wait for appends.
    this.nudges.wake();
  }

  async ping(): Promise<void> {
    await this.guard(() => this.db.query("SELECT 1"));
  }

  async close(): Promise<void> {
    this.waker.close();
    this.nudges.close();
    if (this.stopListening) await (await this.stopListening)().catch(() => {});
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw new EventStoreUnavailableError("event store unreachable", err);
      throw err;
    }
  }
}
