/**
 * API keys over HTTP: seed 004's examples (create, rotate, revoke, then `x-api-key` on
 * GET /users) under /api and /api/v1; the secret shown once and never in lists, events or
 * logs; its format and entropy; scopes checked at creation (403, nothing created) and at
 * every use (intersected with the creator's current permissions); rotation with and
 * without a grace period; revocation, expiry, an inactive organization, an inactive or
 * deleted creator; a key in the query string; last_used_at without an event per use;
 * tenancy (another organization's key answers 404).
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";
import { apiSuite, type CallInit, PASSWORD } from "./_tenant";
import { settle } from "../../src/deps";
import { systemContext } from "../../src/eventstore/context";
import { createRole, roleIdByName } from "../../src/handlers/roles";
import { hashApiKey } from "../../src/domain/api-key";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";
const SECRET_FORMAT = /^llk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/;

interface Issued {
  id: string;
  secret: string;
  body: any;
}

/** Polls `check` until it returns true, at most `ms`: for effects that arrive with time. */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await Bun.sleep(100);
  }
}

describe.each(serviceKinds())("api keys (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const api = apiSuite(kind, (started) => ({ s, root } = started));
  const { ok: expectStatus, problem, tenant, addMember } = api;
  /** `key` is sent as the x-api-key header. */
  const call = (method: string, path: string, init: CallInit & { key?: string } = {}) =>
    api.call(method, path, { body: init.body, token: init.token, headers: { ...(init.headers ?? {}), ...(init.key !== undefined ? { "x-api-key": init.key } : {}) } });
  /** Every response body of this suite: scanned at the end for secrets that leaked. */
  const seen: string[] = [];
  /** Every secret issued in this suite. */
  const secrets: string[] = [];

  /** A response that must not carry a secret: recorded for the final scan. */
  const callSeen = async (...args: Parameters<typeof call>) => {
    const r = await call(...args);
    seen.push(r.text);
    return r;
  };

  /** The roles API is another slice: custom roles through the handler. */
  const customRole = async (orgId: string, permissions: string[]) => {
    const name = uniq("role");
    const { roleId, position } = await createRole(s.deps, { ...systemContext(), organizationId: orgId }, orgId, { name, display_name: name, description: null, is_active: true }, permissions);
    await settle(s.deps, position);
    return { id: roleId, name };
  };

  const create = async (token: string, body: Record<string, unknown>, base = V1): Promise<Issued> => {
    const r = await call("POST", `${base}/apikeys`, { token, body });
    expectStatus(r, 201);
    secrets.push(r.body.apiKey);
    return { id: r.body.apiKeyId, secret: r.body.apiKey, body: r.body };
  };

  const rotate = async (token: string, id: string, body?: Record<string, unknown>, base = V1): Promise<Issued> => {
    const r = await call("POST", `${base}/apikeys/rotate/${id}`, { token, body });
    expectStatus(r, 200);
    secrets.push(r.body.apiKey);
    return { id: r.body.apiKeyId, secret: r.body.apiKey, body: r.body };
  };

  const usersWithKey = (key: string, base = V1) => callSeen("GET", `${base}/users`, { key });
  const listKeys = (token: string, query = "") => callSeen("GET", `${V1}/apikeys${query}`, { token });
  const apiKeyEventCount = async () => (await s.deps.store.readAll({ fromPosition: 0n, limit: 100_000, types: ["ApiKeyCreated"] })).length;

  describe.each(["/api/v1", "/api"])("seed 004 under %s", (prefix) => {
    test("given an admin, when creating, using, rotating and revoking a key as seed 004 does, then each answers as documented", async () => {
      const org = await tenant();
      const created = await call("POST", `${prefix}/apikeys`, { token: org.adminToken, body: { name: "integration", scopes: ["user.read"] } });
      expectStatus(created, 201);
      expect(created.body.apiKeyId).toMatch(UUID_V7);
      expect(created.body.apiKey).toMatch(SECRET_FORMAT);
      expect(created.body).toMatchObject({ id: created.body.apiKeyId, api_key: created.body.apiKey, key: created.body.apiKey, name: "integration", scopes: ["user.read"], expires_at: null, status: "active" });
      expect(created.body.prefix).toBe(created.body.apiKey.slice(0, 12));
      expect(created.body.created_at).toMatch(ISO_UTC);
      const first = created.body.apiKey as string;
      secrets.push(first);

      const listed = expectStatus(await usersWithKey(first, prefix), 200);
      expect(listed.users.map((u: { id: string }) => u.id)).toContain(org.adminId);

      const rotated = await call("POST", `${prefix}/apikeys/rotate/${created.body.apiKeyId}`, { token: org.adminToken });
      expectStatus(rotated, 200);
      expect(rotated.body.apiKeyId).toMatch(UUID_V7);
      expect(rotated.body.apiKeyId).not.toBe(created.body.apiKeyId);
      expect(rotated.body.apiKey).toMatch(SECRET_FORMAT);
      expect(rotated.body.apiKey).not.toBe(first);
      expect(rotated.body).toMatchObject({ name: "integration", scopes: ["user.read"], rotated_from: created.body.apiKeyId });
      const second = rotated.body.apiKey as string;
      secrets.push(second);
      problem(await usersWithKey(first, prefix), 401);
      expectStatus(await usersWithKey(second, prefix), 200);

      const revoked = await call("POST", `${prefix}/apikeys/revoke/${rotated.body.apiKeyId}`, { token: org.adminToken });
      expectStatus(revoked, 200);
      expect(revoked.body).toEqual({ message: "Revoked" });
      problem(await usersWithKey(second, prefix), 401);
    });
  });

  test("the secret has the llk_ prefix, a public id and 256 random bits, is shown once and stored only as its SHA-256", async () => {
    const org = await tenant();
    const keys: Issued[] = [];
    for (let i = 0; i < 5; i++) keys.push(await create(org.adminToken, { name: `k${i}`, scopes: ["user.read"] }));
    const all = new Set(keys.map((k) => k.secret));
    expect(all.size).toBe(5);
    for (const k of keys) {
      expect(k.secret).toMatch(SECRET_FORMAT);
      expect(Buffer.from(k.secret.slice(13), "base64url").length).toBe(32);
      expect(k.body.prefix).toBe(k.secret.slice(0, 12));
    }
    expect(new Set(keys.map((k) => k.secret.slice(13))).size).toBe(5);

    // Lists and single reads: prefix and scopes, never the secret or its hash.
    const list = expectStatus(await listKeys(org.adminToken), 200);
    expect(list).toMatchObject({ total: 5, page: 1, pages: 1 });
    for (const item of list.api_keys) {
      expect(Object.keys(item).sort()).toEqual(
        ["created_at", "created_by", "expires_at", "grace_until", "id", "last_used_at", "name", "organization_id", "prefix", "revoked_at", "rotated_to", "scopes", "status", "updated_at"].sort(),
      );
      expect(item.created_by).toBe(org.adminId);
    }
    const one = expectStatus(await callSeen("GET", `${V1}/apikeys/${keys[0].id}`, { token: org.adminToken }), 200);
    expect(one).toMatchObject({ id: keys[0].id, prefix: keys[0].body.prefix, scopes: ["user.read"] });

    // The event carries the hash, never the secret.
    const [event] = await s.deps.store.readStream(`apikey-${keys[0].id}`);
    expect(event.type).toBe("ApiKeyCreated");
    expect((event.data as { key_hash: string }).key_hash).toBe(hashApiKey(keys[0].secret));
    expect(JSON.stringify({ data: event.data, metadata: event.metadata })).not.toContain(keys[0].secret);

    for (const text of [...seen, JSON.stringify(list)]) {
      for (const k of keys) {
        expect(text).not.toContain(k.secret);
        expect(text).not.toContain(hashApiKey(k.secret));
      }
    }
  });

  test("given a member, when asking for a scope it does not hold, then 403 naming the scope and nothing is created", async () => {
    const org = await tenant();
    const member = await addMember(org);
    const before = await apiKeyEventCount();
    const r = problem(await call("POST", `${V1}/apikeys`, { token: member.token, body: { name: "too much", scopes: ["query.execute", "user:delete"] } }), 403);
    expect(r.detail).toContain("user.delete");
    // admin.system is never a key's, not even a super admin's.
    const sys = problem(await call("POST", `${V1}/apikeys`, { token: root, body: { name: "platform", scopes: ["admin.system"] } }), 403);
    expect(sys.detail).toContain("admin.system");
    problem(await call("POST", `${V1}/apikeys`, { token: org.adminToken, body: { name: "bad", scopes: ["not a permission"] } }), 422);
    problem(await call("POST", `${V1}/apikeys`, { token: org.adminToken, body: { name: "past", scopes: ["user.read"], expires_at: new Date(Date.now() - 60_000).toISOString() } }), 422);
    problem(await call("POST", `${V1}/apikeys`, { token: org.adminToken, body: { name: "none", scopes: [] } }), 422);
    problem(await call("POST", `${V1}/apikeys`, { token: org.adminToken, body: { name: "x", scopes: ["user.read"], organization_id: org.id } }), 422);
    expect(await apiKeyEventCount()).toBe(before);

    // What the member holds it may give; `resource:action` is accepted.
    const ok = await create(member.token, { name: "mine", scopes: ["query:execute"] });
    expect(ok.body.scopes).toEqual(["query.execute"]);
  });

  test("a key works for routes within its scopes and gets 403 outside them; a key cannot mint keys", async () => {
    const org = await tenant();
    const k = await create(org.adminToken, { name: "reader", scopes: ["user.read", "apikey.read"] });
    expectStatus(await usersWithKey(k.secret), 200);
    expectStatus(await callSeen("GET", `${V1}/users/me`, { key: k.secret }), 200);
    problem(await call("POST", `${V1}/users`, { key: k.secret, body: { email: `${uniq("x")}@example.com`, password: PASSWORD } }), 403);
    problem(await call("DELETE", `${V1}/users/${org.adminId}`, { key: k.secret }), 403);
    // Listing is allowed (apikey.read): the creator's keys.
    const list = expectStatus(await callSeen("GET", `${V1}/apikeys`, { key: k.secret }), 200);
    expect(list.api_keys.map((x: { id: string }) => x.id)).toContain(k.id);

    const minting = await create(org.adminToken, { name: "minter", scopes: ["apikey.create", "apikey.rotate", "user.read"] });
    problem(await call("POST", `${V1}/apikeys`, { key: minting.secret, body: { name: "child", scopes: ["user.read"] } }), 403);
    problem(await call("POST", `${V1}/apikeys/rotate/${k.id}`, { key: minting.secret }), 403);
    // A bearer token wins over a key sent alongside it.
    expectStatus(await call("POST", `${V1}/users`, { token: org.adminToken, key: k.secret, body: { email: `${uniq("y")}@example.com`, password: PASSWORD } }), 201);
  });

  test("given a key, when its creator loses the role carrying a scope, then the key loses it on the very next request, and regains it", async () => {
    const org = await tenant();
    const readers = await customRole(org.id, ["user.read", "apikey.create", "apikey.read"]);
    const member = await addMember(org, { roles: ["user", readers.name] });
    const k = await create(member.token, { name: "narrowing", scopes: ["user.read"] });
    expectStatus(await usersWithKey(k.secret), 200);

    expectStatus(await call("DELETE", `${V1}/users/${member.id}/roles`, { token: org.adminToken, body: { role_id: readers.id } }), 200);
    problem(await usersWithKey(k.secret), 403);
    // The key itself still authenticates: what it can reach is narrowed.
    expectStatus(await callSeen("GET", `${V1}/users/me`, { key: k.secret }), 200);

    expectStatus(await call("POST", `${V1}/users/${member.id}/roles`, { token: org.adminToken, body: { role_id: readers.id } }), 200);
    expectStatus(await usersWithKey(k.secret), 200);
  });

  test("rotation without a grace period stops the old key at once; with one, both work until it ends", async () => {
    const org = await tenant();
    const a = await create(org.adminToken, { name: "rotating", scopes: ["user.read"] });
    const b = await rotate(org.adminToken, a.id);
    problem(await usersWithKey(a.secret), 401);
    expectStatus(await usersWithKey(b.secret), 200);
    // The old key cannot be rotated again, nor can a revoked one.
    problem(await call("POST", `${V1}/apikeys/rotate/${a.id}`, { token: org.adminToken }), 409);

    const started = Date.now();
    const c = await rotate(org.adminToken, b.id, { grace_period_seconds: 2 });
    expect(c.body.previous_key).toMatchObject({ id: b.id, status: "rotated", rotated_to: c.id });
    expect(Date.parse(c.body.previous_key.grace_until)).toBeGreaterThan(started);
    expectStatus(await usersWithKey(b.secret), 200);
    expectStatus(await usersWithKey(c.secret), 200);
    expect(await within(10_000, async () => (await usersWithKey(b.secret)).status === 401)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expectStatus(await usersWithKey(c.secret), 200);

    const events = (await s.deps.store.readStream(`apikey-${b.id}`)).map((e) => e.type);
    expect(events).toEqual(["ApiKeyCreated", "ApiKeyRotated"]);
    problem(await call("POST", `${V1}/apikeys/rotate/ffffffff-ffff-7fff-bfff-ffffffffffff`, { token: org.adminToken }), 404);
    problem(await call("POST", `${V1}/apikeys/rotate/${c.id}`, { token: org.adminToken, body: { grace_period_seconds: -1 } }), 422);
  });

  test("a revoked key is refused with the same answer as an unknown one; revoking again changes nothing", async () => {
    const org = await tenant();
    const k = await create(org.adminToken, { name: "revoked", scopes: ["user.read"] });
    expectStatus(await usersWithKey(k.secret), 200);
    expect(expectStatus(await call("POST", `${V1}/apikeys/revoke/${k.id}`, { token: org.adminToken }), 200)).toEqual({ message: "Revoked" });
    const revoked = problem(await usersWithKey(k.secret), 401);
    const unknown = problem(await usersWithKey(`llk_00000000_${"A".repeat(43)}`), 401);
    const { request_id: _a, ...r1 } = revoked;
    const { request_id: _b, ...r2 } = unknown;
    expect(r1).toEqual(r2);
    expect(expectStatus(await call("POST", `${V1}/apikeys/revoke/${k.id}`, { token: org.adminToken }), 200)).toEqual({ message: "Revoked" });
    expect((await s.deps.store.readStream(`apikey-${k.id}`)).map((e) => e.type)).toEqual(["ApiKeyCreated", "ApiKeyRevoked"]);
    problem(await call("POST", `${V1}/apikeys/rotate/${k.id}`, { token: org.adminToken }), 409);
    const listed = expectStatus(await listKeys(org.adminToken, "?status=revoked"), 200);
    expect(listed.api_keys.map((x: { id: string; status: string }) => [x.id, x.status])).toEqual([[k.id, "revoked"]]);
    problem(await call("GET", `${V1}/users`, { key: "" }), 401);
  });

  test("an expiring key works until expires_at, then is refused", async () => {
    const org = await tenant();
    const expiresAt = new Date(Date.now() + 1500);
    const k = await create(org.adminToken, { name: "short-lived", scopes: ["user.read"], expires_at: expiresAt.toISOString() });
    expect(k.body.expires_at).toBe(expiresAt.toISOString());
    if (Date.now() < expiresAt.getTime() - 200) expectStatus(await usersWithKey(k.secret), 200);
    expect(await within(10_000, async () => (await usersWithKey(k.secret)).status === 401)).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
    const listed = expectStatus(await listKeys(org.adminToken), 200);
    expect(listed.api_keys.find((x: { id: string }) => x.id === k.id).status).toBe("expired");
  });

  test("an inactive organization's keys, and a deactivated or deleted creator's keys, stop working", async () => {
    const org = await tenant();
    const k = await create(org.adminToken, { name: "org", scopes: ["user.read"] });
    expectStatus(await usersWithKey(k.secret), 200);
    expectStatus(await call("PUT", `${V1}/organizations/${org.id}`, { token: root, body: { is_active: false } }), 200);
    problem(await usersWithKey(k.secret), 401);
    expectStatus(await call("PUT", `${V1}/organizations/${org.id}`, { token: root, body: { is_active: true } }), 200);
    expectStatus(await usersWithKey(k.secret), 200);

    const manager = await addMember(org, { roles: ["manager"] });
    const mk = await create(manager.token, { name: "manager's", scopes: ["user.read"] });
    expectStatus(await usersWithKey(mk.secret), 200);
    expectStatus(await call("PUT", `${V1}/users/${manager.id}`, { token: org.adminToken, body: { is_active: false } }), 200);
    problem(await usersWithKey(mk.secret), 401);
    const listed = expectStatus(await listKeys(org.adminToken), 200);
    expect(listed.api_keys.find((x: { id: string }) => x.id === mk.id).status).toBe("suspended");
    expectStatus(await call("PUT", `${V1}/users/${manager.id}`, { token: org.adminToken, body: { is_active: true } }), 200);
    expectStatus(await usersWithKey(mk.secret), 200);
    expectStatus(await call("DELETE", `${V1}/users/${manager.id}`, { token: org.adminToken }), 200);
    problem(await usersWithKey(mk.secret), 401);
  });

  test("a key in the query string is refused, even a valid one", async () => {
    const org = await tenant();
    const k = await create(org.adminToken, { name: "query", scopes: ["user.read"] });
    for (const param of ["api_key", "apikey", "key", "x-api-key"]) {
      problem(await callSeen("GET", `${V1}/users?${param}=${encodeURIComponent(k.secret)}`, {}), 401);
      problem(await callSeen("GET", `${V1}/users?${param}=${encodeURIComponent(k.secret)}`, { key: k.secret }), 401);
    }
  });

  test("last_used_at appears after a use, flushed in batches without an event per request", async () => {
    const org = await tenant();
    const k = await create(org.adminToken, { name: "used", scopes: ["user.read"] });
    const before = expectStatus(await listKeys(org.adminToken), 200);
    expect(before.api_keys.find((x: { id: string }) => x.id === k.id).last_used_at).toBeNull();
    const headBefore = await s.deps.store.headPosition();
    const usedFrom = Date.now();
    for (let i = 0; i < 3; i++) expectStatus(await usersWithKey(k.secret), 200);
    let lastUsed: string | null = null;
    const flushed = await within(15_000, async () => {
      const list = expectStatus(await listKeys(org.adminToken), 200);
      lastUsed = list.api_keys.find((x: { id: string }) => x.id === k.id).last_used_at;
      return lastUsed !== null;
    });
    expect(flushed).toBe(true);
    expect(lastUsed!).toMatch(ISO_UTC);
    expect(Date.parse(lastUsed!)).toBeGreaterThanOrEqual(usedFrom - 1000);
    const [row] = await s.deps.db.query<{ uses: string | number }>("SELECT uses FROM api_key_usage WHERE key_id = $1", [k.id]);
    expect(Number(row.uses)).toBe(3);
    // Using a key appends nothing to the event store.
    const appended = await s.deps.store.readAll({ fromPosition: headBefore, limit: 1000 });
    expect(appended.filter((e) => e.metadata.actor.id === k.id)).toEqual([]);
  });

  test("tenancy: another organization's key answers 404 and is left alone; a member sees only its own keys", async () => {
    const a = await tenant();
    const b = await tenant();
    const kb = await create(b.adminToken, { name: "b's", scopes: ["user.read"] });
    problem(await call("POST", `${V1}/apikeys/rotate/${kb.id}`, { token: a.adminToken }), 404);
    problem(await call("POST", `${V1}/apikeys/revoke/${kb.id}`, { token: a.adminToken }), 404);
    problem(await call("GET", `${V1}/apikeys/${kb.id}`, { token: a.adminToken }), 404);
    problem(await call("POST", `${V1}/apikeys/revoke/not-a-uuid`, { token: a.adminToken }), 404);
    expect(expectStatus(await listKeys(a.adminToken), 200).api_keys.map((x: { id: string }) => x.id)).not.toContain(kb.id);
    expect((await s.deps.store.readStream(`apikey-${kb.id}`)).map((e) => e.type)).toEqual(["ApiKeyCreated"]);
    expectStatus(await usersWithKey(kb.secret), 200);
    // A key of organization B lists B's users only.
    const users = expectStatus(await usersWithKey(kb.secret), 200).users as Array<{ organization_id: string }>;
    for (const u of users) expect(u.organization_id).toBe(b.id);

    // Within one organization: a member sees and manages only its own keys, the admin all.
    const member = await addMember(b);
    const mine = await create(member.token, { name: "member's", scopes: ["query.execute"] });
    expect(expectStatus(await listKeys(member.token), 200).api_keys.map((x: { id: string }) => x.id)).toEqual([mine.id]);
    problem(await call("POST", `${V1}/apikeys/revoke/${kb.id}`, { token: member.token }), 404);
    problem(await call("POST", `${V1}/apikeys/rotate/${kb.id}`, { token: member.token }), 404);
    expect(expectStatus(await listKeys(b.adminToken), 200).api_keys.map((x: { id: string }) => x.id).sort()).toEqual([kb.id, mine.id].sort());
    expectStatus(await call("POST", `${V1}/apikeys/revoke/${mine.id}`, { token: b.adminToken }), 200);
    // The super admin sees every organization's keys, or one organization's.
    const all = expectStatus(await listKeys(root, `?organization_id=${b.id}&size=100`), 200);
    expect(all.api_keys.map((x: { id: string }) => x.id).sort()).toEqual([kb.id, mine.id].sort());
  });

  test("no secret ever reaches a list, an event or a log line", async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const events = JSON.stringify(await s.deps.store.readAll({ fromPosition: 0n, limit: 100_000 }), (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    const logs = s.logLines.join("\n");
    for (const secret of secrets) {
      expect(events).not.toContain(secret);
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(hashApiKey(secret));
      for (const text of seen) expect(text).not.toContain(secret);
    }
  });
});
