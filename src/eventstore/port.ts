/**
 * The event store port. Two adapters implement it (Postgres table, EventStoreDB) and one
 * contract suite (test/integration/eventstore.contract.ts) holds them to the same rules.
 *
 * Positions: a global, strictly increasing bigint per event (not necessarily contiguous).
 * `fromPosition` is exclusive everywhere: "the last position I have already seen"; 0n
 * (or omitted) means from the beginning.
 * Revisions: 0-based per stream, contiguous.
 */

export type ExpectedRevision = "any" | "no_stream" | "exists" | bigint;

export type ActorType = "user" | "api_key" | "system" | "anonymous";

/** Stored snake_case, as auditors read it. */
export interface EventMetadata {
  actor: { type: ActorType; id: string | null };
  organization_id: string | null;
  correlation_id: string;
  causation_id: string | null;
  ip: string | null;
  user_agent: string | null;
  occurred_at: string;
  schema_version: number;
  [extra: string]: unknown;
}

export interface NewEvent<Type extends string = string, Data = Record<string, unknown>> {
  /** UUIDv7; the idempotency key. An id appended again is not stored twice. */
  id: string;
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

export interface RecordedEvent<Type extends string = string, Data = Record<string, unknown>> {
  id: string;
  type: Type;
  data: Data;
  metadata: EventMetadata;
  streamId: string;
  revision: bigint;
  position: bigint;
  recordedAt: Date;
  /**
   * Tamper evidence (src/eventstore/hash-chain.ts), hex: this event's chain hash and its
   * predecessor's in the stream (null for the first). Null on events stored before chains.
   */
  hash: string | null;
  prevHash: string | null;
}

export interface AppendResult {
  /** Revision of the last event appended (the stream's new revision). */
  nextRevision: bigint;
  /** Global position of the last event appended. */
  position: bigint;
}

export interface ReadStreamOptions {
  /** Inclusive. Default: 0 forwards, the end backwards. */
  fromRevision?: bigint;
  direction?: "forwards" | "backwards";
  limit?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events with a position greater than this. */
  fromPosition?: bigint;
  limit?: number;
  /** Only these event types. */
  types?: readonly string[];
}

export interface SubscribeOptions {
  fromPosition?: bigint;
  signal?: AbortSignal;
}

export interface EventStore {
  readonly name: "postgres" | "pglite" | "eventstoredb";
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * Appends to several streams as one unit: all stored, or none (a failed expectation
   * throws WrongExpectedRevisionError naming its stream). Optional: an adapter that
   * cannot (EventStoreDB has no multi-stream transactions) leaves it out, and callers
   * append one by one instead.
   */
  appendAtomically?(appends: ReadonlyArray<{ streamId: string; events: readonly NewEvent[]; expected: ExpectedRevision }>): Promise<AppendResult[]>;
  /** A missing stream reads as []. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catches up from `fromPosition`, then follows live appends until the signal aborts. */
  subscribeAll(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;
  /** Position of the newest event readers may see (0n when empty). */
  headPosition(): Promise<bigint>;
  /** Cheap reachability check for /health. */
  ping(): Promise<void>;
  /**
   * A transaction of this process that may have held back what subscribers could see
   * (the Postgres adapter passes no event while an older transaction is open) has ended:
   * subscribers waiting on it look again now instead of at their next poll. Optional:
   * adapters without such a rule need not care.
   */
  nudge?(): void;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision when the append was refused; "no_stream" if it has none. */
    readonly actual: bigint | "no_stream",
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = "WrongExpectedRevisionError";
  }
}

export class EventStoreUnavailableError extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = "EventStoreUnavailableError";
  }
}

/** Appending an id that already exists in another stream, or a batch that only partly exists. */
export class DuplicateEventIdError extends Error {
  constructor(readonly eventId: string) {
    super(`event id ${eventId} already exists with different placement`);
    this.name = "DuplicateEventIdError";
  }
}
