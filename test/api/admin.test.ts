/**
 * /admin over HTTP: seed 003's admin endpoints as written under /api and /api/v1. Users:
 * list, role, status (a deactivated user's token is refused on the very next request),
 * delete, for organization admins in their organization (another organization's user
 * is 404) and super admins. System status, cache clear and logs: super admin only (an
 * organization admin gets 403); status reports stores, projections with their lag, LLM,
 * uptime, memory; logs hold no secret after a login with a password.
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, SUPER_ADMIN, type TestService } from "../support/app";
import { TEST_TIMEOUT_MS } from "./_helpers";
import { apiSuite, PASSWORD } from "./_tenant";
import { Logger } from "../../src/logger";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
const V1 = "/api/v1";

describe.each(serviceKinds())("admin (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  describe.each(["/api/v1", "/api"])("seed 003 examples under %s", (prefix) => {
    test("given an organization admin, when it lists users, changes a role and a status, and deletes a user, then each applies to its organization", async () => {
      const org = await tenant({ members: [{}, {}] });
      const [member, victim] = org.members;

      const listed = ok(await call("GET", `${prefix}/admin/users?skip=0&limit=100`, { token: org.adminToken }));
      expect(listed).toMatchObject({ total: 3, page: 1, size: 100 });
      expect(listed.users.map((u: any) => u.id).sort()).toEqual([org.adminId, member.id, victim.id].sort());
      expect(JSON.stringify(listed)).not.toMatch(/password/i);

      const promoted = ok(await call("PUT", `${prefix}/admin/users/${member.id}/role`, { token: org.adminToken, body: { role: "manager" } }));
      expect(promoted).toMatchObject({ message: "Role updated", user: { id: member.id, role: "manager" } });
      expect((await s.deps.store.readStream(`user-${member.id}`)).map((e) => e.type)).toContain("RoleAssigned");

      // The member's token works, then stops on the very next request after deactivation.
      ok(await call("GET", `${prefix}/users/me`, { token: member.token }));
      const off = ok(await call("PUT", `${prefix}/admin/users/${member.id}/status`, { token: org.adminToken, body: { is_active: false } }));
      expect(off).toMatchObject({ message: "User deactivated", user: { id: member.id, is_active: false } });
      problem(await call("GET", `${prefix}/users/me`, { token: member.token }), 401);
      problem(await call("GET", `${prefix}/tokens/usage`, { token: member.token }), 401);
      const on = ok(await call("PUT", `${prefix}/admin/users/${member.id}/status`, { token: org.adminToken, body: { status: "active" } }));
      expect(on.user.is_active).toBe(true);
      // Its old sessions stay ended: reactivation does not bring old tokens back.
      problem(await call("GET", `${prefix}/users/me`, { token: member.token }), 401);

      expect(ok(await call("DELETE", `${prefix}/admin/users/${victim.id}`, { token: org.adminToken }))).toEqual({ message: "Deleted" });
      problem(await call("DELETE", `${prefix}/admin/users/${victim.id}`, { token: org.adminToken }), 404);
      expect(ok(await call("GET", `${prefix}/admin/users`, { token: org.adminToken })).total).toBe(2);
    });

    test("given a super admin, when it reads the system status, clears the caches and reads the logs, then each answers as documented", async () => {
      const status = ok(await call("GET", `${prefix}/admin/system/status`, { token: root }));
      expect(status).toMatchObject({
        status: "healthy",
        version: s.deps.config.version,
        event_store: { status: "ok", adapter: expect.any(String) },
        read_database: { status: "ok", kind: s.deps.db.kind },
        llm: { provider: "builtin", key_configured: false },
      });
      expect(BigInt(status.event_store.head_position)).toBeGreaterThan(0n);
      expect(status.uptime_seconds).toBeGreaterThanOrEqual(0);
      expect(status.memory.rss_mb).toBeGreaterThan(0);
      const names = status.projections.map((p: any) => p.name);
      expect(names).toEqual(expect.arrayContaining(["users", "usage", "auth_activity"]));
      for (const p of status.projections) {
        expect(p.lag_events).toBeGreaterThanOrEqual(0);
        expect(p.lag_ms).toBeGreaterThanOrEqual(0);
        expect(p.error).toBeNull();
      }

      const cleared = ok(await call("POST", `${prefix}/admin/system/cache/clear`, { token: root }));
      expect(cleared).toMatchObject({ message: "Caches cleared", cleared: ["verified_tokens", "schemas"], other_processes_notified: true });
      // A token verified before the clear is verified again, and still works.
      ok(await call("GET", `${prefix}/auth/me`, { token: root }));

      const few = ok(await call("GET", `${prefix}/admin/logs?limit=3`, { token: root }));
      expect(few.logs.length).toBe(3);
      const logs = ok(await call("GET", `${prefix}/admin/logs?level=info&limit=200`, { token: root }));
      expect(logs.count).toBe(logs.logs.length);
      for (const line of logs.logs) expect(["info", "warn", "error"]).toContain(line.level);
      expect(logs.logs.some((l: any) => l.msg === "caches cleared")).toBe(true);
    });
  });

  describe("refusals", () => {
    test("given an organization admin, when it calls system status, cache clear or logs, then 403 and nothing is cleared", async () => {
      const org = await tenant();
      problem(await call("GET", `${V1}/admin/system/status`, { token: org.adminToken }), 403);
      problem(await call("POST", `${V1}/admin/system/cache/clear`, { token: org.adminToken }), 403);
      problem(await call("GET", `${V1}/admin/logs`, { token: org.adminToken }), 403);
      const member = await addMember(org);
      problem(await call("GET", `${V1}/admin/users`, { token: member.token }), 403);
      problem(await call("GET", `${V1}/admin/logs`), 401);
    });

    test("given another organization's user, when an admin changes or deletes it, then 404 and it is unchanged", async () => {
      const org = await tenant();
      const other = await tenant();
      const theirs = await addMember(other);
      problem(await call("PUT", `${V1}/admin/users/${theirs.id}/role`, { token: org.adminToken, body: { role: "admin" } }), 404);
      problem(await call("PUT", `${V1}/admin/users/${theirs.id}/status`, { token: org.adminToken, body: { is_active: false } }), 404);
      problem(await call("DELETE", `${V1}/admin/users/${theirs.id}`, { token: org.adminToken }), 404);
      expect(ok(await call("GET", `${V1}/admin/users`, { token: org.adminToken })).users.map((u: any) => u.id)).not.toContain(theirs.id);
      ok(await call("GET", `${V1}/users/me`, { token: theirs.token }));
      expect((await s.deps.store.readStream(`user-${theirs.id}`)).map((e) => e.type)).toEqual(["UserRegistered"]);
    });

    test("given bad bodies, when a role or status is put, then 422; the last admin cannot deactivate itself", async () => {
      const org = await tenant();
      const member = await addMember(org);
      problem(await call("PUT", `${V1}/admin/users/${member.id}/role`, { token: org.adminToken, body: { role: "emperor" } }), 422);
      problem(await call("PUT", `${V1}/admin/users/${member.id}/status`, { token: org.adminToken, body: {} }), 422);
      problem(await call("PUT", `${V1}/admin/users/${member.id}/status`, { token: org.adminToken, body: { is_active: true, status: "inactive" } }), 422);
      problem(await call("PUT", `${V1}/admin/users/${org.adminId}/status`, { token: org.adminToken, body: { is_active: false } }), 422);
      ok(await call("GET", `${V1}/users/me`, { token: member.token }));
    });
  });

  test("given logins with passwords and tokens flying around, when the logs are read, then no password, token, key or hash appears in them", async () => {
    const org = await tenant();
    const member = await addMember(org);
    const login = ok(await call("POST", `${V1}/auth/login`, { body: { email: member.email, password: PASSWORD, organization_id: org.id } }));
    problem(await call("POST", `${V1}/auth/login`, { body: { email: member.email, password: "Wrong-Canary-Password-42", organization_id: org.id } }), 401);
    const key = ok(await call("POST", `${V1}/apikeys`, { token: org.adminToken, body: { name: "k", scopes: ["tokens.read"] } }), 201);
    // A careless log line with secrets in values under innocent keys.
    s.deps.logger.warn(`debugging Bearer ${login.access_token}`, { note: `refresh ${login.refresh_token}`, header: key.key ?? key.api_key ?? "", digest: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo" });

    const logs = await s.request("GET", `${V1}/admin/logs?limit=1000&level=debug`, { token: root });
    expect(logs.status).toBe(200);
    const text = await logs.text();
    expect(text.length).toBeGreaterThan(100);
    const secrets = [PASSWORD, "Wrong-Canary-Password-42", SUPER_ADMIN.password, login.access_token, login.refresh_token, root, "$argon2id$"];
    const apiKey = key.key ?? key.api_key;
    if (typeof apiKey === "string") secrets.push(apiKey);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain("debugging Bearer [redacted]");
  });

  test("given a logger, when values that look like secrets are logged under any key, then they are redacted in output and ring alike", () => {
    const out: string[] = [];
    const logger = new Logger("info", (l) => out.push(l));
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    logger.info(`token ${jwt}`, { path: "/x", detail: `key llk_0123abcd_${"A".repeat(43)}` });
    expect(out[0]).not.toContain(jwt);
    expect(out[0]).not.toContain("A".repeat(43));
    expect(JSON.stringify(logger.recent())).not.toContain(jwt);
  });
});
