/**
 * The projector's promises: a batch and its checkpoint commit together, so a failure in
 * the middle of a batch or a killed process leaves read models equal to a from-zero
 * rebuild; replayed events change nothing; one leader at a time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { PostgresEventStore } from "../../src/eventstore/postgres";
import { metadataFor, systemContext } from "../../src/eventstore/context";
import type { NewEvent } from "../../src/eventstore/port";
import { Projector } from "../../projections/runner/projector";
import type { Projection } from "../../projections/runner/projection";
import { organizationsProjection } from "../../projections/organizations/projection";
import { organizations } from "../../projections/organizations/schema";
import { sessionsProjection } from "../../projections/sessions/projection";
import { sessions } from "../../projections/sessions/schema";
import { databaseKinds, freshPostgres, type TestDatabase } from "../support/databases";
import type { Drizzle } from "../../src/db/client";

const ctx = systemContext();

/** Organization events: creations, then updates and deletions of some of them. */
async function seedOrganizations(store: PostgresEventStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  const batch: Array<{ stream: string; events: NewEvent[] }> = [];
  for (let i = 0; i < count; i++) {
    const id = Bun.randomUUIDv7();
    ids.push(id);
    const events: NewEvent[] = [
      {
        id: Bun.randomUUIDv7(),
        type: "OrganizationCreated",
        data: { organization_id: id, name: `Org ${i}`, slug: `org-${i}`, domain: null, description: null, max_users: null, registration_policy: "open", is_active: true, is_system: false },
        metadata: metadataFor(ctx, id),
      },
    ];
    if (i % 3 === 0) events.push({ id: Bun.randomUUIDv7(), type: "OrganizationUpdated", data: { organization_id: id, changes: { description: `updated ${i}` } }, metadata: metadataFor(ctx, id) });
    if (i % 5 === 0) events.push({ id: Bun.randomUUIDv7(), type: "OrganizationDeactivated", data: { organization_id: id }, metadata: metadataFor(ctx, id) });
    if (i % 7 === 0) events.push({ id: Bun.randomUUIDv7(), type: "OrganizationDeleted", data: { organization_id: id, slug: `org-${i}`, domain: null, name: `Org ${i}` }, metadata: metadataFor(ctx, id) });
    batch.push({ stream: `organization-${id}`, events });
  }
  // Eight writers at a time: a seed of thousands of streams should not take a minute.
  for (let i = 0; i < batch.length; i += 8) {
    await Promise.all(batch.slice(i, i + 8).map(({ stream, events }) => store.append(stream, events, "no_stream")));
  }
  return ids;
}

async function organizationRows(db: Drizzle) {
  return db.select().from(organizations).orderBy(asc(organizations.id));
}

/** Rows as a from-zero rebuild would make them. */
async function rebuiltRows(database: TestDatabase, store: PostgresEventStore) {
  const fresh = new Projector(store, database.db, [organizationsProjection]);
  await fresh.rebuild(["organizations"]);
  return organizationRows(database.db.drizzle);
}

