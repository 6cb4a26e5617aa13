/**
 * The audit log over HTTP: seed 000, 001 and 002's audit examples as written under /api
 * and /api/v1; filters, both pagination styles, newest first; user activity and
 * organization statistics; the streamed export (csv, json, ndjson); raw replay
 * (/audit/events, also as ndjson); permissions; tenancy (another organization's events,
 * users and organization are invisible or 404); no secret in any audit output; and that
 * the index rebuilt from zero equals the live one.
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, startService, SUPER_ADMIN, type TestService } from "../support/app";
import { Projector } from "../../projections/runner/projector";
import { allProjections } from "../../projections";
import { HOOK_TIMEOUT_MS, ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";
const PREFIXES = ["/api", "/api/v1"] as const;
const PASSWORD = "Member-Password-123!";
const NEW_PASSWORD = "Changed-Password-456!";
const WRONG_PASSWORD = "Wrong-Password-789!";

interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

interface Org {
  id: string;
  slug: string;
  adminId: string;
  adminToken: string;
  adminRefresh: string;
}

interface Member {
  id: string;
  email: string;
  token: string;
}

const ENTRY_KEYS = ["id", "event_id", "position", "timestamp", "action", "resource", "resource_id", "user_id", "actor_type", "actor_id", "organization_id", "ip_address", "user_agent", "status", "details"];

describe.each(serviceKinds())("audit log (%s)", (kind) => {
  let s: TestService;
  let root: string;
  let a: Org;
  let b: Org;
  let member: Member;
  let manager: Member;
  /** Everything that must never appear in an audit output. */
  const secrets: string[] = [];

  const call = async (method: string, path: string, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const res = await s.request(method, path, init);
    const text = await res.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { status: res.status, body, text, headers: res.headers };
  };
  const ok = (r: Reply, status = 200) => {
    expect({ status: r.status, body: r.status === status ? null : r.body }).toEqual({ status, body: null });
    return r.body;
  };
  const problem = (r: Reply, status: number) => {
    expect({ status: r.status, body: r.body }).toMatchObject({ status });
    expect(r.headers.get("content-type") ?? "").toStartWith("application/problem+json");
    return r.body;
  };
  const logs = (token: string, query = "", base = V1) => call("GET", `${base}/audit/logs${query ? `?${query}` : ""}`, { token });

  const newOrg = async (): Promise<Org> => {
    const tag = uniq("o");
    const r = ok(
      await call("POST", `${V1}/auth/register`, { body: { email: `admin.${tag}@example.com`, password: PASSWORD, first_name: "Org", last_name: "Admin", organization: `Audit ${tag}` } }),
      201,
    );
    secrets.push(r.access_token, r.refresh_token);
    const org = ok(await call("GET", `${V1}/organizations/my/info`, { token: r.access_token }));
    return { id: r.organization_id, slug: org.slug, adminId: r.id, adminToken: r.access_token, adminRefresh: r.refresh_token };
  };

  const addMember = async (org: Org, extra: Record<string, unknown> = {}): Promise<Member> => {
    const email = `${uniq("u")}@example.com`;
    const created = ok(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email, password: PASSWORD, first_name: "Mem", last_name: "Ber", ...extra } }), 201);
    const l = ok(await call("POST", `${V1}/auth/login`, { body: { email, password: PASSWORD, organization_id: org.id } }));
    secrets.push(l.access_token, l.refresh_token);
    return { id: created.id, email, token: l.access_token };
  };

  /**
   * Waits until the index holds every event appended so far. The store's head hides events
   * behind an older open transaction, so the highest position written is read directly.
   */
  const settled = async () => {
    const [row] = await s.deps.db.query<{ head: string | null }>("SELECT max(global_position)::text AS head FROM events");
    await s.deps.projector.waitFor(BigInt(row?.head ?? "0"), 30_000);
  };
  /** Refusals are recorded off the request path: wait for them, so counts compared below hold still. */
  const quiet = async () => {
    await s.deps.accessDenied.flush();
    await settled();
  };

  beforeAll(async () => {
    s = await startService(kind);
    root = await s.superAdminToken();
    secrets.push(root, SUPER_ADMIN.password, PASSWORD, NEW_PASSWORD, WRONG_PASSWORD);
    a = await newOrg();
    b = await newOrg();
    member = await addMember(a);
    manager = await addMember(a, { role: "manager" });
    await addMember(b);

    // A history with every kind of secret near it: a failed login, a password change, a
    // refresh, API keys created and rotated, a refused request.
    problem(await call("POST", `${V1}/auth/login`, { body: { email: member.email, password: WRONG_PASSWORD, organization_id: a.id } }), 401);
    ok(await call("POST", `${V1}/auth/change-password`, { token: member.token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } }));
    const relogin = ok(await call("POST", `${V1}/auth/login`, { body: { email: member.email, password: NEW_PASSWORD, organization_id: a.id } }));
    member.token = relogin.access_token;
    secrets.push(relogin.access_token, relogin.refresh_token);
    const refreshed = ok(await call("POST", `${V1}/auth/refresh`, { body: { refresh_token: a.adminRefresh } }));
    a.adminToken = refreshed.access_token;
    secrets.push(refreshed.access_token, refreshed.refresh_token);
    const key = ok(await call("POST", `${V1}/apikeys`, { token: a.adminToken, body: { name: "audit", scopes: ["user.read"] } }), 201);
    secrets.push(key.apiKey);
    const rotated = ok(await call("POST", `${V1}/apikeys/rotate/${key.apiKeyId}`, { token: a.adminToken }));
    secrets.push(rotated.apiKey);
    ok(await call("GET", `${V1}/users`, { headers: { "x-api-key": rotated.apiKey } }));
    ok(await call("POST", `${V1}/locations`, { token: a.adminToken, body: { name: "HQ", code: uniq("HQ").toUpperCase() } }), 201);
    problem(await call("GET", `${V1}/audit/logs`, { token: member.token }), 403);
    await s.deps.accessDenied.flush();
    await settled();
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  const expectEntryShape = (e: any) => {
    expect(Object.keys(e).sort()).toEqual([...ENTRY_KEYS].sort());
    expect(e.id).toMatch(UUID_V7);
    expect(e.position).toMatch(/^\d+$/);
    expect(e.timestamp).toMatch(ISO_UTC);
    expect(["success", "failure"]).toContain(e.status);
    expect(typeof e.details).toBe("object");
  };
  const descending = (entries: any[]) => {
    const positions = entries.map((e) => BigInt(e.position));
    for (let i = 1; i < positions.length; i++) expect(positions[i] < positions[i - 1]).toBe(true);
  };

  describe.each(PREFIXES)("seed examples under %s", (base) => {
    test("seed 000: GET /audit/logs?limit=10 answers the 10 newest entries of the caller's organization", async () => {
      const r = ok(await logs(a.adminToken, "limit=10", base));
      expect(r).toMatchObject({ count: 10, size: 10, page: 1 });
      expect(r.audit_logs).toHaveLength(10);
      expect(r.total).toBeGreaterThan(10);
      expect(r.pages).toBe(Math.ceil(r.total / 10));
      r.audit_logs.forEach(expectEntryShape);
      descending(r.audit_logs);
      for (const e of r.audit_logs) expect(e.organization_id).toBe(a.id);
    });

    test("seed 001: user_id, action, start_date, end_date and limit filter the entries", async () => {
      const start = new Date(Date.now() - 3_600_000).toISOString();
      const end = new Date(Date.now() + 3_600_000).toISOString();
      const r = ok(await logs(a.adminToken, `user_id=${member.id}&action=LoginSucceeded&start_date=${start}&end_date=${end}&limit=100`, base));
      expect(r.count).toBe(2); // the first login and the one after the password change
      expect(r.audit_logs.every((e: any) => e.user_id === member.id && e.action === "LoginSucceeded" && e.status === "success")).toBe(true);
      expect(r.audit_logs[0]).toMatchObject({ resource: "login", resource_id: member.id, actor_type: "user", actor_id: member.id });
      const none = ok(await logs(a.adminToken, `user_id=${member.id}&start_date=2000-01-01&end_date=2000-12-31`, base));
      expect(none).toMatchObject({ audit_logs: [], count: 0, total: 0 });
    });

    test("seed 002: page/size with empty filters, user activity, organization stats and the CSV export answer as written", async () => {
      const page = ok(await logs(a.adminToken, "page=1&size=50&user_id=&action=&resource=&status=", base));
      expect(page).toMatchObject({ page: 1, size: 50 });
      expect(page.count).toBe(Math.min(50, page.total));

      const activity = ok(await call("GET", `${base}/audit/user/${member.id}/activity?days=30`, { token: a.adminToken }));
      expect(activity).toMatchObject({ user_id: member.id, organization_id: a.id, days: 30 });
      expect(activity.by_action).toMatchObject({ LoginSucceeded: 2, LoginFailed: 1, PasswordChanged: 1, AccessDenied: 1 });
      expect(activity.failures).toBe(2);
      expect(activity.total_events).toBe(Object.values(activity.by_action as Record<string, number>).reduce((x, y) => x + y, 0));
      expect(activity.by_day).toEqual([{ date: new Date().toISOString().slice(0, 10), count: activity.total_events }]);
      expect(activity.last_seen).toMatch(ISO_UTC);
      expect(activity.last_event.action).toBeString();

      const stats = ok(await call("GET", `${base}/audit/organization/${a.id}/stats?days=30`, { token: a.adminToken }));
      expect(stats).toMatchObject({ organization_id: a.id, days: 30 });
      expect(stats.events_by_type.UserRegistered).toBe(3);
      expect(stats.events_by_type.ApiKeyCreated).toBe(2);
      expect(stats.active_users).toBe(3);
      expect(stats.failures).toBe(2);
      expect(stats.failures_by_type).toEqual({ LoginFailed: 1, AccessDenied: 1 });
      expect(stats.total_events).toBe(ok(await logs(a.adminToken, "limit=1")).total);

      const csv = await call("GET", `${base}/audit/export?format=csv&start_date=2025-01-01&end_date=2025-12-31`, { token: a.adminToken });
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toStartWith("text/csv");
      expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="audit-logs-\d{4}-\d{2}-\d{2}\.csv"$/);
      // This suite's events are all of today, outside 2025: the header alone.
      expect(csv.text).toBe("id,position,timestamp,action,resource,resource_id,user_id,actor_type,actor_id,organization_id,ip_address,user_agent,status,details\r\n");
    });
  });

  test("given filters, then each narrows the entries to what it names", async () => {
    const failures = ok(await logs(a.adminToken, "status=failure&limit=100"));
    expect(failures.audit_logs.map((e: any) => e.action).sort()).toEqual(["AccessDenied", "LoginFailed"]);
    const denied = failures.audit_logs.find((e: any) => e.action === "AccessDenied");
    expect(denied).toMatchObject({ user_id: member.id, actor_type: "user", resource: "security", resource_id: a.id, status: "failure" });
    expect(denied.details).toMatchObject({ status: 403, permission: "audit.read", method: "GET" });

    const keys = ok(await logs(a.adminToken, "resource=apikey&limit=100"));
    expect(keys.audit_logs.map((e: any) => e.action).sort()).toEqual(["ApiKeyCreated", "ApiKeyCreated", "ApiKeyRotated"]);
    const prefixed = ok(await logs(a.adminToken, `action=login*&user_id=${member.id}`));
    expect(new Set(prefixed.audit_logs.map((e: any) => e.action))).toEqual(new Set(["LoginSucceeded", "LoginFailed"]));
    const many = ok(await logs(a.adminToken, "action=apikeycreated,LocationCreated"));
    expect(many.audit_logs.map((e: any) => e.action).sort()).toEqual(["ApiKeyCreated", "ApiKeyCreated", "LocationCreated"]);
    const oneResource = ok(await logs(a.adminToken, `resource=user&resource_id=${member.id}`));
    expect(oneResource.audit_logs.map((e: any) => e.action)).toContain("PasswordChanged");
    expect(oneResource.audit_logs.every((e: any) => e.resource_id === member.id)).toBe(true);
  });

  test("given both pagination styles, then skip&limit and page&size walk the same newest-first order", async () => {
    const first = ok(await logs(a.adminToken, "page=1&size=6"));
    const second = ok(await logs(a.adminToken, "page=2&size=3"));
    const skipped = ok(await logs(a.adminToken, "skip=3&limit=3"));
    descending(first.audit_logs);
    expect(skipped.audit_logs.map((e: any) => e.id)).toEqual(first.audit_logs.slice(3).map((e: any) => e.id));
    expect(second.audit_logs.map((e: any) => e.id)).toEqual(skipped.audit_logs.map((e: any) => e.id));
    expect(skipped).toMatchObject({ page: 2, size: 3, count: 3 });
  });

  test("given bad parameters, then 422 and nothing else", async () => {
    problem(await logs(a.adminToken, "status=maybe"), 422);
    problem(await logs(a.adminToken, "start_date=yesterday"), 422);
    problem(await logs(a.adminToken, "start_date=2025-02-01&end_date=2025-01-01"), 422);
    problem(await logs(a.adminToken, "size=0"), 422);
    problem(await call("GET", `${V1}/audit/user/${member.id}/activity?days=0`, { token: a.adminToken }), 422);
    problem(await call("GET", `${V1}/audit/export?format=xml`, { token: a.adminToken }), 422);
    problem(await call("GET", `${V1}/audit/events?after_position=-1`, { token: a.adminToken }), 422);
    problem(await call("GET", `${V1}/audit/events?limit=1001`, { token: a.adminToken }), 422);
  });

  test("given permissions: audit.read reads, audit.export exports; a plain user gets 403, no credentials 401", async () => {
    problem(await logs(member.token), 403);
    problem(await call("GET", `${V1}/audit/organization/${a.id}/stats`, { token: member.token }), 403);
    problem(await call("GET", `${V1}/audit/events`, { token: member.token }), 403);
    ok(await logs(manager.token, "limit=1"));
    problem(await call("GET", `${V1}/audit/export`, { token: manager.token }), 403);
    problem(await call("GET", `${V1}/audit/logs`), 401);
  });

  describe("tenancy", () => {
    test("given two organizations, then each admin sees only its own organization's entries", async () => {
      const bLogs = ok(await logs(b.adminToken, "limit=1000"));
      expect(bLogs.total).toBeGreaterThan(0);
      expect(bLogs.audit_logs.every((e: any) => e.organization_id === b.id)).toBe(true);
      const aIds = new Set(ok(await logs(a.adminToken, "limit=1000")).audit_logs.map((e: any) => e.id));
      expect(bLogs.audit_logs.filter((e: any) => aIds.has(e.id))).toEqual([]);
      const bExport = await call("GET", `${V1}/audit/export?format=json`, { token: b.adminToken });
      expect(bExport.body.audit_logs.every((e: any) => e.organization_id === b.id)).toBe(true);
      const bEvents = ok(await call("GET", `${V1}/audit/events?limit=1000`, { token: b.adminToken }));
      expect(bEvents.events.length).toBe(bLogs.total);
      expect(bEvents.events.filter((e: any) => aIds.has(e.id))).toEqual([]);
    });

    test("given another organization's user or organization id, then 404 everywhere, as for an unknown one", async () => {
      const unknown = "ffffffff-ffff-7fff-bfff-ffffffffffff";
      for (const id of [member.id, unknown, "not-a-uuid"]) {
        problem(await call("GET", `${V1}/audit/user/${id}/activity`, { token: b.adminToken }), 404);
        problem(await logs(b.adminToken, `user_id=${id}`), 404);
      }
      for (const id of [a.id, unknown]) {
        problem(await call("GET", `${V1}/audit/organization/${id}/stats`, { token: b.adminToken }), 404);
        problem(await logs(b.adminToken, `organization_id=${id}`), 404);
        problem(await call("GET", `${V1}/audit/export?organization_id=${id}`, { token: b.adminToken }), 404);
      }
      // The super admin is a user of no tenant: invisible to tenants too.
      const superId = ok(await call("GET", `${V1}/auth/me`, { token: root })).id;
      problem(await call("GET", `${V1}/audit/user/${superId}/activity`, { token: a.adminToken }), 404);
    });

    test("given the super admin, then it sees every organization, or the one it names", async () => {
      const all = ok(await logs(root, "limit=1000"));
      const orgs = new Set(all.audit_logs.map((e: any) => e.organization_id));
      expect(orgs.has(a.id) && orgs.has(b.id)).toBe(true);
      const onlyB = ok(await logs(root, `organization_id=${b.id}&limit=1000`));
      expect(onlyB.total).toBe(ok(await logs(b.adminToken, "limit=1")).total);
      expect(onlyB.audit_logs.every((e: any) => e.organization_id === b.id)).toBe(true);
      ok(await call("GET", `${V1}/audit/user/${member.id}/activity`, { token: root }));
      ok(await call("GET", `${V1}/audit/organization/${a.id}/stats`, { token: root }));
    });
  });

  describe("export", () => {
    beforeAll(() => quiet(), HOOK_TIMEOUT_MS);
    test("given json and ndjson, then the same entries as the logs, in position order", async () => {
      const listed = ok(await logs(a.adminToken, "limit=1000")).audit_logs.map((e: any) => e.id).reverse();
      const json = await call("GET", `${V1}/audit/export?format=json`, { token: a.adminToken });
      expect(json.status).toBe(200);
      expect(json.headers.get("content-type")).toStartWith("application/json");
      expect(json.body.count).toBe(listed.length);
      expect(json.body.audit_logs.map((e: any) => e.id)).toEqual(listed);
      json.body.audit_logs.forEach(expectEntryShape);
      const nd = await call("GET", `${V1}/audit/export?format=ndjson&status=failure`, { token: a.adminToken });
      expect(nd.headers.get("content-type")).toStartWith("application/x-ndjson");
      const lines = nd.text.trimEnd().split("\n").map((l) => JSON.parse(l));
      expect(new Set(lines.map((e) => e.action))).toEqual(new Set(["AccessDenied", "LoginFailed"]));
      expect(lines.every((e) => e.status === "failure")).toBe(true);
    });

    test("given a CSV export of today, then one quoted line per entry whose details parse back", async () => {
      const today = new Date().toISOString().slice(0, 10);
      const csv = await call("GET", `${V1}/audit/export?format=csv&start_date=${today}&end_date=${today}`, { token: a.adminToken });
      const lines = csv.text.split("\r\n").filter(Boolean);
      const total = ok(await logs(a.adminToken, "limit=1")).total;
      expect(lines.length).toBe(total + 1);
      const denied = lines.find((l) => l.includes(",AccessDenied,"))!;
      const details = denied.slice(denied.indexOf(',"{') + 2, -1).replace(/""/g, '"');
      expect(JSON.parse(details)).toMatchObject({ permission: "audit.read", status: 403 });
    });
  });

  describe("raw replay", () => {
    beforeAll(() => quiet(), HOOK_TIMEOUT_MS);
    test("given after_position and limit, then raw redacted events in position order with next_position to continue", async () => {
      const first = ok(await call("GET", `${V1}/audit/events?after_position=0&limit=5`, { token: root }));
      expect(first.events).toHaveLength(5);
      expect(Object.keys(first.events[0]).sort()).toEqual(["data", "id", "metadata", "position", "recorded_at", "revision", "stream_id", "type"]);
      expect(first.next_position).toBe(first.events[4].position);
      const second = ok(await call("GET", `${V1}/audit/events?after_position=${first.next_position}&limit=5`, { token: root }));
      const positions = [...first.events, ...second.events].map((e: any) => BigInt(e.position));
      for (let i = 1; i < positions.length; i++) expect(positions[i] > positions[i - 1]).toBe(true);
      const head = await s.deps.store.headPosition();
      const past = ok(await call("GET", `${V1}/audit/events?after_position=${head + 1000n}`, { token: root }));
      expect(past).toEqual({ events: [], next_position: (head + 1000n).toString(), count: 0 });
    });

    test("given the super admin, then technical streams are included; an organization's caller gets only its own, no technical stream", async () => {
      const everything = await call("GET", `${V1}/audit/events`, { token: root, headers: { accept: "application/x-ndjson" } });
      const all = { events: everything.text.trimEnd().split("\n").map((l) => JSON.parse(l)) };
      expect(all.events.some((e: any) => e.stream_id.startsWith("reservation-"))).toBe(true);
      const mine = ok(await call("GET", `${V1}/audit/events?limit=1000`, { token: a.adminToken }));
      expect(mine.events.length).toBe(ok(await logs(a.adminToken, "limit=1")).total);
      expect(mine.events.some((e: any) => /^(reservation|idempotency|seats)-/.test(e.stream_id))).toBe(false);
      // Same event, same redacted content, whether read from the store or from the index.
      const byId = new Map(all.events.map((e: any) => [e.id, e]));
      for (const e of mine.events) expect(e).toEqual(byId.get(e.id));
    });

    test("given Accept: application/x-ndjson, then the same events stream one per line", async () => {
      const json = ok(await call("GET", `${V1}/audit/events?after_position=3&limit=40`, { token: root }));
      const nd = await call("GET", `${V1}/audit/events?after_position=3&limit=40`, { token: root, headers: { accept: "application/x-ndjson" } });
      expect(nd.headers.get("content-type")).toStartWith("application/x-ndjson");
      expect(nd.text.endsWith("\n")).toBe(true);
      expect(nd.text.trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual(json.events);
      const everything = await call("GET", `${V1}/audit/events`, { token: a.adminToken, headers: { accept: "application/x-ndjson" } });
      expect(everything.text.trimEnd().split("\n").length).toBe(ok(await logs(a.adminToken, "limit=1")).total);
    });
  });

  test("given users who registered, logged in, changed passwords, refreshed and made API keys, then no audit output holds a secret or a hash", async () => {
    await quiet();
    const outputs: string[] = [];
    const grab = async (token: string, path: string, headers: Record<string, string> = {}) => {
      const r = await call("GET", path, { token, headers });
      expect(r.status).toBe(200);
      outputs.push(r.text);
    };
    for (const token of [root, a.adminToken]) {
      await grab(token, `${V1}/audit/logs?limit=1000`);
      for (const format of ["csv", "json", "ndjson"]) await grab(token, `${V1}/audit/export?format=${format}`);
      await grab(token, `${V1}/audit/events?limit=1000`);
      await grab(token, `${V1}/audit/events`, { accept: "application/x-ndjson" });
      await grab(token, `${V1}/audit/user/${member.id}/activity`);
      await grab(token, `${V1}/audit/organization/${a.id}/stats`);
    }
    const all = outputs.join("\n");
    // Sanity: the outputs do describe the secret-bearing events.
    for (const type of ["UserRegistered", "PasswordChanged", "SessionStarted", "SessionRefreshed", "ApiKeyCreated", "ApiKeyRotated"]) expect(all).toContain(type);
    expect(all).not.toContain("$argon2");
    expect(all).not.toMatch(/llk_[A-Za-z0-9_-]{20,}/);
    expect(all).not.toMatch(/llr_[A-Za-z0-9_-]{20,}/);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\./);
    for (const key of ["password_sealed", "refresh_token_hash", "key_hash", "password_hash"]) expect(all).not.toContain(key);
    for (const secret of secrets) expect(all.includes(secret)).toBe(false);
  });

  // Last: it stops the live projector.
  test("given everything this suite recorded, when the audit index is rebuilt from zero, then it equals the live one", async () => {
    await quiet();
    const rows = () => s.deps.db.query("select * from audit_log order by position");
    const live = await rows();
    expect(live.length).toBeGreaterThan(50);
    await s.deps.projector.stop();
    await new Projector(s.deps.store, s.deps.db, allProjections.filter((p) => p.name === "audit_log")).rebuild(["audit_log"]);
    expect(await rows()).toEqual(live);
  });
});
