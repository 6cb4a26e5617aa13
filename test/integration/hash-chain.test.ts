/**
 * Tamper evidence: every event carries its predecessor's hash and its own; verification
 * recomputes the chains and names the first break. Tampering is done the way an insider
 * with database access would: straight SQL on the events table, triggers disabled.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, expectProblem, uniq } from "../api/_helpers";
import { chainHash, contentHash, canonicalJson } from "../../src/eventstore/hash-chain";
import { verifyEventStore } from "../../src/audit/verify";
import { systemContext, metadataFor } from "../../src/eventstore/context";
import type { NewEvent } from "../../src/eventstore/port";

function event(type: string, data: Record<string, unknown>): NewEvent {
  return { id: Bun.randomUUIDv7(), type, data, metadata: metadataFor(systemContext()) };
}

describe("canonical encoding", () => {
  test("given the same object with keys in another order, when encoded, then the text is identical", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ a: undefined, b: "é\n" })).toBe('{"b":"é\\n"}');
  });

  test("given a different value anywhere, when hashed, then the hash differs", () => {
    const base = { id: "e1", type: "T", data: { n: 1, nested: { s: "x" } }, metadata: { actor: { id: "u" } } };
    const altered = { ...base, data: { n: 1, nested: { s: "y" } } };
    expect(contentHash(base).equals(contentHash(altered))).toBe(false);
    expect(chainHash(null, contentHash(base)).equals(chainHash(Buffer.alloc(32, 1), contentHash(base)))).toBe(false);
  });
});

describe.each(serviceKinds())("hash chain on %s", (kind) => {
  let s: TestService;

  beforeAll(async () => {
    s = await startService(kind);
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  test("given appended events, when read back, then each links to its predecessor and its hash recomputes", async () => {
    const id = `chain-${uniq()}`;
    await s.deps.store.append(id, [event("A", { n: 1 }), event("B", { n: 2 })], "no_stream");
    await s.deps.store.append(id, [event("C", { n: 3 })], 1n);
    const events = await s.deps.store.readStream(id);
    expect(events.map((e) => e.prevHash)).toEqual([null, events[0].hash, events[1].hash]);
    let prev: Buffer | null = null;
    for (const e of events) {
      const expected = chainHash(prev, contentHash(e)).toString("hex");
      expect(e.hash).toBe(expected);
      prev = Buffer.from(e.hash!, "hex");
    }
  }, TEST_TIMEOUT_MS);

  test("given 20 concurrent appends with expected revision any, when verified, then the stream's chain did not fork", async () => {
    const id = `race-${uniq()}`;
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.deps.store.append(id, [event("Raced", { i })], "any")));
    const events = await s.deps.store.readStream(id);
    expect(events).toHaveLength(20);
    for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash);
    const report = await verifyEventStore(s.deps.store, { db: s.deps.db });
    expect(report.first_broken).toBeNull();
    expect(report.valid).toBe(true);
  }, TEST_TIMEOUT_MS);

  test("given an untouched store, when GET /audit/verify as super admin, then it is valid and counts every event", async () => {
    const head = await s.deps.store.headPosition();
    const res = await s.json("GET", "/api/v1/audit/verify", { token: await s.superAdminToken() });
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(true);
    expect(res.body.first_broken).toBeNull();
    expect(res.body.events_checked).toBeGreaterThan(10);
    expect(BigInt(res.body.head_position)).toBeGreaterThanOrEqual(head);
  }, TEST_TIMEOUT_MS);

  test("given an organization admin, when GET /audit/verify, then 403", async () => {
    const slug = uniq("v");
    const reg = await s.json("POST", "/api/v1/auth/register", {
      body: { email: `admin@${slug}.test`, password: "Correct-Horse-42!", organization: slug, username: slug },
    });
    expect(reg.status).toBe(201);
    await expectProblem(await s.request("GET", "/api/v1/audit/verify", { token: reg.body.access_token }), 403);
  }, TEST_TIMEOUT_MS);

  describe("tampering", () => {
    // Each case repairs what it broke (except the last), so every case judges only its own tampering.
    const tamper = async (sql: string, params: unknown[]) => {
      await s.deps.db.query("ALTER TABLE events DISABLE TRIGGER USER");
      try {
        await s.deps.db.query(sql, params);
      } finally {
        await s.deps.db.query("ALTER TABLE events ENABLE TRIGGER USER");
      }
    };
    const saveRow = async (eventId: string) =>
      (await s.deps.db.query<{ row: unknown }>("SELECT to_jsonb(e) AS row FROM events e WHERE event_id = $1", [eventId]))[0].row;
    const restoreRow = (row: unknown) =>
      s.deps.db.query("INSERT INTO events SELECT * FROM jsonb_populate_record(NULL::events, $1::jsonb)", [typeof row === "string" ? row : JSON.stringify(row)]);

    test("given one stored event's data altered in the database, when verified, then the report names that event", async () => {
      const id = `alter-${uniq()}`;
      await s.deps.store.append(id, [event("AmountSet", { amount: 100 }), event("AmountSet", { amount: 200 }), event("AmountSet", { amount: 300 })], "no_stream");
      const [victim] = await s.deps.store.readStream(id, { fromRevision: 1n, limit: 1 });
      await tamper(`UPDATE events SET data = '{"amount": 999}'::jsonb WHERE event_id = $1`, [victim.id]);

      const report = await verifyEventStore(s.deps.store, { db: s.deps.db });
      expect(report.valid).toBe(false);
      expect(report.first_broken).toMatchObject({ event_id: victim.id, stream_id: id, revision: "1", position: victim.position.toString() });
      expect(report.first_broken!.reason).toContain("altered");

      await tamper(`UPDATE events SET data = '{"amount": 200}'::jsonb WHERE event_id = $1`, [victim.id]);
      expect((await verifyEventStore(s.deps.store, { db: s.deps.db })).valid).toBe(true);
    }, TEST_TIMEOUT_MS);

    test("given the newest event of a stream deleted, when verified, then the missing end of that stream is reported", async () => {
      const id = `tail-${uniq()}`;
      await s.deps.store.append(id, [event("Step", { n: 0 }), event("Step", { n: 1 })], "no_stream");
      const events = await s.deps.store.readStream(id);
      const saved = await saveRow(events[1].id);
      await tamper("DELETE FROM events WHERE event_id = $1", [events[1].id]);

      const report = await verifyEventStore(s.deps.store, { db: s.deps.db });
      expect(report.valid).toBe(false);
      expect(report.first_broken).toMatchObject({ stream_id: id, revision: "1", event_id: null });
      expect(report.first_broken!.reason).toContain("removed from its end");

      await restoreRow(saved);
      expect((await verifyEventStore(s.deps.store, { db: s.deps.db })).valid).toBe(true);
    }, TEST_TIMEOUT_MS);

    test("given one event deleted from the middle of a stream, when GET /audit/verify, then the gap is named at the next event", async () => {
      const id = `delete-${uniq()}`;
      await s.deps.store.append(id, [event("Step", { n: 0 }), event("Step", { n: 1 }), event("Step", { n: 2 })], "no_stream");
      const events = await s.deps.store.readStream(id);
      await tamper("DELETE FROM events WHERE event_id = $1", [events[1].id]);

      const res = await s.json("GET", "/api/v1/audit/verify", { token: await s.superAdminToken() });
      expect(res.status).toBe(200);
      expect(res.body.valid).toBe(false);
      expect(res.body.first_broken).toMatchObject({ stream_id: id, revision: "2", event_id: events[2].id });
      expect(res.body.first_broken.reason).toContain("revision 1 of the stream is missing");
    }, TEST_TIMEOUT_MS);
  });
});
