/**
 * Group commit in the Postgres adapter: appends that queue up behind others go to the
 * database together (ll_append_batch), and each still meets its own outcome. And the
 * atomic form (appendAtomically): several streams, all or nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { EventMetadata, NewEvent } from "../../src/eventstore/port";
import { WrongExpectedRevisionError } from "../../src/eventstore/port";
import { PostgresEventStore } from "../../src/eventstore/postgres";
import type { SqlClient } from "../../src/db/client";
import { verifyEventStore } from "../../src/audit/verify";
import { databaseKinds, type TestDatabase } from "../support/databases";

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
const newEvent = (data: Record<string, unknown> = {}): NewEvent => ({ id: Bun.randomUUIDv7(), type: "Batched", data, metadata: metadata() });

describe.each(databaseKinds().map(({ kind, open }) => [kind, open] as const))("append batching (%s)", (_kind, open) => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const calls = { single: 0, batch: 0 };

  beforeAll(async () => {
    database = await open();
    // The real client, with its calls counted.
    const counted: SqlClient = {
      ...database.db,
      query: (text, params) => {
        if (text.includes("ll_append_batch(")) calls.batch++;
        else if (text.includes("ll_append(")) calls.single++;
        return database.db.query(text, params);
      },
    };
    store = new PostgresEventStore(counted, { pollIntervalMs: 50 });
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  test("given 40 appends to 40 new streams at once, when they run, then all are stored with distinct positions in fewer calls than appends, and every chain verifies", async () => {
    const before = { ...calls };
    const prefix = `many-${Bun.randomUUIDv7()}`;
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.append(`${prefix}-${i}`, [newEvent({ i }), newEvent({ i, second: true })], "no_stream")));
    expect(new Set(results.map((r) => r.position)).size).toBe(40);
    expect(results.every((r) => r.nextRevision === 1n)).toBe(true);
    for (let i = 0; i < 40; i++) {
      const events = await store.readStream(`${prefix}-${i}`);
      expect(events.map((e) => e.data)).toEqual([{ i }, { i, second: true }]);
      expect(events[1].position).toBe(results[i].position);
      expect(events[1].position - events[0].position).toBe(1n);
    }
    const made = calls.single + calls.batch - before.single - before.batch;
    expect(calls.batch - before.batch).toBeGreaterThan(0);
    expect(made).toBeLessThan(40);
    expect((await verifyEventStore(store, { db: database.db })).first_broken).toBeNull();
  });

  test("given 10 appends to one stream expecting the same revision among 10 appends to other streams, when they run at once, then exactly one of the ten wins and every other stream gets its event", async () => {
    const contested = `contested-${Bun.randomUUIDv7()}`;
    await store.append(contested, [newEvent()], "no_stream");
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => store.append(contested, [newEvent({ i })], 0n)),
      ...Array.from({ length: 10 }, (_, i) => store.append(`${contested}-other-${i}`, [newEvent({ i })], "no_stream")),
    ]);
    const contestedOutcomes = outcomes.slice(0, 10);
    expect(contestedOutcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of contestedOutcomes) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect(outcomes.slice(10).every((o) => o.status === "fulfilled")).toBe(true);
    expect(await store.readStream(contested)).toHaveLength(2);
  });

  test("given the same event appended twice at once (a retry racing the original), when both run, then it is stored once and both get its position", async () => {
    const id = `retry-${Bun.randomUUIDv7()}`;
    const event = newEvent({ once: true });
    // Others first, so that the two copies queue up and travel in one call.
    const fillers = Array.from({ length: 4 }, (_, i) => store.append(`${id}-filler-${i}`, [newEvent()], "no_stream"));
    const [a, b] = await Promise.all([store.append(id, [event], "no_stream"), store.append(id, [event], "no_stream")]);
    await Promise.all(fillers);
    expect(a.position).toBe(b.position);
    expect(await store.readStream(id)).toHaveLength(1);
  });

  test("given two streams appended atomically, when both expectations hold, then both are stored, in order, with verifiable chains", async () => {
    const a = `atomic-a-${Bun.randomUUIDv7()}`;
    const b = `atomic-b-${Bun.randomUUIDv7()}`;
    await store.append(a, [newEvent({ first: true })], "no_stream");
    const [ra, rb] = await store.appendAtomically([
      { streamId: a, events: [newEvent({ n: 1 })], expected: 0n },
      { streamId: b, events: [newEvent({ n: 2 }), newEvent({ n: 3 })], expected: "no_stream" },
    ]);
    expect(ra.nextRevision).toBe(1n);
    expect(rb.nextRevision).toBe(1n);
    expect(rb.position).toBeGreaterThan(ra.position);
    expect((await store.readStream(b)).map((e) => e.data)).toEqual([{ n: 2 }, { n: 3 }]);
    expect((await verifyEventStore(store, { db: database.db })).first_broken).toBeNull();
  });

  test("given two streams appended atomically, when the second's expectation fails, then nothing of the call is stored and the error names that stream", async () => {
    const a = `atomic-c-${Bun.randomUUIDv7()}`;
    const b = `atomic-d-${Bun.randomUUIDv7()}`;
    await store.append(b, [newEvent()], "no_stream");
    const refused = await store
      .appendAtomically([
        { streamId: a, events: [newEvent({ lost: true })], expected: "no_stream" },
        { streamId: b, events: [newEvent({ lost: true })], expected: "no_stream" },
      ])
      .catch((err) => err);
    expect(refused).toBeInstanceOf(WrongExpectedRevisionError);
    expect((refused as WrongExpectedRevisionError).streamId).toBe(b);
    expect((refused as WrongExpectedRevisionError).actual).toBe(0n);
    expect(await store.readStream(a)).toEqual([]);
    expect(await store.readStream(b)).toHaveLength(1);
  });
});
