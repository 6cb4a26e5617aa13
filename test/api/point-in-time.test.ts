/**
 * GET /users/{id}?as_of= (issue 5, item 5): a user's state folded from its events up to a
 * moment. Given a user created, given a role, the role renamed, the user renamed, the
 * role revoked and the user deactivated at distinct moments, asking as of each moment
 * answers the state of that moment, with the role names of that moment; as of now it is
 * exactly the present-tense read. Refusals: before the user existed, after its deletion,
 * a malformed or impossible time (422), another organization (404), no user.read (403).
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { parseInstant } from "../../src/audit/point-in-time";
import { DomainError } from "../../src/domain/errors";
import { moment, TEST_TIMEOUT_MS, uniq } from "./_helpers";
import { apiSuite, PASSWORD } from "./_tenant";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";

describe("parseInstant", () => {
  test("given ISO 8601 forms, when parsed, then each is the instant it names (UTC without an offset)", () => {
    expect(parseInstant("2025-06-21T10:00:00Z", "/q").toISOString()).toBe("2025-06-21T10:00:00.000Z");
    expect(parseInstant("2025-06-21T10:00:00.123456Z", "/q").toISOString()).toBe("2025-06-21T10:00:00.123Z");
    expect(parseInstant("2025-06-21T12:00:00+02:00", "/q").toISOString()).toBe("2025-06-21T10:00:00.000Z");
    expect(parseInstant("2025-06-21T10:00", "/q").toISOString()).toBe("2025-06-21T10:00:00.000Z");
    expect(parseInstant("2025-06-21", "/q").toISOString()).toBe("2025-06-21T00:00:00.000Z");
  });

  test("given malformed or impossible times, when parsed, then a validation error names the parameter", () => {
    for (const bad of ["", "yesterday", "2025-02-30", "2025-13-01T00:00:00Z", "2025-06-21T24:00:00Z", "1750500000", "2025-06-21T10:00:00+25:00"]) {
      let caught: unknown;
      try {
        parseInstant(bad, "/query/as_of");
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(DomainError);
      expect((caught as DomainError).kind).toBe("validation");
      expect((caught as DomainError).extra.errors?.[0].path).toBe("/query/as_of");
    }
  });
});

describe.each(serviceKinds())("users as of a moment (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  const asOf = (token: string, id: string, at: string, base = V1) => call("GET", `${base}/users/${id}?as_of=${encodeURIComponent(at)}`, { token });

  test("given a user's history at distinct moments, when asked as of each moment, then the state of that moment answers, role names as they were then", async () => {
    const org = await tenant();
    const admin = org.adminToken;
    const role = ok(await call("POST", `${V1}/roles`, { token: admin, body: { name: "analyst", permissions: ["audit.read", "user.read"] } }), 201);
    const beforeUser = await moment();

    const email = `${uniq("u")}@example.com`;
    const created = ok(await call("POST", `${V1}/users`, { token: admin, body: { email, password: PASSWORD, first_name: "Ada", last_name: "Lovelace" } }), 201);
    const id = created.id as string;
    const t1 = await moment();
    ok(await call("POST", `${V1}/users/${id}/roles`, { token: admin, body: { role_id: role.id } }));
    const t2 = await moment();
    ok(await call("PUT", `${V1}/roles/${role.id}`, { token: admin, body: { name: "auditor" } }));
    const t3 = await moment();
    ok(await call("PUT", `${V1}/users/${id}`, { token: admin, body: { first_name: "Augusta" } }));
    const t4 = await moment();
    ok(await call("DELETE", `${V1}/users/${id}/roles`, { token: admin, body: { role_id: role.id } }));
    const t5 = await moment();
    ok(await call("PUT", `${V1}/users/${id}`, { token: admin, body: { is_active: false } }));
    const t6 = await moment();

    // Before the user existed.
    const early = problem(await asOf(admin, id, beforeUser), 404);
    expect(early.detail).toBe(`User did not exist yet at ${beforeUser}`);

    const at1 = ok(await asOf(admin, id, t1));
    expect(at1).toMatchObject({ id, email, first_name: "Ada", full_name: "Ada Lovelace", is_active: true, roles: ["user"], role: "user", as_of: t1, organization_id: org.id });
    expect(at1.permissions).not.toContain("audit.read");
    expect(at1.created_at).toBe(created.created_at);
    // The seeds' `user` wrapper is there as in the present-tense read.
    expect(at1.user).toMatchObject({ id, first_name: "Ada", roles: ["user"] });

    const at2 = ok(await asOf(admin, id, t2));
    expect(at2.roles).toEqual(["analyst", "user"]);
    expect(at2.role_ids).toContain(role.id);
    expect(at2.permissions).toContain("audit.read");

    // The role was renamed at t3: as of t2 it still has its old name.
    expect(ok(await asOf(admin, id, t3)).roles).toEqual(["auditor", "user"]);
    expect(ok(await asOf(admin, id, t2)).roles).toEqual(["analyst", "user"]);

    const at3 = ok(await asOf(admin, id, t3));
    const at4 = ok(await asOf(admin, id, t4));
    expect([at3.first_name, at4.first_name]).toEqual(["Ada", "Augusta"]);
    expect(at4.full_name).toBe("Augusta Lovelace");

    const at5 = ok(await asOf(admin, id, t5));
    expect(at5.roles).toEqual(["user"]);
    expect(at5.permissions).not.toContain("audit.read");
    expect(at5.is_active).toBe(true);

    const at6 = ok(await asOf(admin, id, t6));
    expect(at6.is_active).toBe(false);

    // As of now, the fold is the present-tense read plus `as_of`.
    const now = ok(await call("GET", `${V1}/users/${id}`, { token: admin }));
    expect(now.as_of).toBeUndefined();
    const { as_of, ...folded } = ok(await asOf(admin, id, new Date().toISOString()));
    expect(typeof as_of).toBe("string");
    expect(folded).toEqual(now);

    // And under the unversioned prefix too.
    expect(ok(await asOf(admin, id, t2, "/api")).roles).toEqual(["analyst", "user"]);
  });

  test("given a deleted user, when asked as of before its deletion, then it answers as it was; as of after, 404 saying so; without as_of, 404 as today", async () => {
    const org = await tenant();
    const created = ok(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email: `${uniq("d")}@example.com`, password: PASSWORD, first_name: "Gone" } }), 201);
    const before = await moment();
    ok(await call("DELETE", `${V1}/users/${created.id}`, { token: org.adminToken }));
    const after = await moment();

    expect(ok(await asOf(org.adminToken, created.id, before))).toMatchObject({ id: created.id, first_name: "Gone", is_active: true });
    expect(problem(await asOf(org.adminToken, created.id, after), 404).detail).toBe(`User had been deleted by ${after}`);
    problem(await call("GET", `${V1}/users/${created.id}`, { token: org.adminToken }), 404);
  });

  test("given bad times, other tenants and missing permissions, when asked as of, then 422, 404 and 403 and nothing else leaks", async () => {
    const org = await tenant();
    const other = await tenant();
    const member = await addMember(org);
    const now = new Date().toISOString();

    for (const bad of ["yesterday", "2025-02-30T00:00:00Z", "2025-06-21T10:00:00+99:00", ""]) {
      const body = problem(await asOf(org.adminToken, member.id, bad), 422);
      expect(body.errors?.[0]?.path).toBe("/query/as_of");
    }

    // Another organization's user: 404 exactly like an unknown id, with or without as_of.
    const foreign = problem(await asOf(other.adminToken, member.id, now), 404);
    const unknown = problem(await asOf(other.adminToken, Bun.randomUUIDv7(), now), 404);
    expect(foreign.detail).toBe(unknown.detail);
    expect(problem(await asOf(org.adminToken, "not-a-uuid", now), 404).detail).toBe(unknown.detail);
    problem(await call("GET", `${V1}/users/${member.id}`, { token: other.adminToken }), 404);

    // A plain user lacks user.read.
    problem(await asOf(member.token, org.adminId, now), 403);

    // A super admin sees any tenant's user as of a moment, but not the platform's own users.
    expect(ok(await asOf(root, member.id, now))).toMatchObject({ id: member.id, organization_id: org.id });
    const rootId = ok(await call("GET", `${V1}/users/me`, { token: root })).id;
    problem(await asOf(root, rootId, now), 404);
  });

  test("given a query parameter the route does not know, when GET /users/{id} is called without as_of, then it answers as before", async () => {
    const org = await tenant();
    const plain = ok(await call("GET", `${V1}/users/${org.adminId}`, { token: org.adminToken }));
    expect(ok(await call("GET", `${V1}/users/${org.adminId}?include=roles`, { token: org.adminToken }))).toEqual(plain);
  });
});
