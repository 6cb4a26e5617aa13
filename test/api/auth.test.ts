/**
 * Auth over HTTP: every auth request example of the seeds (000, 001, 002, 004) under
 * /api and /api/v1, login by every organization alias, registration policies, refresh
 * rotation and reuse detection, logout, change-password and the password policy.
 *
 * Bun 1.4's toMatchObject writes asymmetric matchers (expect.any...) into the received
 * object, so such matches run on a structuredClone of a body that is used afterwards.
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { decodeJwt } from "jose";
import { SUPER_ADMIN, serviceKinds, startService, type TestService } from "../support/app";
import { expectProblem, HOOK_TIMEOUT_MS, ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";
const AUTH = `${V1}/auth`;
const ORGS = `${V1}/organizations`;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

describe.each(serviceKinds())("auth (%s)", (kind) => {
  let s: TestService;
  let root: string;

  const post = (path: string, body?: unknown, init: { token?: string; headers?: Record<string, string> } = {}) => s.json("POST", path, { body, ...init });
  const me = (token: string, prefix = V1) => s.json("GET", `${prefix}/auth/me`, { token });
  const login = (body: Record<string, unknown>, prefix = V1) => post(`${prefix}/auth/login`, body);
  const register = (body: Record<string, unknown>, prefix = V1) => post(`${prefix}/auth/register`, body);
  const newOrg = async (extra: Record<string, unknown> = {}) => {
    const tag = uniq();
    const res = await s.json("POST", ORGS, { token: root, body: { name: `Auth Org ${tag}`, slug: `auth-${tag}`, ...extra } });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body as { id: string; name: string; slug: string; domain: string | null; registration_policy: string };
  };
  /** A member of an open organization, registered through the API. */
  const newMember = async (org?: { id: string }, password = `Pw-${uniq()}-x9!`) => {
    const o = org ?? (await newOrg());
    const email = `${uniq("u")}@member.test`;
    const res = await register({ email, password, first_name: "Mem", last_name: "Ber", organization_id: o.id });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return { org: o, email, password, id: res.body.user.id as string, access: res.body.access_token as string, refresh: res.body.refresh_token as string };
  };
  const organizationByName = async (name: string) => {
    const res = await s.json("GET", `${ORGS}?search=${encodeURIComponent(name)}&size=100`, { token: root });
    expect(res.status).toBe(200);
    return (res.body.organizations as Array<{ id: string; name: string }>).find((o) => o.name.toLowerCase() === name.toLowerCase()) ?? null;
  };
  /** The user object never carries a password or its hash, under any key. */
  const expectNoSecretFields = (value: unknown) => {
    const text = JSON.stringify(value);
    expect(text).not.toContain("$argon2");
    expect(text.toLowerCase()).not.toContain("password");
    expect(text.toLowerCase()).not.toContain("hash");
  };

  beforeAll(async () => {
    s = await startService(kind);
    root = await s.superAdminToken();
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  describe.each(["/api/v1", "/api"])("seed examples under %s", (prefix) => {
    const A = `${prefix}/auth`;
    const tag = uniq(prefix === "/api" ? "a" : "v");

    test("seed 000: given the organization innovatecorp.com, when a user registers into it, logs in naming it and logs out, then 201, 200 and the token stops working", async () => {
      let org = await organizationByName("Innovate Corp");
      if (!org) {
        const created = await s.json("POST", ORGS, { token: root, body: { name: "Innovate Corp", domain: "innovatecorp.com" } });
        expect(created.status).toBe(201);
        expect(created.body.registration_policy).toBe("domain");
        org = created.body;
      }
      const newUser = `new.user.${tag}@innovatecorp.com`;
      const reg = await post(`${A}/register`, {
        email: newUser,
        password: "VeryStrongPassword123!",
        first_name: "New",
        last_name: "User",
        organization: "innovatecorp.com",
      });
      expect(reg.status).toBe(201);
      expect(reg.body.user).toMatchObject({ email: newUser, first_name: "New", last_name: "User", full_name: "New User", organization_id: org!.id, role: "user" });
      expectNoSecretFields(reg.body.user);

      // The seed's login example: admin@innovatecorp.com with StrongPassword123!.
      const adminEmail = `admin.${tag}@innovatecorp.com`;
      expect((await post(`${A}/register`, { email: adminEmail, password: "StrongPassword123!", first_name: "Org", last_name: "Admin", organization: "innovatecorp.com" })).status).toBe(201);
      const res = await post(`${A}/login`, { email: adminEmail, password: "StrongPassword123!", organization: "innovatecorp.com" });
      expect(res.status).toBe(200);
      expect(res.body.access_token).toMatch(JWT);
      expect(res.body.user.id).toMatch(UUID_V7);
      expect(res.body.user.organization_id).toBe(org!.id);
      expect((await me(res.body.access_token, prefix)).status).toBe(200);

      const out = await s.json("POST", `${A}/logout`, { token: res.body.access_token });
      expect(out.status).toBe(200);
      await expectProblem(await s.request("GET", `${A}/me`, { token: res.body.access_token }), 401);
      // The registration's own session is a different one: untouched.
      expect((await me(reg.body.access_token, prefix)).status).toBe(200);
    });

    test("seed 001: given the seed's register, login and refresh examples, when sent, then 201 with the user, 200 with tokens, and a Bearer refresh answers a new access token", async () => {
      const existed = (await organizationByName("new-org-domain")) !== null;
      const newUser = `new.user.${tag}@example.com`;
      const reg = await post(`${A}/register`, { email: newUser, password: "StrongPassword123!", first_name: "Jane", last_name: "Doe", organization: "new-org-domain" });
      expect(reg.status).toBe(201);
      expect(structuredClone(reg.body.user)).toMatchObject({ id: expect.stringMatching(UUID_V7), email: newUser, full_name: "Jane Doe" });
      // The first registration names a missing organization: it is created, with the registrant as admin.
      expect(reg.body.organization_created).toBe(!existed);
      expect(reg.body.user.role).toBe(existed ? "user" : "admin");
      const org = await organizationByName("new-org-domain");
      expect(org?.id).toBe(reg.body.user.organization_id);

      // The seed's login example: user@example.com / yourpassword in my-org-domain.
      const user = `user.${tag}@example.com`;
      expect((await post(`${A}/register`, { email: user, password: "yourpassword", organization: "my-org-domain" })).status).toBe(201);
      const res = await post(`${A}/login`, { email: user, password: "yourpassword", organization: "my-org-domain" });
      expect(res.status).toBe(200);
      expect(structuredClone(res.body)).toMatchObject({ access_token: expect.stringMatching(JWT), refresh_token: expect.any(String), user: { email: user, is_active: true } });
      expect(Array.isArray(res.body.user.roles)).toBe(true);
      expect(Array.isArray(res.body.user.permissions)).toBe(true);

      const refreshed = await post(`${A}/refresh`, undefined, { headers: { authorization: `Bearer ${res.body.refresh_token}` } });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.access_token).toMatch(JWT);
      expect(refreshed.body.access_token).not.toBe(res.body.access_token);
      expect((await me(refreshed.body.access_token, prefix)).body.email).toBe(user);
    });

    test("seed 002: given an organization, when register (organization_id), login (organization_slug), refresh (body), logout (body) and change-password are sent as written, then each answers as documented", async () => {
      const org = (await s.json("POST", `${prefix}/organizations`, { token: root, body: { name: `Test Organization ${tag}`, slug: `test-org-${tag}`, description: "A test organization", max_users: 100 } })).body;
      expect(org.id).toMatch(UUID_V7);
      const email = `user.${tag}@example.com`;
      const reg = await post(`${A}/register`, { email, username: "testuser", password: "SecurePassword123!", first_name: "Test", last_name: "User", organization_id: org.id });
      expect(reg.status).toBe(201);
      // The seed reads the user at the top level.
      expect(structuredClone(reg.body)).toMatchObject({ id: expect.stringMatching(UUID_V7), email, username: "testuser", first_name: "Test", last_name: "User", is_active: true, is_verified: false, organization_id: org.id });
      expect(reg.body.created_at).toMatch(ISO_UTC);
      expect(reg.body.updated_at).toMatch(ISO_UTC);

      const res = await post(`${A}/login`, { email, password: "SecurePassword123!", organization_slug: `test-org-${tag}` });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: "bearer", expires_in: s.deps.config.accessTokenTtlSeconds });
      expect(res.body.user).toMatchObject({ id: reg.body.id, email, username: "testuser", first_name: "Test", last_name: "User", is_active: true, organization_id: org.id });

      const refreshed = await post(`${A}/refresh`, { refresh_token: res.body.refresh_token });
      expect(refreshed.status).toBe(200);
      expect(structuredClone(refreshed.body)).toMatchObject({ access_token: expect.stringMatching(JWT), token_type: "bearer", expires_in: s.deps.config.accessTokenTtlSeconds });

      const out = await post(`${A}/logout`, { refresh_token: refreshed.body.refresh_token }, { token: refreshed.body.access_token });
      expect(out.status).toBe(200);
      await expectProblem(await s.request("GET", `${A}/me`, { token: refreshed.body.access_token }), 401);
      await expectProblem(await s.request("POST", `${A}/refresh`, { body: { refresh_token: refreshed.body.refresh_token } }), 401);

      // change-password as written needs CurrentPassword123! to be the current one.
      const again = await post(`${A}/login`, { email, password: "SecurePassword123!", organization_slug: `test-org-${tag}` });
      expect(again.status).toBe(200);
      const first = await post(`${A}/change-password`, { current_password: "SecurePassword123!", new_password: "CurrentPassword123!" }, { token: again.body.access_token });
      expect(first.status).toBe(200);
      const seed = await post(`${A}/change-password`, { current_password: "CurrentPassword123!", new_password: "NewPassword123!" }, { token: again.body.access_token });
      expect(seed.status).toBe(200);
      expect((await post(`${A}/login`, { email, password: "NewPassword123!", organization_slug: `test-org-${tag}` })).status).toBe(200);
      expect((await post(`${A}/login`, { email, password: "CurrentPassword123!", organization_slug: `test-org-${tag}` })).status).toBe(401);
    });

    test("seed 004: given REGISTER twice into TechMam and LOGIN, when sent, then the first creates it as admin, the second joins as user, and login returns a working token", async () => {
      const existed = (await organizationByName("TechMam")) !== null;
      const abhay = `Abhay.${tag}@gmail.com`;
      const first = await post(`${A}/register`, { email: abhay, password: "securepasswords123", organization: "TechMam" });
      expect(first.status).toBe(201);
      expect(structuredClone(first.body)).toMatchObject({ id: expect.stringMatching(UUID_V7), email: abhay, role: existed ? "user" : "admin" });
      const shivam = `shivam.${tag}@gmail.com`;
      const second = await post(`${A}/register`, { email: shivam, password: "securepasswords123", organization: "TechMam" });
      expect(second.status).toBe(201);
      expect(structuredClone(second.body)).toMatchObject({ id: expect.stringMatching(UUID_V7), email: shivam, role: "user", organization_id: first.body.organization_id });

      const res = await post(`${A}/login`, { email: shivam, password: "securepasswords123", organization: "TechMam" });
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: second.body.id, email: shivam, role: "user", organization_id: first.body.organization_id });
      expect(decodeJwt(res.body.access_token).sub).toBe(second.body.id);
      expect((await me(res.body.access_token, prefix)).body.id).toBe(second.body.id);
      // The e-mail is matched case-insensitively at login.
      expect((await post(`${A}/login`, { email: abhay.toLowerCase(), password: "securepasswords123", organization: "TechMam" })).body.user?.id).toBe(first.body.id);
    });
  });

  describe("login", () => {
    let org: Awaited<ReturnType<typeof newOrg>>;
    let member: Awaited<ReturnType<typeof newMember>>;

    beforeAll(async () => {
      const tag = uniq();
      org = await newOrg({ name: `Login Corp ${tag}`, slug: `login-${tag}`, domain: `${tag}.login.test`, registration_policy: "open" });
      member = await newMember(org);
    }, HOOK_TIMEOUT_MS);

    test("given an organization, when logging in naming it by slug, domain, name (any case) or id, then 200 in that organization", async () => {
      for (const organization of [org.slug, org.domain!, org.domain!.toUpperCase(), org.name, org.name.toUpperCase(), org.name.toLowerCase(), org.id]) {
        const res = await login({ email: member.email, password: member.password, organization });
        expect({ organization, status: res.status }).toEqual({ organization, status: 200 });
        expect(res.body.user.organization_id).toBe(org.id);
      }
      for (const alias of ["organization_slug", "organization_id"] as const) {
        const res = await login({ email: member.email, password: member.password, [alias]: alias === "organization_id" ? org.id : org.slug });
        expect(res.status).toBe(200);
      }
    });

    test("given another organization or an unknown one, when logging in naming it, then 401", async () => {
      const other = await newOrg();
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: member.email, password: member.password, organization: other.slug } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: member.email, password: member.password, organization: `nope-${uniq()}` } }), 401);
    });

    test("given an e-mail with exactly one account, when logging in without an organization, then 200", async () => {
      const res = await login({ email: member.email.toUpperCase(), password: member.password });
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(member.id);
    });

    test("given the super admin, when logging in with no organization, then 200 as super_admin", async () => {
      const res = await login(SUPER_ADMIN);
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ email: SUPER_ADMIN.email, role: "super_admin" });
      expect(res.body.user.roles).toContain("super_admin");
      expect(res.body.user.permissions).toContain("admin.system");
    });

    test("given a successful login, when reading the response, then it has tokens, token_type bearer, expires_in and the user with roles and permissions and no hash", async () => {
      const res = await login({ email: member.email, password: member.password, organization: org.slug });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type") ?? "").toStartWith("application/json");
      expect(structuredClone(res.body)).toMatchObject({
        access_token: expect.stringMatching(JWT),
        refresh_token: expect.any(String),
        token_type: "bearer",
        expires_in: s.deps.config.accessTokenTtlSeconds,
      });
      expect(res.body.refresh_token.length).toBeGreaterThanOrEqual(43);
      expect(res.body.refresh_token).not.toBe(res.body.access_token);
      const claims = decodeJwt(res.body.access_token);
      expect(claims).toMatchObject({ sub: member.id, org: org.id, typ: "access" });
      expect(res.body.user).toMatchObject({
        id: member.id,
        email: member.email,
        first_name: "Mem",
        last_name: "Ber",
        full_name: "Mem Ber",
        is_active: true,
        organization_id: org.id,
        role: "user",
        roles: ["user"],
      });
      expect(res.body.user.permissions.length).toBeGreaterThan(0);
      for (const p of res.body.user.permissions) expect(p).toMatch(/^[a-z_]+\.[a-z_.]+$/);
      expectNoSecretFields(res.body.user);
      expect(JSON.stringify(res.body)).not.toContain(member.password);
    });

    test("given a wrong password, an unknown e-mail, or a missing field, when logging in, then 401, 401 and 422", async () => {
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: member.email, password: `${member.password}x` } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: `${uniq()}@nobody.test`, password: member.password } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: member.email } }), 422);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: member.email, password: member.password, remember_me: true } }), 422);
    });
  });

  describe("register policies", () => {
    test("given a domain-policy organization, when an e-mail of another domain registers, then 403; of its domain, then 201 as user", async () => {
      const tag = uniq();
      const org = await newOrg({ domain: `${tag}.corp.test` });
      expect(org.registration_policy).toBe("domain");
      await expectProblem(await s.request("POST", `${AUTH}/register`, { body: { email: `x@${tag}.other.test`, password: "Valid-Password-1!", organization: org.slug } }), 403);
      // A subdomain is another domain.
      await expectProblem(await s.request("POST", `${AUTH}/register`, { body: { email: `x@sub.${tag}.corp.test`, password: "Valid-Password-1!", organization: org.slug } }), 403);
      const ok = await register({ email: `x@${tag}.CORP.test`, password: "Valid-Password-1!", organization: org.slug });
      expect(ok.status).toBe(201);
      expect(ok.body.user).toMatchObject({ organization_id: org.id, role: "user", roles: ["user"] });
      expect(ok.body.organization_created).toBe(false);
    });

    test("given an open organization, when any e-mail registers, then 201 as user", async () => {
      const org = await newOrg();
      expect(org.registration_policy).toBe("open");
      const res = await register({ email: `${uniq()}@anywhere.test`, password: "Valid-Password-1!", organization: org.slug });
      expect(res.status).toBe(201);
      expect(res.body.user.role).toBe("user");
    });

    test("given a closed organization, when anyone registers, then 403 and no user is created", async () => {
      const tag = uniq();
      const org = await newOrg({ domain: `${tag}.closed.test`, registration_policy: "closed" });
      const email = `x@${tag}.closed.test`;
      await expectProblem(await s.request("POST", `${AUTH}/register`, { body: { email, password: "Valid-Password-1!", organization: org.id } }), 403);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email, password: "Valid-Password-1!", organization: org.id } }), 401);
    });

    test("given the system organization, when anyone registers into it, then 403", async () => {
      await expectProblem(await s.request("POST", `${AUTH}/register`, { body: { email: `${uniq()}@x.test`, password: "Valid-Password-1!", organization: "system" } }), 403);
    });

    test("given no such organization, when registering naming it, then it is created with the registrant as admin", async () => {
      const name = `Fresh Co ${uniq()}`;
      const res = await register({ email: `${uniq()}@fresh.test`, password: "Valid-Password-1!", first_name: "Fay", organization: name });
      expect(res.status).toBe(201);
      expect(res.body.organization_created).toBe(true);
      expect(res.body.user).toMatchObject({ role: "admin", roles: ["admin"] });
      expect(res.body.user.permissions).toContain("user.create");
      const org = await organizationByName(name);
      expect(org?.id).toBe(res.body.user.organization_id);
      expect((await me(res.body.access_token)).body.role).toBe("admin");
    });

    test("given 20 concurrent registrations of one e-mail into one organization, when they race, then exactly one 201 and the others 409", async () => {
      const org = await newOrg();
      const email = `race.${uniq()}@race.test`;
      const results = await Promise.all(
        Array.from({ length: 20 }, () => s.request("POST", `${AUTH}/register`, { body: { email, password: "Race-Password-1!", organization_id: org.id } })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((x) => x === 201).length).toBe(1);
      expect(statuses.filter((x) => x === 409).length).toBe(19);
      for (const r of results) if (r.status === 409) await expectProblem(r, 409);
      // The one account logs in; only one exists.
      const res = await login({ email, password: "Race-Password-1!" });
      expect(res.status).toBe(200);
    });

    test("given 10 concurrent registrations naming one missing organization, when they race, then it is created once: one admin, the others join as user", async () => {
      const name = `Stampede Co ${uniq()}`;
      // A slow writer of the new organization's system roles: the others must not see it half made.
      const append = s.deps.store.append;
      s.deps.store.append = async (streamId, events, expected) => {
        if (streamId.startsWith("reservation-role_name-") || streamId.startsWith("organization-")) await Bun.sleep(100);
        return append.call(s.deps.store, streamId, events, expected);
      };
      let results: Array<{ status: number; body: any }>;
      try {
        results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => s.json("POST", `${AUTH}/register`, { body: { email: `p${i}.${uniq()}@stampede.test`, password: "Stampede-Password-1!", organization: name } })),
        );
      } finally {
        s.deps.store.append = append;
      }
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
      const orgIds = new Set(results.map((r) => r.body.user.organization_id));
      expect(orgIds.size).toBe(1);
      expect(results.filter((r) => r.body.organization_created).length).toBe(1);
      expect(results.map((r) => r.body.user.role).sort()).toEqual(["admin", ...Array(9).fill("user")]);
      for (const r of results) expect(r.body.user.roles).toEqual([r.body.user.role]);
      const org = await organizationByName(name);
      expect(org?.id).toBe([...orgIds][0]);
    });

    test("given an existing e-mail, when registering it again with another case, then 409", async () => {
      const m = await newMember();
      const { body } = await expectProblem(await s.request("POST", `${AUTH}/register`, { body: { email: m.email.toUpperCase(), password: "Another-Password-1!", organization_id: m.org.id } }), 409);
      expect(body.detail.toLowerCase()).toContain("e-mail");
    });

    test("given no organization field, when registering, then 422", async () => {
      await expectProblem(await s.request("POST", `${AUTH}/register`, { body: { email: `${uniq()}@x.test`, password: "Valid-Password-1!" } }), 422);
    });
  });

  describe("refresh", () => {
    test("given a refresh token, when refreshed, then it rotates; the old one used again is 401 and ends the whole session", async () => {
      const m = await newMember();
      const r1 = await login({ email: m.email, password: m.password });
      const r2 = await post(`${AUTH}/refresh`, { refresh_token: r1.body.refresh_token });
      expect(r2.status).toBe(200);
      expect(r2.body.refresh_token).not.toBe(r1.body.refresh_token);
      expect(r2.body.access_token).not.toBe(r1.body.access_token);
      expect((await me(r2.body.access_token)).status).toBe(200);
      expect(decodeJwt(r2.body.access_token).sid).toBe(decodeJwt(r1.body.access_token).sid);

      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: r1.body.refresh_token } }), 401);
      // Reuse ends the session: its newest access and refresh tokens die with it.
      await expectProblem(await s.request("GET", `${AUTH}/me`, { token: r2.body.access_token }), 401);
      await expectProblem(await s.request("GET", `${AUTH}/me`, { token: r1.body.access_token }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: r2.body.refresh_token } }), 401);
      const sid = decodeJwt(r1.body.access_token).sid as string;
      const types = (await s.deps.store.readStream(`session-${sid}`)).map((e) => e.type);
      expect(types).toEqual(["SessionStarted", "SessionRefreshed", "RefreshTokenReused", "SessionEnded"]);
      // Other sessions of the user are untouched.
      expect((await me(m.access)).status).toBe(200);
    });

    test("given one refresh token, when 10 refreshes race, then exactly one 200", async () => {
      const m = await newMember();
      const r = await login({ email: m.email, password: m.password });
      const results = await Promise.all(Array.from({ length: 10 }, () => s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: r.body.refresh_token } })));
      const statuses = results.map((x) => x.status);
      expect(statuses.filter((x) => x === 200).length).toBe(1);
      expect(statuses.filter((x) => x === 401).length).toBe(9);
      const sid = decodeJwt(r.body.access_token).sid as string;
      expect((await s.deps.store.readStream(`session-${sid}`)).filter((e) => e.type === "SessionRefreshed").length).toBe(1);
    });

    test("given this process's memory still names a rotated-away token as current (another process rotated it), when that token is presented, then 401 and nothing rotates", async () => {
      const m = await newMember();
      const sid = decodeJwt(m.access).sid as string;
      const known = s.deps.security.sessions.get(sid)!;
      const stale = { hash: known.refreshTokenHash, revision: known.revision };
      const rotated = await post(`${AUTH}/refresh`, { refresh_token: m.refresh });
      expect(rotated.status).toBe(200);
      // As if the rotation had happened elsewhere and the subscription had not brought it yet.
      known.refreshTokenHash = stale.hash;
      known.revision = stale.revision;

      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: m.refresh } }), 401);
      const types = (await s.deps.store.readStream(`session-${sid}`)).map((e) => e.type);
      expect(types).toEqual(["SessionStarted", "SessionRefreshed"]);
      // The current token is not in memory: it is read from the stream and still rotates.
      expect((await post(`${AUTH}/refresh`, { refresh_token: rotated.body.refresh_token })).status).toBe(200);
    });

    test("given a refresh token, when sent in the body or as Bearer, then both rotate", async () => {
      const m = await newMember();
      const body = await post(`${AUTH}/refresh`, { refresh_token: m.refresh });
      expect(body.status).toBe(200);
      const bearer = await post(`${AUTH}/refresh`, undefined, { headers: { authorization: `Bearer ${body.body.refresh_token}` } });
      expect(bearer.status).toBe(200);
      const api = await post(`/api/auth/refresh`, undefined, { headers: { authorization: `Bearer ${bearer.body.refresh_token}` } });
      expect(api.status).toBe(200);
      expect((await me(api.body.access_token)).body.id).toBe(m.id);
    });

    test("given an access token, when given to /refresh, then 401; a refresh token used as an access token is 401", async () => {
      const m = await newMember();
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: m.access } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { headers: { authorization: `Bearer ${m.access}` } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, {}), 401);
      await expectProblem(await s.request("GET", `${AUTH}/me`, { token: m.refresh }), 401);
      // Neither refusal spent the refresh token.
      expect((await post(`${AUTH}/refresh`, { refresh_token: m.refresh })).status).toBe(200);
    });

    test("given a forged refresh token for a live session, when refreshed, then 401 and the session lives on", async () => {
      const m = await newMember();
      const sid = decodeJwt(m.access).sid as string;
      const forged = `llr_${sid}_${"A".repeat(43)}`;
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: forged } }), 401);
      expect((await me(m.access)).status).toBe(200);
      expect((await post(`${AUTH}/refresh`, { refresh_token: m.refresh })).status).toBe(200);
    });
  });

  describe("logout and change-password", () => {
    test("given a session, when it logs out, then its access token is 401 on the very next request and its refresh token is refused", async () => {
      const m = await newMember();
      const other = await login({ email: m.email, password: m.password });
      expect((await me(m.access)).status).toBe(200);
      expect((await s.json("POST", `${AUTH}/logout`, { token: m.access })).status).toBe(200);
      await expectProblem(await s.request("GET", `${AUTH}/me`, { token: m.access }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: m.refresh } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { headers: { authorization: `Bearer ${m.refresh}` } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/logout`, { token: m.access }), 401);
      // Only that session ended.
      expect((await me(other.body.access_token)).status).toBe(200);
    });

    test("given a wrong current password or a common new one, when changing the password, then 422 and nothing changes", async () => {
      const m = await newMember();
      const wrong = await expectProblem(await s.request("POST", `${AUTH}/change-password`, { token: m.access, body: { current_password: `${m.password}x`, new_password: "Brand-New-Password-1!" } }), 422);
      expect(wrong.body.errors[0].path).toBe("/body/current_password");
      const common = await expectProblem(await s.request("POST", `${AUTH}/change-password`, { token: m.access, body: { current_password: m.password, new_password: "Password123" } }), 422);
      expect(common.body.errors[0].path).toBe("/body/new_password");
      await expectProblem(await s.request("POST", `${AUTH}/change-password`, { token: m.access, body: { current_password: m.password, new_password: "short1!" } }), 422);
      await expectProblem(await s.request("POST", `${AUTH}/change-password`, { body: { current_password: m.password, new_password: "Brand-New-Password-1!" } }), 401);
      expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      expect((await login({ email: m.email, password: "Brand-New-Password-1!" })).status).toBe(401);
    });

    test("given two sessions, when one changes the password, then the other's tokens are 401, the current session works, and only the new password logs in", async () => {
      const m = await newMember();
      const current = await login({ email: m.email, password: m.password });
      const newPassword = `New-${uniq()}-Pw1!`;
      const res = await post(`${AUTH}/change-password`, { current_password: m.password, new_password: newPassword }, { token: current.body.access_token });
      expect(res.status).toBe(200);
      await expectProblem(await s.request("GET", `${AUTH}/me`, { token: m.access }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: m.refresh } }), 401);
      expect((await me(current.body.access_token)).status).toBe(200);
      expect((await post(`${AUTH}/refresh`, { refresh_token: current.body.refresh_token })).status).toBe(200);
      expect((await login({ email: m.email, password: newPassword })).status).toBe(200);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: m.email, password: m.password } }), 401);
      const changed = (await s.deps.store.readStream(`user-${m.id}`)).filter((e) => e.type === "PasswordChanged");
      expect(changed.map((e) => e.data.reason)).toEqual(["change"]);
    });
  });

  describe("password policy", () => {
    const attempt = (password: string) => s.request("POST", `${AUTH}/register`, { body: { email: `${uniq()}@policy.test`, password, organization: policyOrg } });
    let policyOrg: string;

    beforeAll(async () => {
      policyOrg = (await newOrg()).id;
    }, HOOK_TIMEOUT_MS);

    test("given 7 or 129 characters, when registering, then 422 naming the password", async () => {
      for (const password of ["Abcde1!", "A".repeat(64) + "b".repeat(64) + "1"]) {
        const { body } = await expectProblem(await attempt(password), 422);
        expect(body.errors.map((e: { path: string }) => e.path)).toEqual(["/body/password"]);
      }
    });

    test("given a common password in any case, when registering, then 422", async () => {
      for (const password of ["password123", "Password123", "PASSWORD123"]) {
        const { body } = await expectProblem(await attempt(password), 422);
        expect(body.detail.toLowerCase()).toContain("common");
      }
    });

    test("given exactly 8 characters, when registering, then 201", async () => {
      expect((await attempt("Qz8#mK2v")).status).toBe(201);
    });

    test("given a 128-character password, when registering and logging in, then it works and is not truncated", async () => {
      const password = Array.from({ length: 128 }, (_, i) => "Aa1!xY9#"[i % 8]).join("").slice(0, 127) + "Z";
      expect(password.length).toBe(128);
      const email = `${uniq()}@policy.test`;
      expect((await register({ email, password, organization_id: policyOrg })).status).toBe(201);
      expect((await login({ email, password })).status).toBe(200);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email, password: password.slice(0, 127) } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email, password: password.slice(0, 72) } }), 401);
    });
  });
});