for (const { kind, open } of databaseKinds()) {
  describe(`projector [${kind}]`, () => {
    let database: TestDatabase;
    let store: PostgresEventStore;

    beforeAll(async () => {
      database = await open();
      store = new PostgresEventStore(database.db, { pollIntervalMs: 50 });
      await seedOrganizations(store, 300);
    }, 120_000);
    afterAll(async () => {
      await store.close();
      await database.drop();
    });

    test("given a projection that throws in the middle of its first batch, when the projector retries, then the read model equals a from-zero rebuild", async () => {
      let calls = 0;
      const flaky: Projection = {
        ...organizationsProjection,
        async apply(tx, events) {
          calls++;
          if (calls === 1) {
            // Half the batch is written inside the transaction, then the failure.
            await organizationsProjection.apply(tx, events.slice(0, Math.floor(events.length / 2)));
            throw new Error("boom in the middle of a batch");
          }
          return organizationsProjection.apply(tx, events);
        },
      };
      const projector = new Projector(store, database.db, [flaky], { batchSize: 200 });
      projector.start();
      const head = await store.headPosition();
      // The first failure backs off ~0.5 s, then the batch is applied whole.
      await projector.waitFor(head, 30_000);
      await projector.stop();
      expect(calls).toBeGreaterThan(1);
      expect(projector.status()[0].error).toBeNull();
      const live = await organizationRows(database.db.drizzle);
      expect(live.length).toBeGreaterThan(0);
      expect(await rebuiltRows(database, store)).toEqual(live);
    });

    test("given events already applied, when the same events are applied again, then nothing changes", async () => {
      const before = await organizationRows(database.db.drizzle);
      const events = await store.readAll({ fromPosition: 0n, limit: 100_000 });
      await database.db.drizzle.transaction(async (tx) => {
        await organizationsProjection.apply(tx, events);
        await organizationsProjection.apply(tx, events);
      });
      expect(await organizationRows(database.db.drizzle)).toEqual(before);
      // And through the projector: a batch at or below the checkpoint is skipped.
      const projector = new Projector(store, database.db, [organizationsProjection]);
      await projector.prepareCheckpoints();
      await projector.applyBatch(events);
      expect(await organizationRows(database.db.drizzle)).toEqual(before);
    });

    test("given a session started and refreshed, when its start alone is applied again (no row is read for a starting event), then the row does not move back", async () => {
      const id = Bun.randomUUIDv7();
      const ids = { session_id: id, user_id: Bun.randomUUIDv7(), organization_id: Bun.randomUUIDv7() };
      const expiresAt = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
      await store.append(`session-${id}`, [{ id: Bun.randomUUIDv7(), type: "SessionStarted", data: { ...ids, refresh_token_hash: "a", expires_at: expiresAt(1) }, metadata: metadataFor(ctx) }], "no_stream");
      await store.append(`session-${id}`, [{ id: Bun.randomUUIDv7(), type: "SessionRefreshed", data: { ...ids, refresh_token_hash: "b", expires_at: expiresAt(2) }, metadata: metadataFor(ctx) }], 0n);
      const events = await store.readStream(`session-${id}`);
      const row = () => database.db.drizzle.select().from(sessions).where(eq(sessions.id, id));
      await database.db.drizzle.transaction((tx) => sessionsProjection.apply(tx, events));
      const applied = await row();
      expect(applied[0].lastRefreshedAt).not.toBeNull();
      expect(applied[0].lastPosition).toBe(events[1].position);
      // A batch of starts only is written without reading the rows: the upsert itself refuses to go back.
      await database.db.drizzle.transaction((tx) => sessionsProjection.apply(tx, [events[0]]));
      expect(await row()).toEqual(applied);
    });

    test("given a write, when a handler waits for its position, then the read model already shows it", async () => {
      const projector = new Projector(store, database.db, [organizationsProjection]);
      projector.start();
      const id = Bun.randomUUIDv7();
      const { position } = await store.append(
        `organization-${id}`,
        [
          {
            id: Bun.randomUUIDv7(),
            type: "OrganizationCreated",
            data: { organization_id: id, name: "Fresh", slug: `fresh-${id}`, domain: null, description: null, max_users: null, registration_policy: "open", is_active: true, is_system: false },
            metadata: metadataFor(ctx, id),
          },
        ],
        "no_stream",
      );
      await projector.waitFor(position, 10_000);
      const rows = await organizationRows(database.db.drizzle);
      expect(rows.some((r) => r.id === id)).toBe(true);
      await projector.stop();
    });

    test("given nobody waiting, when events arrive one by one, then they share one transaction, and a waiter ends the gathering at once", async () => {
      const batches: number[] = [];
      // The events the projector's subscription has handed over: the waiter below comes
      // once all three are in its hands (otherwise the window would rightly end without
      // the last one).
      let received = 0;
      const counted = Object.create(store) as PostgresEventStore;
      counted.subscribeAll = (options) =>
        (async function* () {
          for await (const e of store.subscribeAll(options)) {
            received++;
            yield e;
          }
        })();
      // A window far longer than the test: only a waiter can end it.
      const projector = new Projector(counted, database.db, [organizationsProjection], { idleGatherMs: 600_000, onBatch: (events) => batches.push(events) });
      projector.start();
      // Leading, and caught up as the leader (not through checkpoints earlier tests left).
      for (let i = 0; i < 1000 && !projector.isLeader; i++) await Bun.sleep(10);
      expect(projector.isLeader).toBe(true);
      await projector.waitFor(await store.headPosition(), 10_000);
      batches.length = 0;
      received = 0;
      let last = 0n;
      for (let i = 0; i < 3; i++) {
        const id = Bun.randomUUIDv7();
        const created = { organization_id: id, name: `Gathered ${i}`, slug: `gathered-${id}`, domain: null, description: null, max_users: null, registration_policy: "open", is_active: true, is_system: false };
        ({ position: last } = await store.append(`organization-${id}`, [{ id: Bun.randomUUIDv7(), type: "OrganizationCreated", data: created, metadata: metadataFor(ctx, id) }], "no_stream"));
      }
      for (let i = 0; i < 1000 && received < 3; i++) await Bun.sleep(10);
      expect(batches).toEqual([]); // held back: nobody waits yet
      // waitFor gives up (503) after 5 s: resolving at all means the waiter ended the window.
      await projector.waitFor(last, 5_000);
      await projector.stop();
      expect(batches).toEqual([3]);
    });
  });
}

