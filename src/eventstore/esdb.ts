/**
 * Event store on EventStoreDB (KurrentDB), over gRPC with `@eventstore/db-client`.
 *
 * Positions. EventStoreDB orders `$all` by (commit, prepare) log positions. An ordinary
 * gRPC append is an *implicit* transaction: every event is its own prepare record flagged
 * as committed, so when `$all` is read each event reports commit == prepare == its own log
 * position (AllReader builds the record with the prepare's LogPosition as commit position).
 * Only explicit transactions of the legacy TCP API (never written by this adapter) made
 * several events share one commit record's position.
 * So the port's single, strictly increasing position is the **commit position**.
 *
 * The append reply is the trap: its commit position is the position of the batch's LAST
 * event (the TransactionEnd prepare), but its prepare position is the batch's FIRST event
 * (the transaction position). Taking the prepare position there would hand back a position
 * before the events just written, and read-your-writes would stop waiting too early.
 *
 * A read of `$all` from a position includes the event at that position; reads and
 * subscriptions both drop everything at or below `fromPosition` here, so it is exclusive
 * everywhere, as the port says. System events (types or streams starting with "$": links,
 * stats, metadata) are never handed out.
 */
import {
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type ReadPosition,
  type ResolvedEvent,
} from "@eventstore/db-client";
import {
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
import { chainHash, contentHash } from "./hash-chain";

export interface EventStoreDBEventStoreOptions {
  /** Pause before re-subscribing when the server drops a live subscription (e.g. a slow consumer). */
  pollIntervalMs?: number;
  /** Events per read from `$all`; the default `readAll` limit. */
  batchSize?: number;
  /**
   * Longest wait for an append or read before the server counts as unreachable. Default:
   * the connection string's `defaultDeadline` (10 s when absent) plus 1 s.
   */
  timeoutMs?: number;
  /** How long `ping` waits for an answer before calling the server unreachable (default 2 s). */
  pingTimeoutMs?: number;
}

type AnyRecorded = NonNullable<ResolvedEvent["event"]>;

/** A position the server could not report (stream reads on servers before 22.6 send u64::MAX or nothing). */
const UNKNOWN_POSITION = -1n;
const MAX_SIGNED_64 = (1n << 63n) - 1n;
const MAX_READ_CHUNK = 5000;

/** The 6.x client only knows esdb://; KurrentDB's own schemes mean the same connection. */
export function normalizeConnectionString(connectionString: string): string {
  return connectionString.replace(/^(kurrentdb|kurrent|kdb)(\+discover)?:\/\//i, (_m, _scheme, discover) => `esdb${discover ?? ""}://`);
}

function toAppendRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case "any":
      return "any";
    case "no_stream":
      return NO_STREAM;
    case "exists":
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

/** `0n` is "from the beginning"; anything else is a real event position (commit == prepare). */
function toReadPosition(position: bigint): ReadPosition {
  return position <= 0n ? START : { commit: position, prepare: position };
}

function positionOf(event: AnyRecorded, commitPosition?: bigint): bigint {
  const commit = event.position?.commit ?? commitPosition;
  if (commit === undefined || commit < 0n || commit > MAX_SIGNED_64) return UNKNOWN_POSITION;
  return commit;
}

function isUserEvent(event: AnyRecorded): boolean {
  return !event.type.startsWith("$") && !event.streamId.startsWith("$");
}

function decodeJson(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    if (value.length === 0) return {};
    value = Buffer.from(value).toString("utf8");
  }
  if (typeof value === "string") {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value ?? {};
}

/** Where the hash chain rides in ESDB metadata; taken out again on read (see hash-chain.ts). */
const CHAIN_KEY = "ll_chain";

function toRecorded(event: AnyRecorded, position: bigint): RecordedEvent {
  const stored = decodeJson(event.metadata) as EventMetadata & { [CHAIN_KEY]?: { hash?: string; prev_hash?: string | null } };
  const { [CHAIN_KEY]: chain, ...metadata } = stored ?? ({} as typeof stored);
  return {
    id: event.id,
    type: event.type,
    data: decodeJson(event.data) as Record<string, unknown>,
    metadata: metadata as EventMetadata,
    streamId: event.streamId,
    revision: event.revision,
    position,
    recordedAt: event.created,
    hash: chain?.hash ?? null,
    prevHash: chain?.prev_hash ?? null,
  };
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

/**
 * The client converts most gRPC failures into its own error classes, but not all: before
 * the first append it asks the server for its features, and that call rejects with the raw
 * gRPC error (code 14 UNAVAILABLE, or 4 DEADLINE_EXCEEDED), so both shapes are recognised.
 * A deadline may expire after the server stored the events; callers retry with the same
 * event ids and ESDB's idempotency makes the retry harmless.
 */
export function isUnavailableError(err: unknown): boolean {
  if (
    err instanceof NoAnswerError ||
    err instanceof UnavailableError ||
    err instanceof DeadlineExceededError ||
    err instanceof TimeoutError ||
    // The client has already reconnected to the leader; the next attempt goes there.
    err instanceof NotLeaderError
  ) {
    return true;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 14 || code === 4) return true;
  if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  // Gossip discovery (esdb+discover://) gives up with a plain Error.
  return err instanceof Error && /^Failed to discover after \d+ attempts/.test(err.message);
}

function mapError(err: unknown): unknown {
  if (err instanceof EventStoreUnavailableError) return err;
  if (isUnavailableError(err)) {
    return new EventStoreUnavailableError(`event store unreachable: ${(err as Error)?.message ?? String(err)}`, err);
  }
  return err;
}

/**
 * Errors with which the server ends a healthy subscription and expects the client back,
 * e.g. ABORTED "Operation timed out: Consumer too slow to handle event while live. Client
 * resubscription required." (the client turns ABORTED into its TimeoutError, so this is
 * checked before the unavailability test), or CANCELLED by the server.
 */
function isSubscriptionDrop(err: unknown): boolean {
  if (err instanceof NoAnswerError) return false;
  const message = err instanceof Error ? err.message : "";
  const code = (err as { code?: unknown } | null)?.code;
  return code === 1 || code === 10 || /too slow|resubscription required/i.test(message);
}

async function drain<E>(stream: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** No answer in time: a server that accepts connections but never speaks (a proxy in front of a dead node). */
class NoAnswerError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the event store within ${ms} ms`);
    this.name = "NoAnswerError";
  }
}

/** The `defaultDeadline` of an esdb:// connection string (keys are case-insensitive there). */
function defaultDeadlineOf(connectionString: string): number | undefined {
  const query = connectionString.indexOf("?");
  if (query < 0) return undefined;
  for (const [key, value] of new URLSearchParams(connectionString.slice(query + 1))) {
    const ms = Number(value);
    if (key.toLowerCase() === "defaultdeadline" && Number.isFinite(ms) && ms > 0) return ms;
  }
  return undefined;
}

type FeedItem = { kind: "event"; resolved: AllStreamResolvedEvent } | { kind: "error"; error: unknown } | { kind: "end" };

/**
 * Turns a client subscription (a Node stream) into pull-based items with backpressure.
 * Not the stream's own async iterator: after `unsubscribe()` the client cancels the gRPC
 * call but never ends its Transform, so that iterator would wait forever.
 * The server confirms every new subscription first; without that confirmation in time
 * the feed fails, because silence from a dead server looks the same as a quiet log.
 */
class SubscriptionFeed {
  private readonly queue: AllStreamResolvedEvent[] = [];
  private head = 0;
  private error: unknown;
  private failed = false;
  private ended = false;
  private wakeUp?: () => void;
  private confirmTimer?: ReturnType<typeof setTimeout>;

  constructor(
    readonly subscription: AllStreamSubscription,
    private readonly highWaterMark: number,
    confirmWithinMs: number,
    private readonly signal?: AbortSignal,
  ) {
    subscription.on("data", (resolved: AllStreamResolvedEvent) => {
      this.queue.push(resolved);
      if (this.queue.length - this.head >= this.highWaterMark) subscription.pause();
      this.wake();
    });
    subscription.on("error", (err: Error) => this.fail(err));
    subscription.on("confirmation", () => clearTimeout(this.confirmTimer));
    subscription.on("end", () => this.finish());
    subscription.on("close", () => this.finish());
    signal?.addEventListener("abort", this.wake, { once: true });
    this.confirmTimer = setTimeout(() => this.fail(new NoAnswerError("subscribe to $all", confirmWithinMs)), confirmWithinMs);
  }

  private readonly wake = (): void => {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  };

  private fail(err: unknown): void {
    if (this.failed) return;
    clearTimeout(this.confirmTimer);
    this.error = err;
    this.failed = true;
    this.wake();
  }

  /** Wakes a pending `next` with "end" (the store is closing). */
  finish(): void {
    this.ended = true;
    this.wake();
  }

  async next(): Promise<FeedItem> {
    for (;;) {
      if (this.signal?.aborted) return { kind: "end" };
      if (this.head < this.queue.length) {
        const resolved = this.queue[this.head++];
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        if (this.subscription.isPaused() && this.queue.length - this.head <= this.highWaterMark / 2) this.subscription.resume();
        return { kind: "event", resolved };
      }
      if (this.failed) return { kind: "error", error: this.error };
      if (this.ended) return { kind: "end" };
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.confirmTimer);
    this.signal?.removeEventListener("abort", this.wake);
    this.finish();
    await this.subscription.unsubscribe().catch(() => {});
    this.subscription.destroy();
  }
}

export class EventStoreDBEventStore implements EventStore {
  readonly name = "eventstoredb" as const;
  private readonly connectionString: string;
  private client: EventStoreDBClient;
  /** Replaced clients still carrying live subscriptions, disposed when the last one ends. */
  private readonly retired = new Map<EventStoreDBClient, number>();
  private readonly feeds = new Map<SubscriptionFeed, EventStoreDBClient>();
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly pingTimeoutMs: number;
  private closed = false;

  constructor(connectionString: string, options: EventStoreDBEventStoreOptions = {}) {
    this.connectionString = normalizeConnectionString(connectionString);
    this.client = EventStoreDBClient.connectionString(this.connectionString);
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.batchSize = options.batchSize ?? 1000;
    // A little over the client's own deadline, so its error usually comes first.
    this.timeoutMs = options.timeoutMs ?? (defaultDeadlineOf(this.connectionString) ?? 10_000) + 1000;
    this.pingTimeoutMs = options.pingTimeoutMs ?? Math.min(this.timeoutMs, 2000);
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError("append needs at least one event");
    // The hash chain needs the predecessor's hash, so an "any"/"exists" append is pinned to
    // the revision just read and retried if another writer got there first: the chain can
    // never fork. A pinned expectation is only ours, never the caller's.
    for (let attempt = 0; ; attempt++) {
      const { predecessor, pinned } = await this.predecessorFor(streamId, expected);
      if (pinned !== undefined && predecessor && predecessor.id === events[events.length - 1].id) {
        // The same events were appended before (an idempotent retry of an "any" append).
        return { nextRevision: predecessor.revision, position: predecessor.position };
      }
      try {
        return await this.appendChained(streamId, events, pinned ?? expected, predecessor?.hash ?? null);
      } catch (err) {
        if (pinned !== undefined && err instanceof WrongExpectedRevisionError && attempt < 20) continue;
        if (err instanceof WrongExpectedRevisionError && pinned !== undefined) {
          throw new WrongExpectedRevisionError(streamId, expected, err.actual);
        }
        throw err;
      }
    }
  }

  /** The stream's last event (for its hash) and, for "any"/"exists", the revision to pin. */
  private async predecessorFor(
    streamId: string,
    expected: ExpectedRevision,
  ): Promise<{ predecessor: RecordedEvent | null; pinned?: ExpectedRevision }> {
    if (expected === "no_stream") return { predecessor: null };
    if (typeof expected === "bigint") {
      const [event] = await this.readStream(streamId, { fromRevision: expected, direction: "backwards", limit: 1 });
      return { predecessor: event && event.revision === expected ? event : null };
    }
    const [last] = await this.readStream(streamId, { direction: "backwards", limit: 1 });
    if (!last) {
      if (expected === "exists") throw new WrongExpectedRevisionError(streamId, expected, "no_stream");
      return { predecessor: null, pinned: "no_stream" };
    }
    return { predecessor: last, pinned: last.revision };
  }

  private async appendChained(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision, previousHash: string | null): Promise<AppendResult> {
    let prev = previousHash;
    const proposed = events.map((e) => {
      const hash = chainHash(prev ? Buffer.from(prev, "hex") : null, contentHash(e)).toString("hex");
      const metadata = { ...e.metadata, [CHAIN_KEY]: { prev_hash: prev, hash } };
      prev = hash;
      // The event id is ESDB's own idempotency key: the same ids appended again to the same
      // stream are not stored twice. Unlike the Postgres table, ESDB does not refuse an id
      // already used in another stream (no DuplicateEventIdError here).
      return jsonEvent({ id: e.id, type: e.type, data: e.data, metadata });
    });
    const client = this.client;
    let result;
    try {
      result = await this.bounded(
        `append to ${streamId}`,
        client,
        this.timeoutMs,
        client.appendToStream(streamId, proposed, { expectedRevision: toAppendRevision(expected) }),
      );
    } catch (err) {
      if (err instanceof WrongExpectedVersionError) {
        const actual = typeof err.actualVersion === "bigint" ? err.actualVersion : "no_stream";
        throw new WrongExpectedRevisionError(streamId, expected, actual);
      }
      throw mapError(err);
    }
    const nextRevision = result.nextExpectedRevision;
    // Commit position = the last event's own position (see the header); prepare would be the first's.
    let position = result.position?.commit;
    if (position === undefined || position < 0n || position > MAX_SIGNED_64) {
      // An idempotent replay may come back without a position: read it from the event itself.
      const [last] = await this.readStream(streamId, { fromRevision: nextRevision, direction: "forwards", limit: 1 });
      position = last?.position ?? UNKNOWN_POSITION;
    }
    return { nextRevision, position };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === "backwards";
    if (options.limit !== undefined && options.limit <= 0) return [];
    try {
      const client = this.client;
      const read = client.readStream(streamId, {
        fromRevision: options.fromRevision ?? (backwards ? END : START),
        direction: backwards ? BACKWARDS : FORWARDS,
        maxCount: options.limit ?? Number.MAX_SAFE_INTEGER,
      });
      const resolved = await this.bounded(`read ${streamId}`, client, this.timeoutMs, drain(read), () => read.cancel());
      const out: RecordedEvent[] = [];
      for (const r of resolved) {
        if (r.event) out.push(toRecorded(r.event, positionOf(r.event, r.commitPosition)));
      }
      return out;
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw mapError(err);
    }
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.limit ?? this.batchSize;
    if (limit <= 0) return [];
    const types = options.types && options.types.length > 0 ? new Set(options.types) : undefined;
    // The 6.x client cannot filter a read of $all on the server, so filter here and keep
    // reading until `limit` user events are found or the log ends. +1: the server returns
    // the event at the cursor itself.
    const chunk = Math.min(types ? Math.max(limit, this.batchSize) : limit, MAX_READ_CHUNK) + 1;
    let cursor = options.fromPosition ?? 0n;
    const out: RecordedEvent[] = [];
    while (out.length < limit) {
      const page = await this.readAllPage(cursor, chunk, "forwards");
      let advanced = false;
      for (const r of page) {
        if (!r.event) continue;
        const position = positionOf(r.event, r.commitPosition);
        if (position <= cursor) continue;
        cursor = position;
        advanced = true;
        if (!isUserEvent(r.event) || (types && !types.has(r.event.type))) continue;
        out.push(toRecorded(r.event, position));
        if (out.length >= limit) break;
      }
      if (page.length < chunk || !advanced) break;
    }
    return out;
  }

  private async readAllPage(
    position: bigint | "end",
    maxCount: number,
    direction: "forwards" | "backwards",
    timeoutMs = this.timeoutMs,
  ): Promise<AllStreamResolvedEvent[]> {
    try {
      const client = this.client;
      const read = client.readAll({
        fromPosition: position === "end" ? END : toReadPosition(position),
        maxCount,
        direction: direction === "backwards" ? BACKWARDS : FORWARDS,
      });
      return await this.bounded("read $all", client, timeoutMs, drain(read), () => read.cancel());
    } catch (err) {
      throw mapError(err);
    }
  }

  async *subscribeAll(options: SubscribeOptions = {}): AsyncIterable<RecordedEvent> {
    const signal = options.signal;
    let position = options.fromPosition ?? 0n;
    while (!signal?.aborted && !this.closed) {
      const client = this.client;
      const subscription = client.subscribeToAll(
        // Positions passed on are real event positions, so commit == prepare.
        { fromPosition: toReadPosition(position), filter: excludeSystemEvents(), resolveLinkTos: false },
        { highWaterMark: this.batchSize },
      );
      const feed = new SubscriptionFeed(subscription, this.batchSize, this.timeoutMs, signal);
      this.feeds.set(feed, client);
      try {
        for (;;) {
          const item = await feed.next();
          if (item.kind === "end") break;
          if (item.kind === "error") {
            if (item.error instanceof NoAnswerError) this.retire(client);
            if (!isSubscriptionDrop(item.error)) throw mapError(item.error);
            break;
          }
          const event = item.resolved.event;
          if (!event || !isUserEvent(event)) continue;
          const eventPosition = positionOf(event, item.resolved.commitPosition);
          // Exclusive, and never backwards after a re-subscription.
          if (eventPosition <= position) continue;
          yield toRecorded(event, eventPosition);
          position = eventPosition;
        }
      } finally {
        this.feeds.delete(feed);
        await feed.close();
        this.release(client);
      }
      if (signal?.aborted || this.closed) return;
      // The server ended a healthy subscription (slow consumer, leader change): come back
      // from the last position handed out.
      await sleep(this.pollIntervalMs, signal);
    }
  }

  async headPosition(): Promise<bigint> {
    // Backwards from the end, past system events (stats, metadata), to the newest user event.
    let cursor: bigint | "end" = "end";
    for (;;) {
      const page = await this.readAllPage(cursor, 100, "backwards");
      let advanced = false;
      for (const r of page) {
        if (!r.event) continue;
        const position = positionOf(r.event, r.commitPosition);
        if (cursor !== "end" && position >= cursor) continue;
        if (isUserEvent(r.event)) return position;
        cursor = position;
        advanced = true;
      }
      if (page.length < 100 || !advanced) return 0n;
    }
  }

  async ping(): Promise<void> {
    await this.readAllPage("end", 1, "backwards", this.pingTimeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const feed of this.feeds.keys()) feed.finish();
    const clients = [this.client, ...this.retired.keys()];
    this.retired.clear();
    await Promise.allSettled(clients.map((c) => c.dispose()));
  }

  /**
   * Races an operation against `ms`. Past it the client is replaced: its channel may be
   * stuck (a connection that never completes the HTTP/2 handshake never fails, and the
   * client caches the never-settling server-features probe every append waits on).
   */
  private async bounded<T>(what: string, client: EventStoreDBClient, ms: number, operation: Promise<T>, cancel?: () => Promise<void>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoAnswerError(what, ms)), ms);
    });
    try {
      return await Promise.race([operation, timeout]);
    } catch (err) {
      if (err instanceof NoAnswerError) {
        cancel?.().catch(() => {});
        this.retire(client);
        throw new EventStoreUnavailableError(err.message, err);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Swaps in a fresh client; the old one goes once no subscription uses it. */
  private retire(client: EventStoreDBClient): void {
    if (client !== this.client || this.closed) return;
    this.client = EventStoreDBClient.connectionString(this.connectionString);
    const users = [...this.feeds.values()].filter((c) => c === client).length;
    if (users === 0) void client.dispose().catch(() => {});
    else this.retired.set(client, users);
  }

  private release(client: EventStoreDBClient): void {
    const users = this.retired.get(client);
    if (users === undefined) return;
    if (users > 1) this.retired.set(client, users - 1);
    else {
      this.retired.delete(client);
      void client.dispose().catch(() => {});
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
