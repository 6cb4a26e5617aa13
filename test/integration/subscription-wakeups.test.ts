/**
 * How a Postgres-adapter subscriber learns that there is something new, with a poll
 * interval of a minute so that polling cannot stand in for the mechanism under test:
 * a local append wakes it, another process's append reaches it by NOTIFY (its own NOTIFY
 * echo is ignored, not the others'), and an event held back by an open transaction is
 * delivered once that transaction ends.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { EventMetadata, NewEvent, RecordedEvent } from "../../src/eventstore/port";
import { PostgresEventStore } from "../../src/eventstore/postgres";
import { postgresClient, type SqlClient } from "../../src/db/client";
import { databaseKinds, type TestDatabase } from "../support/databases";

const MINUTE = 60_000;
/** Far below the poll interval: reaching the subscriber within it proves a wake-up did. */
const WITHIN_MS = 10_000;

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
const newEvent = (type: string): NewEvent => ({ id: Bun.randomUUIDv7(), type, data: {}, metadata: metadata() });

/** Follows `store` from its head; `next(type)` resolves with the first event of that type, or null after WITHIN_MS. */
async function follow(store: PostgresEventStore) {
  const abort = new AbortController();
  const seen: RecordedEvent[] = [];
  const from = await store.headPosition();
  const running = (async () => {
    for await (const e of store.subscribeAll({ fromPosition: from, signal: abort.signal })) seen.push(e);
  })();
  // Let the first read happen, so the subscriber is idle when the test appends.
  await Bun.sleep(100);
  return {
    has: (type: string) => seen.some((e) => e.type === type),
    async next(type: string): Promise<RecordedEvent | null> {
      const deadline = Date.now() + WITHIN_MS;
      while (Date.now() < deadline) {
        const found = seen.find((e) => e.type === type);
        if (found) return found;
        await Bun.sleep(5);
      }
      return null;
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}

describe.each(databaseKinds().map(({ kind, open }) => [kind, open] as const))("subscription wake-ups (%s)", (kind, open) => {
  let database: TestDatabase;
  let second: SqlClient | undefined;
  let store: PostgresEventStore;
  let other: PostgresEventStore | undefined;

  beforeAll(async () => {
    database = await open();
    store = new PostgresEventStore(database.db, { pollIntervalMs: MINUTE });
    if (kind === "postgres") {
      // Another process: its own connection pool and its own store.
      second = postgresClient(database.url!, { max: 2 });
      other = new PostgresEventStore(second, { pollIntervalMs: MINUTE });
    }
  }, 120_000);

  afterAll(async () => {
    await other?.close();
    await store?.close();
    await second?.close();
    await database?.drop();
  });

  test("given an idle subscriber, when the same store appends, then the event reaches it without waiting for a poll", async () => {
    const sub = await follow(store);
    await store.append(`local-${Bun.randomUUIDv7()}`, [newEvent("LocalAppend")], "no_stream");
    const got = await sub.next("LocalAppend");
    await sub.stop();
    expect(got?.type).toBe("LocalAppend");
  });

  if (kind === "postgres") {
    // (PGlite belongs to one process: there is no other process to hear from.)
    test("given an idle subscriber, when another process's store appends, then its NOTIFY wakes the subscriber", async () => {
      const sub = await follow(store);
      await other!.append(`remote-${Bun.randomUUIDv7()}`, [newEvent("RemoteAppend")], "no_stream");
      const got = await sub.next("RemoteAppend");
      await sub.stop();
      expect(got?.type).toBe("RemoteAppend");
    });

    test("given an event held back by an older open transaction, when that transaction ends, then the subscriber gets the event", async () => {
      const sub = await follow(store);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      // A read-model-like transaction with a transaction id, open across the append.
      const blocker = database.db.transaction(async (tx) => {
        await tx.query("SELECT pg_current_xact_id()");
        holding();
        await released;
      });
      await held;
      await store.append(`held-${Bun.randomUUIDv7()}`, [newEvent("HeldBack")], "no_stream");
      await Bun.sleep(300);
      // Passing it now could skip an event the open transaction may still append below it.
      expect(sub.has("HeldBack")).toBe(false);
      release();
      await blocker;
      const got = await sub.next("HeldBack");
      await sub.stop();
      expect(got?.type).toBe("HeldBack");
    }, 60_000);
  }
});
