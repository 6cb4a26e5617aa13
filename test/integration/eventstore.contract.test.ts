/**
 * One contract for every event store adapter: PGlite always, PostgreSQL when
 * DATABASE_URL is set, EventStoreDB when EVENTSTORE_URL is set. Streams are named with a
 * per-run prefix so the suite also works on a shared EventStoreDB that has other events.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { EventMetadata, EventStore, ExpectedRevision, NewEvent, RecordedEvent } from "../../src/eventstore/port";
import { DuplicateEventIdError, WrongExpectedRevisionError } from "../../src/eventstore/port";
import { PostgresEventStore } from "../../src/eventstore/postgres";
import { freshPglite, freshPostgres, type TestDatabase } from "../support/databases";
import { chainHash, contentHash } from "../../src/eventstore/hash-chain";

interface Adapter {
  name: string;
  open(): Promise<{ store: EventStore; database?: TestDatabase; close(): Promise<void> }>;
}

const adapters: Adapter[] = [
  {
    name: "pglite",
    async open() {
      const database = await freshPglite();
      const store = new PostgresEventStore(database.db, { pollIntervalMs: 50 });
      return { store, database, close: async () => (await store.close(), await database.drop()) };
    },
  },
];
if (process.env.DATABASE_URL) {
  adapters.push({
    name: "postgres",
    async open() {
      const database = await freshPostgres();
      const store = new PostgresEventStore(database.db, { pollIntervalMs: 50 });
      return { store, database, close: async () => (await store.close(), await database.drop()) };
    },
  });
}
if (process.env.EVENTSTORE_URL) {
  adapters.push({
    name: "eventstoredb",
    async open() {
      const { EventStoreDBEventStore } = await import("../../src/eventstore/esdb");
      const store = new EventStoreDBEventStore(process.env.EVENTSTORE_URL!, { pollIntervalMs: 50 });
      return { store, close: () => store.close() };
    },
  });
}

const metadata = (): EventMetadata => ({
  actor: { type: "system", id: null },
  organization_id: null,
  correlation_id: Bun.randomUUIDv7(),
  causation_id: null,
  ip: null,
  user_agent: null,
  occurred_at: new Date().toISOString(),
  schema_version: 1,
});

const newEvent = (type = "ThingHappened", data: Record<string, unknown> = {}): NewEvent => ({ id: Bun.randomUUIDv7(), type, data, metadata: metadata() });

const checked = { cells: 0, events: 0, concurrentAppends: 0, subscriberEvents: 0 };

for (const adapter of adapters) {
  describe(`event store contract [${adapter.name}]`, () => {
    let store: EventStore;
    let database: TestDatabase | undefined;
    let close: () => Promise<void>;
    const run = Bun.randomUUIDv7().slice(-12);
    let n = 0;
    const streamName = (label: string) => `contract${run}-${label}${++n}`;

    beforeAll(async () => {
      ({ store, database, close } = await adapter.open());
    }, 120_000);
    afterAll(async () => {
      await close();
      console.log(
        `contract[${adapter.name}]: ${checked.cells} expected-revision cells, ${checked.events} events appended, ` +
          `${checked.concurrentAppends} concurrent append attempts, ${checked.subscriberEvents} events seen by subscribers`,
      );
    });

    /** Makes a stream in the given state: absent, or holding `count` events (revision count-1). */
    async function streamWith(count: number): Promise<string> {
      const id = streamName("m");
      if (count > 0) await store.append(id, Array.from({ length: count }, () => newEvent()), "no_stream");
      return id;
    }

    describe("expected revision matrix", () => {
      type Cell = { state: "absent" | "at 0" | "at 2"; expected: ExpectedRevision; succeeds: boolean; actual: bigint | "no_stream" };
      const cells: Cell[] = [
        { state: "absent", expected: "any", succeeds: true, actual: "no_stream" },
        { state: "absent", expected: "no_stream", succeeds: true, actual: "no_stream" },
        { state: "absent", expected: "exists", succeeds: false, actual: "no_stream" },
        { state: "absent", expected: 0n, succeeds: false, actual: "no_stream" },
        { state: "at 0", expected: "any", succeeds: true, actual: 0n },
        { state: "at 0", expected: "no_stream", succeeds: false, actual: 0n },
        { state: "at 0", expected: "exists", succeeds: true, actual: 0n },
        { state: "at 0", expected: 0n, succeeds: true, actual: 0n },
        { state: "at 0", expected: 1n, succeeds: false, actual: 0n },
        { state: "at 2", expected: 2n, succeeds: true, actual: 2n },
        { state: "at 2", expected: 1n, succeeds: false, actual: 2n },
        { state: "at 2", expected: 5n, succeeds: false, actual: 2n },
        { state: "at 2", expected: "no_stream", succeeds: false, actual: 2n },
      ];
      for (const cell of cells) {
        test(`given a stream ${cell.state}, when appending 2 events expecting ${String(cell.expected)}, then it ${cell.succeeds ? "succeeds" : "is refused and writes nothing"}`, async () => {
          const count = cell.state === "absent" ? 0 : cell.state === "at 0" ? 1 : 3;
          const id = await streamWith(count);
          const before = await store.readStream(id);
          const attempt = store.append(id, [newEvent("A"), newEvent("B")], cell.expected);
          if (cell.succeeds) {
            const result = await attempt;
            expect(result.nextRevision).toBe(BigInt(count + 1));
            const after = await store.readStream(id);
            expect(after.map((e) => e.revision)).toEqual(Array.from({ length: count + 2 }, (_, i) => BigInt(i)));
            expect(after.map((e) => e.type).slice(-2)).toEqual(["A", "B"]);
            expect(result.position).toBe(after[after.length - 1].position);
            checked.events += 2;
          } else {
            const err = await attempt.then(
              () => null,
              (e) => e,
            );
            expect(err).toBeInstanceOf(WrongExpectedRevisionError);
            expect((err as WrongExpectedRevisionError).actual).toBe(cell.actual);
            expect((err as WrongExpectedRevisionError).streamId).toBe(id);
            expect(await store.readStream(id)).toEqual(before);
          }
          checked.cells++;
        });
      }
    });

    describe("reading", () => {
      test("given a missing stream, when reading it, then it reads as empty", async () => {
        expect(await store.readStream(streamName("missing"))).toEqual([]);
      });

      test("given 10 events, when reading forwards from 3 with limit 4 and backwards from the end with limit 3, then the windows are right", async () => {
        const id = await streamWith(10);
        const forwards = await store.readStream(id, { fromRevision: 3n, limit: 4 });
        expect(forwards.map((e) => e.revision)).toEqual([3n, 4n, 5n, 6n]);
        const backwards = await store.readStream(id, { direction: "backwards", limit: 3 });
        expect(backwards.map((e) => e.revision)).toEqual([9n, 8n, 7n]);
        checked.events += 10;
      });

      test("given appended events, when reading them back, then id, type, data, metadata, stream, revision and time round-trip", async () => {
        const id = streamName("roundtrip");
        const event = newEvent("Shaped", { text: "Zoë ✓ \"quoted\"", n: 42, nested: { list: [1, null, true] } });
        await store.append(id, [event], "no_stream");
        const [read] = await store.readStream(id);
        expect(read.id).toBe(event.id);
        expect(read.type).toBe("Shaped");
        expect(read.data).toEqual(event.data);
        expect(read.metadata).toEqual(event.metadata);
        expect(read.streamId).toBe(id);
        expect(read.revision).toBe(0n);
        expect(read.recordedAt).toBeInstanceOf(Date);
        expect(Math.abs(read.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
        checked.events++;
      });

      test("given events on several streams, when reading all from a position with a type filter, then only later events of those types come, in position order", async () => {
        const start = await store.headPosition();
        const a = streamName("all");
        const b = streamName("all");
        await store.append(a, [newEvent("Kept"), newEvent("Dropped")], "no_stream");
        await store.append(b, [newEvent("Kept"), newEvent("AlsoKept")], "no_stream");
        const mine = (events: RecordedEvent[]) => events.filter((e) => e.streamId === a || e.streamId === b);
        // Readers may lag while any transaction in the cluster is open (xmin is cluster-wide):
        // they must see the events eventually, never out of order.
        let all: RecordedEvent[] = [];
        for (let i = 0; i < 200 && all.length < 4; i++) {
          all = mine(await store.readAll({ fromPosition: start, limit: 1000 }));
          if (all.length < 4) await Bun.sleep(25);
        }
        expect(all.map((e) => e.type)).toEqual(["Kept", "Dropped", "Kept", "AlsoKept"]);
        expect(all.every((e, i) => i === 0 || e.position > all[i - 1].position)).toBe(true);
        const filtered = mine(await store.readAll({ fromPosition: start, limit: 1000, types: ["Kept", "AlsoKept"] }));
        expect(filtered.map((e) => `${e.streamId === a ? "a" : "b"}:${e.type}`)).toEqual(["a:Kept", "b:Kept", "b:AlsoKept"]);
        // Exclusive fromPosition: starting at the first event's position skips it.
        const after = mine(await store.readAll({ fromPosition: all[0].position, limit: 1000 }));
        expect(after.length).toBe(3);
        expect(await store.headPosition()).toBeGreaterThanOrEqual(all[3].position);
        checked.events += 4;
      });
    });

    describe("hash chain", () => {
      /** Every event links to its predecessor and its hash recomputes from its content. */
      function expectChained(events: RecordedEvent[]) {
        let prev: string | null = null;
        for (const e of events) {
          expect(e.prevHash).toBe(prev);
          expect(e.hash).toBe(chainHash(prev ? Buffer.from(prev, "hex") : null, contentHash(e)).toString("hex"));
          prev = e.hash;
        }
      }

      test("given appends with every kind of expectation, when the stream is read, then its events form one unbroken chain", async () => {
        const id = streamName("chain");
        await store.append(id, [newEvent("A"), newEvent("B")], "no_stream");
        await store.append(id, [newEvent("C")], 1n);
        await store.append(id, [newEvent("D"), newEvent("E")], "exists");
        await store.append(id, [newEvent("F")], "any");
        const events = await store.readStream(id);
        expect(events.map((e) => e.type)).toEqual(["A", "B", "C", "D", "E", "F"]);
        expectChained(events);
        checked.events += 6;
      });

      test("given 10 concurrent appends expecting any, when the stream is read, then the chain did not fork", async () => {
        const id = await streamWith(1);
        await Promise.all(Array.from({ length: 10 }, () => store.append(id, [newEvent("Raced")], "any")));
        const events = await store.readStream(id);
        expect(events).toHaveLength(11);
        expectChained(events);
        checked.events += 11;
      });
    });

    describe("idempotent event ids", () => {
      test("given an appended event, when the same event id is appended again, then it is stored once and the first result is returned", async () => {
        const id = streamName("idem");
        const event = newEvent("Once");
        const first = await store.append(id, [event], "no_stream");
        const again = await store.append(id, [event], "no_stream");
        expect(again).toEqual(first);
        const againAny = await store.append(id, [event], "any");
        expect(againAny.position).toBe(first.position);
        expect(await store.readStream(id)).toHaveLength(1);
        checked.events++;
      });

      test("given an appended batch, when the whole batch is retried with its expected revision, then nothing is duplicated", async () => {
        const id = await streamWith(1);
        const batch = [newEvent("X"), newEvent("Y"), newEvent("Z")];
        const first = await store.append(id, batch, 0n);
        const retry = await store.append(id, batch, 0n);
        expect(retry.nextRevision).toBe(first.nextRevision);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(["ThingHappened", "X", "Y", "Z"]);
        checked.events += 4;
      });

      if (adapter.name !== "eventstoredb") {
        test("given an event id used in one stream, when it is appended to another stream, then it is refused", async () => {
          const event = newEvent("Placed");
          await store.append(streamName("one"), [event], "no_stream");
          const other = streamName("two");
          await expect(store.append(other, [event], "no_stream")).rejects.toBeInstanceOf(DuplicateEventIdError);
          expect(await store.readStream(other)).toEqual([]);
        });
      }
    });

    describe("concurrency", () => {
      test("given 50 appenders racing on one stream, when each round all append with the same expected revision, then exactly one wins per revision and revisions have no gaps", async () => {
        const id = streamName("race");
        const rounds = 5;
        for (let round = 0; round < rounds; round++) {
          const expected: ExpectedRevision = round === 0 ? "no_stream" : BigInt(round - 1);
          const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, w) => store.append(id, [newEvent("Raced", { round, worker: w })], expected)));
          checked.concurrentAppends += 50;
          const wins = outcomes.filter((o) => o.status === "fulfilled");
          const losses = outcomes.filter((o) => o.status === "rejected") as PromiseRejectedResult[];
          expect(wins).toHaveLength(1);
          expect(losses.every((l) => l.reason instanceof WrongExpectedRevisionError)).toBe(true);
        }
        const events = await store.readStream(id);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: rounds }, (_, i) => BigInt(i)));
        expect(events.map((e) => (e.data as { round: number }).round)).toEqual([0, 1, 2, 3, 4]);
        checked.events += rounds;
      });

      test("given 50 appenders that retry on conflict, when each must append once, then the stream holds 50 events with revisions 0..49", async () => {
        const id = streamName("retry");
        const worker = async (w: number) => {
          for (let attempt = 0; attempt < 5000; attempt++) {
            const last = await store.readStream(id, { direction: "backwards", limit: 1 });
            const expected: ExpectedRevision = last.length === 0 ? "no_stream" : last[0].revision;
            checked.concurrentAppends++;
            try {
              return await store.append(id, [newEvent("Retried", { worker: w })], expected);
            } catch (err) {
              if (!(err instanceof WrongExpectedRevisionError)) throw err;
              // Backoff with jitter, as a real client would: otherwise 50 writers thrash.
              await Bun.sleep(Math.random() * 2 ** Math.min(attempt, 6));
            }
          }
          throw new Error(`worker ${w} never appended`);
        };
        const results = await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)));
        expect(new Set(results.map((r) => r.nextRevision)).size).toBe(50);
        const events = await store.readStream(id);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
        expect(new Set(events.map((e) => (e.data as { worker: number }).worker)).size).toBe(50);
        checked.events += 50;
      });

      test("given 20 writers on different streams with random delays, when a subscriber follows from the start, then it sees every event exactly once in position order", async () => {
        const from = await store.headPosition();
        const prefix = streamName("sub");
        const writers = 20;
        const perWriter = 10;
        const abort = new AbortController();
        const seen: RecordedEvent[] = [];
        const expectedTotal = writers * perWriter;
        const subscriber = (async () => {
          for await (const event of store.subscribeAll({ fromPosition: from, signal: abort.signal })) {
            if (event.streamId.startsWith(prefix)) seen.push(event);
            if (seen.length >= expectedTotal) break;
          }
        })();
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++) {
              await Bun.sleep(Math.random() * 8);
              await store.append(`${prefix}-w${w}`, [newEvent("Written", { w, i })], i === 0 ? "no_stream" : BigInt(i - 1));
            }
          }),
        );
        await Promise.race([subscriber, Bun.sleep(30_000)]);
        abort.abort();
        await subscriber;
        checked.subscriberEvents += seen.length;
        checked.events += expectedTotal;
        expect(seen).toHaveLength(expectedTotal);
        expect(new Set(seen.map((e) => e.id)).size).toBe(expectedTotal);
        expect(seen.every((e, i) => i === 0 || e.position > seen[i - 1].position)).toBe(true);
        for (let w = 0; w < writers; w++) {
          expect(seen.filter((e) => e.streamId === `${prefix}-w${w}`).map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: perWriter }, (_, i) => i));
        }
      });
    });

    if (adapter.name === "postgres") {
      test("given writers whose transactions commit out of sequence order, when a subscriber follows, then it never skips an event that commits late", async () => {
        const db = database!.db;
        const from = await store.headPosition();
        const prefix = streamName("slow");
        const abort = new AbortController();
        const seen: RecordedEvent[] = [];
        const total = 20 * 5;
        const subscriber = (async () => {
          for await (const event of store.subscribeAll({ fromPosition: from, signal: abort.signal })) {
            if (event.streamId.startsWith(prefix)) seen.push(event);
            if (seen.length >= total) break;
          }
        })();
        // Each writer takes its sequence number, then holds its transaction open for a
        // random time: later numbers routinely commit before earlier ones.
        await Promise.all(
          Array.from({ length: 20 }, async (_, w) => {
            for (let i = 0; i < 5; i++) {
              await db.transaction(async (tx) => {
                await tx.query("SELECT * FROM ll_append($1, $2, $3::jsonb)", [
                  `${prefix}-w${w}`,
                  i === 0 ? "no_stream" : String(i - 1),
                  JSON.stringify([newEvent("Slow", { w, i })]),
                ]);
                await tx.query("SELECT pg_sleep($1)", [Math.random() * 0.05]);
              });
            }
          }),
        );
        await Promise.race([subscriber, Bun.sleep(30_000)]);
        abort.abort();
        await subscriber;
        checked.subscriberEvents += seen.length;
        expect(seen).toHaveLength(total);
        expect(new Set(seen.map((e) => e.id)).size).toBe(total);
        expect(seen.every((e, i) => i === 0 || e.position > seen[i - 1].position)).toBe(true);
      });

      test("given the events table, when anyone tries to update, delete or truncate it, then the database refuses", async () => {
        const db = database!.db;
        await store.append(streamName("immutable"), [newEvent()], "no_stream");
        await expect(db.query("UPDATE events SET event_type = 'Forged'")).rejects.toThrow(/append-only/);
        await expect(db.query("DELETE FROM events")).rejects.toThrow(/append-only/);
        await expect(db.query("TRUNCATE events")).rejects.toThrow(/append-only/);
      });
    }
  });
}
