/**
 * The EventStoreDB adapter against a server that is not there: every operation fails with
 * the port's EventStoreUnavailableError (so /health and the HTTP error mapping see one
 * shape), never with the client's raw gRPC error. Runs anywhere; nothing listens on port 1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { EventStoreDBEventStore, normalizeConnectionString } from "../../src/eventstore/esdb";
import { EventStoreUnavailableError, type NewEvent } from "../../src/eventstore/port";

const UNREACHABLE = "esdb://127.0.0.1:1?tls=false&defaultDeadline=1500";

function anEvent(): NewEvent {
  return {
    id: Bun.randomUUIDv7(),
    type: "OrganizationCreated",
    data: { name: "Acme" },
    metadata: {
      actor: { type: "system", id: null },
      organization_id: null,
      correlation_id: Bun.randomUUIDv7(),
      causation_id: null,
      ip: null,
      user_agent: null,
      occurred_at: new Date().toISOString(),
      schema_version: 1,
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

function expectUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(EventStoreUnavailableError);
  expect((err as Error).name).toBe("EventStoreUnavailableError");
}

describe("EventStoreDB adapter, given no server at the address", () => {
  const store = new EventStoreDBEventStore(UNREACHABLE, { pingTimeoutMs: 1500 });
  afterAll(() => store.close());

  test("when appending, then it rejects with EventStoreUnavailableError wrapping gRPC UNAVAILABLE", async () => {
    const err = await failureOf(store.append(`organization-${Bun.randomUUIDv7()}`, [anEvent()], "no_stream"));
    expectUnavailable(err);
    // The raw cause is kept for logs: gRPC status 14.
    expect((err as EventStoreUnavailableError).cause).toMatchObject({ code: 14 });
  });

  test("when appending a second time, then it still rejects with EventStoreUnavailableError", async () => {
    expectUnavailable(await failureOf(store.append(`organization-${Bun.randomUUIDv7()}`, [anEvent()], "any")));
  });

  test("when reading a stream, then it rejects with EventStoreUnavailableError (not an empty stream)", async () => {
    expectUnavailable(await failureOf(store.readStream(`organization-${Bun.randomUUIDv7()}`)));
    expectUnavailable(await failureOf(store.readStream(`organization-${Bun.randomUUIDv7()}`, { direction: "backwards", limit: 1 })));
  });

  test("when pinging, then it rejects with EventStoreUnavailableError", async () => {
    expectUnavailable(await failureOf(store.ping()));
  });

  test("when reading $all or asking for the head position, then they reject with EventStoreUnavailableError", async () => {
    expectUnavailable(await failureOf(store.readAll({ fromPosition: 0n, limit: 10 })));
    expectUnavailable(await failureOf(store.headPosition()));
  });

  test("when subscribing to $all, then the iteration fails with EventStoreUnavailableError", async () => {
    const abort = new AbortController();
    const consume = (async () => {
      for await (const _ of store.subscribeAll({ fromPosition: 0n, signal: abort.signal })) {
        // nothing can arrive
      }
    })();
    const err = await failureOf(consume);
    abort.abort();
    expectUnavailable(err);
  });
});

describe("EventStoreDB adapter, given a server that accepts connections but never answers", () => {
  // Like a proxy in front of a dead node: TCP connects, HTTP/2 never starts. The client's
  // own deadlines do not cover this (its server-features probe has none), the adapter's do.
  const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, open() {} } });
  const store = new EventStoreDBEventStore(`esdb://127.0.0.1:${silent.port}?tls=false`, { timeoutMs: 400, pingTimeoutMs: 300 });
  afterAll(async () => {
    await store.close();
    silent.stop(true);
  });

  test("when appending, then it rejects with EventStoreUnavailableError once the timeout passes", async () => {
    const started = Date.now();
    expectUnavailable(await failureOf(store.append(`organization-${Bun.randomUUIDv7()}`, [anEvent()], "no_stream")));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test("when pinging or reading, then they reject with EventStoreUnavailableError", async () => {
    expectUnavailable(await failureOf(store.ping()));
    expectUnavailable(await failureOf(store.readStream(`organization-${Bun.randomUUIDv7()}`)));
  });

  test("when subscribing, then the missing confirmation fails the iteration with EventStoreUnavailableError", async () => {
    const consume = (async () => {
      for await (const _ of store.subscribeAll({ fromPosition: 0n })) {
        // nothing can arrive
      }
    })();
    expectUnavailable(await failureOf(consume));
  });
});

describe("EventStoreDB adapter, given a KurrentDB connection string", () => {
  test("when normalised, then the client's esdb:// scheme is used and the rest is kept", () => {
    expect(normalizeConnectionString("kurrentdb://eventstore:2113?tls=false")).toBe("esdb://eventstore:2113?tls=false");
    expect(normalizeConnectionString("kdb+discover://a:2113,b:2113")).toBe("esdb+discover://a:2113,b:2113");
    expect(normalizeConnectionString("esdb://eventstore:2113?tls=false")).toBe("esdb://eventstore:2113?tls=false");
  });
});