describe.skipIf(!process.env.DATABASE_URL)("projector across processes [postgres]", () => {
  let database: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    database = await freshPostgres();
    store = new PostgresEventStore(database.db, { pollIntervalMs: 50 });
    await seedOrganizations(store, 8_000);
  }, 300_000);
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  test("given a replay child process killed with SIGKILL mid-rebuild, when the projector resumes, then the read model equals a from-zero rebuild", async () => {
    const child = Bun.spawn([process.execPath, "scripts/replay.ts", "organizations", "--batch-size", "500"], {
      env: { ...process.env, DATABASE_URL: database.url!, LOG_LEVEL: "error" },
      stderr: "pipe",
      stdout: "pipe",
    });
    // Wait until the child has committed a few batches, then kill it without warning.
    const reader = child.stderr.getReader();
    let text = "";
    let progressLines = 0;
    while (progressLines < 4) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      progressLines = (text.match(/replay organizations: /g) ?? []).length;
    }
    child.kill("SIGKILL");
    await child.exited;
    if (child.signalCode !== "SIGKILL") console.error(text);
    expect(child.signalCode).toBe("SIGKILL");
    expect(progressLines).toBeGreaterThanOrEqual(4);

    const [{ position }] = await database.db.query<{ position: string }>("SELECT position::text AS position FROM projection_checkpoints WHERE name = 'organizations'");
    const head = await store.headPosition();
    // Killed mid-way: a checkpoint was committed, but not the end.
    expect(BigInt(position)).toBeGreaterThan(0n);
    expect(BigInt(position)).toBeLessThan(head);

    const projector = new Projector(store, database.db, [organizationsProjection], { batchSize: 1000 });
    projector.start();
    await projector.waitFor(head, 60_000);
    await projector.stop();
    const resumed = await organizationRows(database.db.drizzle);
    expect(await rebuiltRows(database, store)).toEqual(resumed);
  }, 300_000);

  test("given two projector processes on one database, when both start, then exactly one leads, the other answers waitFor from the checkpoints, and takes over when the leader stops", async () => {
    const a = new Projector(store, database.db, [organizationsProjection], { leaderRetryMs: 100 });
    const b = new Projector(store, database.db, [organizationsProjection], { leaderRetryMs: 100 });
    a.start();
    await Bun.sleep(300);
    b.start();
    await Bun.sleep(300);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];

    const id = Bun.randomUUIDv7();
    const { position } = await store.append(
      `organization-${id}`,
      [
        {
          id: Bun.randomUUIDv7(),
          type: "OrganizationCreated",
          data: { organization_id: id, name: "Led", slug: `led-${id}`, domain: null, description: null, max_users: null, registration_policy: "open", is_active: true, is_system: false },
          metadata: metadataFor(ctx, id),
        },
      ],
      "no_stream",
    );
    await follower.waitFor(position, 30_000);
    expect((await organizationRows(database.db.drizzle)).some((r) => r.id === id)).toBe(true);

    await leader.stop();
    for (let i = 0; i < 50 && !follower.isLeader; i++) await Bun.sleep(100);
    expect(follower.isLeader).toBe(true);
    await follower.stop();
  }, 60_000);
});

