/**
 * Database access grants (issue 6, item 3): the seeds' grant by data_source_id (000) and
 * by database name with expires_at, list and revoke (001); replacement of a second grant;
 * validation; the event shapes the access review reads; grants ended by a data source's
 * deletion; another organization's users and data sources answering 404; and the access
 * check the query endpoints call (resolveDataAccess): least privilege for admins.
 */
import { describe, expect, test } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { ISO_UTC, TEST_TIMEOUT_MS, UUID, expectProblem, uniq } from "./_helpers";
import { addMember, makeOrg, registerDemo, twoOrgSuite, type Caller, type OrgFixture } from "./_data-access-helpers";
import { resolveDataAccess } from "../../src/handlers/database-access";
import { DomainError } from "../../src/domain/errors";
import type { Acting } from "../../src/handlers/tenancy";

const inOneMonth = () => new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

async function domainErrorOf(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected a domain error");
}

describe.each(serviceKinds())("database access [%s]", (kind) => {
  let s: TestService;
  let c: Caller;
  let A: OrgFixture;
  let B: OrgFixture;
  twoOrgSuite(kind, (ready) => ({ s, c, A, B } = ready));

  const grantEvents = async (userId: string) => (await s.deps.store.readStream(`database_access-${userId}`)).map((e) => ({ type: e.type, data: e.data }));

  for (const prefix of ["/api", "/api/v1"]) {
    test(`seed 000: grant DB access by data_source_id under ${prefix}`, async () => {
      const member = await addMember(c, A);
      const ds = await registerDemo(c, A);
      // When the seed's body is posted
      const res = await c.call("POST", `${prefix}/users/${member.id}/database-access`, A.adminToken, { data_source_id: ds.id });
      // Then the grant exists and the event has the agreed shape
      expect(res.status).toBe(201);
      expect(res.body.message).toBe("Database access granted successfully");
      expect(res.body.access).toMatchObject({ database: ds.name, data_source_id: ds.id, user_id: member.id, granted_by: A.adminId, expires_at: null, tables: null, status: "active" });
      expect(res.body.access.id).toMatch(UUID);
      expect(res.body.access.granted_at).toMatch(ISO_UTC);
      expect(await grantEvents(member.id)).toEqual([
        {
          type: "AccessGranted",
          data: { access_id: res.body.access.id, user_id: member.id, organization_id: A.id, data_source_id: ds.id, data_source_name: ds.name, tables: null, expires_at: null, granted_by: A.adminId },
        },
      ]);
    });

    test(`seed 001: grant by database name with expires_at, list, revoke under ${prefix}`, async () => {
      // Given a data source named as in the seed (in a fresh organization: names are per organization)
      const org = await makeOrg(c);
      const member = await addMember(c, org);
      const ds = await c.ok("POST", "/api/v1/datasources", org.adminToken, { name: "customer_db", type: "embedded-demo" }, 201);
      // The seed's date (2025-07-21) lies in the past now; expires_at must be in the future, so a date a month ahead.
      const expiresAt = inOneMonth();
      const expiresAtShown = new Date(expiresAt).toISOString();
      const granted = await c.call("POST", `${prefix}/users/${member.id}/database-access`, org.adminToken, { database: "customer_db", expires_at: expiresAt });
      expect(granted.status).toBe(201);
      expect(granted.body).toMatchObject({ message: "Database access granted successfully", access: { database: "customer_db", granted_by: org.adminId, expires_at: expiresAtShown, data_source_id: ds.id } });
      expect(granted.body.access.granted_at).toMatch(ISO_UTC);
      const accessId = granted.body.access.id;

      // List
      const list = await c.ok("GET", `${prefix}/users/${member.id}/database-access`, org.adminToken, undefined, 200);
      expect(list).toMatchObject({ count: 1, total: 1, page: 1, pages: 1 });
      expect(list.access_list).toHaveLength(1);
      expect(list.access_list[0]).toMatchObject({ id: accessId, database: "customer_db", granted_by: org.adminId, expires_at: expiresAtShown });
      expect(list.access_list[0].granted_at).toMatch(ISO_UTC);

      // Revoke
      const revoked = await c.ok("DELETE", `${prefix}/users/${member.id}/database-access/${accessId}`, org.adminToken, undefined, 200);
      expect(revoked).toEqual({ message: "Database access revoked successfully" });
      expect((await c.ok("GET", `${prefix}/users/${member.id}/database-access`, org.adminToken, undefined, 200)).access_list).toEqual([]);
      const history = await c.ok("GET", `${prefix}/users/${member.id}/database-access?status=revoked`, org.adminToken, undefined, 200);
      expect(history.access_list.map((a: any) => [a.id, a.status])).toEqual([[accessId, "revoked"]]);
      expect((await grantEvents(member.id)).at(-1)).toEqual({ type: "AccessRevoked", data: { access_id: accessId, user_id: member.id, data_source_id: ds.id, revoked_by: org.adminId } });
      // Revoking again: nothing to revoke
      await expectProblem(await s.request("DELETE", `${prefix}/users/${member.id}/database-access/${accessId}`, { token: org.adminToken }), 404);
    });
  }

  test("table-level grants: names are normalized; a second grant for the same data source replaces the first", async () => {
    const member = await addMember(c, A);
    const ds = await registerDemo(c, A);
    const first = await c.ok("POST", `/api/v1/users/${member.id}/database-access`, A.adminToken, { data_source_id: ds.id, tables: ["Orders", "public.customers", "orders"] }, 201);
    expect(first.access.tables).toEqual(["customers", "orders"]);
    const second = await c.ok("POST", `/api/v1/users/${member.id}/database-access`, A.adminToken, { data_source_id: ds.id, tables: ["products"], expires_at: inOneMonth() }, 201);
    expect(second.access.id).not.toBe(first.access.id);
    // One live grant: the second
    const list = await c.ok("GET", `/api/v1/users/${member.id}/database-access`, A.adminToken, undefined, 200);
    expect(list.access_list.map((a: any) => [a.id, a.tables])).toEqual([[second.access.id, ["products"]]]);
    // Recorded as: granted, then (in one append) the first revoked and the second granted
    expect((await grantEvents(member.id)).map((e) => e.type)).toEqual(["AccessGranted", "AccessRevoked", "AccessGranted"]);
    const all = await c.ok("GET", `/api/v1/users/${member.id}/database-access?status=all`, A.adminToken, undefined, 200);
    expect(all.total).toBe(2);
  });

  test("validation: a past expiry, empty tables, no data source, both names disagreeing, unknown fields → 422; unknown name → 404; nothing recorded", async () => {
    const member = await addMember(c, A);
    const ds = await registerDemo(c, A);
    const other = await registerDemo(c, A);
    for (const body of [
      { data_source_id: ds.id, expires_at: new Date(Date.now() - 1000).toISOString() },
      { data_source_id: ds.id, expires_at: "next tuesday" },
      { data_source_id: ds.id, tables: [] },
      { data_source_id: ds.id, tables: ["orders; drop table x"] },
      {},
      { data_source_id: ds.id, database: other.name },
      { data_source_id: ds.id, role: "admin" },
    ]) {
      await expectProblem(await s.request("POST", `/api/v1/users/${member.id}/database-access`, { token: A.adminToken, body }), 422);
    }
    await expectProblem(await s.request("POST", `/api/v1/users/${member.id}/database-access`, { token: A.adminToken, body: { database: `nope ${uniq()}` } }), 404);
    expect(await grantEvents(member.id)).toEqual([]);
  });

  test("another organization: its users and its data sources answer 404 on every grant endpoint", async () => {
    const memberA = await addMember(c, A);
    const memberB = await addMember(c, B);
    const dsA = await registerDemo(c, A);
    const dsB = await registerDemo(c, B);
    const grantB = await c.ok("POST", `/api/v1/users/${memberB.id}/database-access`, B.adminToken, { data_source_id: dsB.id }, 201);
    // A's admin on B's user
    await expectProblem(await s.request("GET", `/api/v1/users/${memberB.id}/database-access`, { token: A.adminToken }), 404);
    await expectProblem(await s.request("POST", `/api/v1/users/${memberB.id}/database-access`, { token: A.adminToken, body: { data_source_id: dsA.id } }), 404);
    await expectProblem(await s.request("DELETE", `/api/v1/users/${memberB.id}/database-access/${grantB.access.id}`, { token: A.adminToken }), 404);
    // A's user, B's data source (by id and by name)
    await expectProblem(await s.request("POST", `/api/v1/users/${memberA.id}/database-access`, { token: A.adminToken, body: { data_source_id: dsB.id } }), 404);
    await expectProblem(await s.request("POST", `/api/v1/users/${memberA.id}/database-access`, { token: A.adminToken, body: { database: dsB.name } }), 404);
    // B's grant id under A's user
    await expectProblem(await s.request("DELETE", `/api/v1/users/${memberA.id}/database-access/${grantB.access.id}`, { token: A.adminToken }), 404);
    expect((await grantEvents(memberB.id)).length).toBe(1);
    expect(await grantEvents(memberA.id)).toEqual([]);
  });

  test("permissions: a plain user can neither list, grant nor revoke", async () => {
    const member = await addMember(c, A);
    const ds = await registerDemo(c, A);
    await expectProblem(await s.request("GET", `/api/v1/users/${member.id}/database-access`, { token: member.token }), 403);
    await expectProblem(await s.request("POST", `/api/v1/users/${member.id}/database-access`, { token: member.token, body: { data_source_id: ds.id } }), 403);
    expect(await grantEvents(member.id)).toEqual([]);
  });

  test("deleting a data source ends its grants with AccessRevoked events", async () => {
    const m1 = await addMember(c, A);
    const m2 = await addMember(c, A);
    const ds = await registerDemo(c, A);
    const keep = await registerDemo(c, A);
    const g1 = await c.ok("POST", `/api/v1/users/${m1.id}/database-access`, A.adminToken, { data_source_id: ds.id }, 201);
    const g2 = await c.ok("POST", `/api/v1/users/${m2.id}/database-access`, A.adminToken, { data_source_id: ds.id, tables: ["orders"] }, 201);
    const kept = await c.ok("POST", `/api/v1/users/${m1.id}/database-access`, A.adminToken, { data_source_id: keep.id }, 201);
    await c.ok("DELETE", `/api/v1/datasources/${ds.id}`, A.adminToken, undefined, 200);
    expect((await grantEvents(m1.id)).at(-1)).toEqual({ type: "AccessRevoked", data: { access_id: g1.access.id, user_id: m1.id, data_source_id: ds.id, revoked_by: A.adminId } });
    expect((await grantEvents(m2.id)).at(-1)).toEqual({ type: "AccessRevoked", data: { access_id: g2.access.id, user_id: m2.id, data_source_id: ds.id, revoked_by: A.adminId } });
    expect((await c.ok("GET", `/api/v1/users/${m1.id}/database-access`, A.adminToken, undefined, 200)).access_list.map((a: any) => a.id)).toEqual([kept.access.id]);
    expect((await c.ok("GET", `/api/v1/users/${m2.id}/database-access`, A.adminToken, undefined, 200)).access_list).toEqual([]);
  });

  test(
    "resolveDataAccess: a grant gives its tables; no grant is 403 even for an admin; another organization's source is 404",
    async () => {
      const member = await addMember(c, A);
      const ds = await registerDemo(c, A);
      const dsB = await registerDemo(c, B);
      const acting = (userId: string, org: string, permissions: string[] = []): Acting => ({ type: "user", userId, organizationId: org, isSuperAdmin: false, permissions: new Set(permissions) });

      // No grant: forbidden with a clear detail
      const noGrant = await domainErrorOf(resolveDataAccess(s.deps, acting(member.id, A.id), ds.id));
      expect(noGrant.kind).toBe("forbidden");
      expect(noGrant.message).toContain("no access grant");
      // An admin (who may grant and administer) still needs a grant to read data
      const admin = await domainErrorOf(resolveDataAccess(s.deps, acting(A.adminId, A.id, ["datasource.update", "database_access.grant"]), ds.id));
      expect(admin.kind).toBe("forbidden");
      // Another organization's data source, or a made-up id: not found
      expect((await domainErrorOf(resolveDataAccess(s.deps, acting(member.id, A.id), dsB.id))).kind).toBe("not_found");
      expect((await domainErrorOf(resolveDataAccess(s.deps, acting(member.id, A.id), Bun.randomUUIDv7()))).kind).toBe("not_found");

      // With a table-level grant
      await c.ok("POST", `/api/v1/users/${member.id}/database-access`, A.adminToken, { data_source_id: ds.id, tables: ["orders", "customers"] }, 201);
      const access = await resolveDataAccess(s.deps, acting(member.id, A.id), ds.id);
      expect(access.dataSource).toMatchObject({ id: ds.id, organizationId: A.id, name: ds.name, type: "embedded-demo" });
      expect([...(access.allowedTables ?? [])].sort()).toEqual(["customers", "orders"]);
      expect(typeof access.connection.introspect).toBe("function");
      expect(JSON.stringify(access.dataSource)).not.toContain("password");
      // After revocation: forbidden again
      const list = await c.ok("GET", `/api/v1/users/${member.id}/database-access`, A.adminToken, undefined, 200);
      await c.ok("DELETE", `/api/v1/users/${member.id}/database-access/${list.access_list[0].id}`, A.adminToken, undefined, 200);
      expect((await domainErrorOf(resolveDataAccess(s.deps, acting(member.id, A.id), ds.id))).kind).toBe("forbidden");
    },
    TEST_TIMEOUT_MS,
  );
});
