/**
 * Refused requests (401, 403) are AccessDenied events, throttled per principal, route and
 * minute: the first refusal is recorded at once, the rest of the window as one count.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, uniq } from "./_helpers";
import { AccessDeniedRecorder, type DeniedRequest } from "../../src/auth/access-denied";
import { Logger } from "../../src/logger";
import { stream } from "../../src/eventstore/streams";

describe.each(serviceKinds())("AccessDenied on %s", (kind) => {
  let s: TestService;
  let org: { id: string; adminToken: string; userToken: string; userId: string };

  beforeAll(async () => {
    s = await startService(kind);
    const slug = uniq("d");
    const admin = await s.json("POST", "/api/v1/auth/register", {
      body: { email: `admin@${slug}.test`, password: "Correct-Horse-42!", organization: slug, username: `a${slug}` },
    });
    const member = await s.json("POST", "/api/v1/auth/register", {
      body: { email: `member@${slug}.test`, password: "Correct-Horse-42!", organization: slug, username: `m${slug}` },
    });
    expect([admin.status, member.status]).toEqual([201, 201]);
    org = { id: admin.body.user.organization_id, adminToken: admin.body.access_token, userToken: member.body.access_token, userId: member.body.user.id };
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  const deniedEvents = async (streamId: string) => (await s.deps.store.readStream(streamId)).filter((e) => e.type === "AccessDenied");

  test("given a user without role.create, when refused five times, then one event at once and one carrying the other four after the flush", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await s.request("POST", "/api/v1/roles", { token: org.userToken, body: { name: uniq("r") } });
      expect(res.status).toBe(403);
    }
    await s.deps.accessDenied.flush();
    const all = await deniedEvents(stream.security(org.id));
    const events = all.filter((e) => String(e.data.route).startsWith("/api/v1/roles") && e.data.method === "POST");
    expect(events.map((e) => e.data.count)).toEqual([1, 4]);
    expect(events[0].data).toMatchObject({ status: 403, permission: "role.create", principal_type: "user", principal_id: org.userId });
    expect(events[0].metadata).toMatchObject({ actor: { type: "user", id: org.userId }, organization_id: org.id });
    expect(events[0].metadata.correlation_id).toBeString();
  }, TEST_TIMEOUT_MS);

  test("given a flood of 200 anonymous refusals, when recorded, then at most two events exist for that route and window", async () => {
    const before = (await deniedEvents(stream.security("anonymous"))).length;
    await Promise.all(Array.from({ length: 200 }, () => s.request("GET", "/api/v1/users/me", { headers: { authorization: "Bearer not-a-token" } })));
    await s.deps.accessDenied.flush();
    const events = (await deniedEvents(stream.security("anonymous"))).slice(before).filter((e) => e.data.route === "/api/v1/users/me");
    expect(events.length).toBeLessThanOrEqual(2);
    expect(events.reduce((n, e) => n + (e.data.count as number), 0)).toBe(200);
    expect(events[0].data).toMatchObject({ status: 401, principal_type: "anonymous", principal_id: null });
    expect(JSON.stringify(events.map((e) => [e.data, e.metadata]))).not.toContain("not-a-token");
  }, TEST_TIMEOUT_MS);

  test("given a refusal inside a handler (approving one's own role request), when refused, then it is recorded too", async () => {
    const roles = await s.json("GET", "/api/v1/roles", { token: org.adminToken });
    const manager = roles.body.roles.find((r: { name: string }) => r.name === "manager");
    const request = await s.json("POST", "/api/v1/role-requests", { token: org.adminToken, body: { role_id: manager.id, reason: "self" } });
    expect(request.status).toBe(201);
    const res = await s.request("POST", `/api/v1/role-requests/${request.body.id}/approve`, { token: org.adminToken, body: { notes: "me" } });
    expect(res.status).toBe(403);
    await s.deps.accessDenied.flush();
    const events = (await deniedEvents(stream.security(org.id))).filter((e) => e.data.route === "/api/v1/role-requests/:id/approve");
    expect(events).toHaveLength(1);
    expect(events[0].data.permission).toBeNull();
  }, TEST_TIMEOUT_MS);
});

describe("AccessDeniedRecorder windows", () => {
  const denied = (id: string): DeniedRequest => ({
    method: "GET",
    route: "/api/v1/x",
    status: 403,
    reason: "Missing permission x.read",
    permission: "x.read",
    principal: { type: "user", id, organizationId: "org-1" },
    ip: "10.0.0.1",
    userAgent: "test",
    requestId: null,
  });

  test("given refusals across two minutes and a key cap, when recorded, then windows roll over and overflow shares one window", async () => {
    const appended: Array<{ streamId: string; data: Record<string, unknown> }> = [];
    const store = {
      append: async (streamId: string, events: Array<{ data: Record<string, unknown> }>) => {
        for (const e of events) appended.push({ streamId, data: e.data });
        return { nextRevision: 0n, position: 1n };
      },
    };
    let now = 1_000_000;
    const recorder = new AccessDeniedRecorder(store as never, new Logger("error", () => {}), { now: () => now, windowMs: 60_000, maxKeys: 2 });
    recorder.record(denied("u1"));
    recorder.record(denied("u1"));
    now += 61_000; // the first window has closed
    recorder.record(denied("u1"));
    recorder.record(denied("u2"));
    recorder.record(denied("u3")); // past the cap: overflow window (first refusal there is recorded)
    recorder.record(denied("u4")); // same overflow window: counted
    await recorder.stop();
    const counts = appended.map((a) => `${a.data.principal_id}:${a.data.count}`);
    expect(counts).toEqual(["u1:1", "u1:1", "u1:1", "u2:1", "u3:1", "u4:1"]);
    expect(appended.every((a) => a.streamId === "security-org-1")).toBe(true);
  });
});
