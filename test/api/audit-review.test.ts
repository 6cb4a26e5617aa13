/**
 * GET /audit/access-review (issue 5, item 5): who held a role, or access to a data
 * source, at a moment; since when, granted by whom, by which event. Roles go through the
 * API; data-source grants are appended to the event store directly in the shapes the
 * database-access feature records (AccessGranted / AccessRevoked / AccessExpired on
 * `database_access-<user_id>`), since that feature's endpoints may not exist yet.
 * Refusals: no audit.read (403), another organization's role or data source (404),
 * neither or both of role_id and data_source_id, or a bad `at` (422).
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { metadataFor, systemContext } from "../../src/eventstore/context";
import { settle } from "../../src/deps";
import type { RecordedEvent } from "../../src/eventstore/port";
import { AccessReviewFold } from "../../src/audit/access-review";
import { moment, TEST_TIMEOUT_MS, uniq } from "./_helpers";
import { apiSuite, PASSWORD, type Tenant } from "./_tenant";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";

const iso = (ms: number) => new Date(ms).toISOString();

describe("AccessReviewFold", () => {
  let position = 0n;
  // Asserted rather than annotated: the fold reads only these fields of a recorded event.
  const event = (type: string, data: Record<string, unknown>, at: string, actor = "admin-1") =>
    ({
      id: `e${++position}`,
      type,
      data,
      metadata: { ...metadataFor(systemContext(new Date(at))), actor: { type: "user", id: actor } },
      streamId: "x",
      revision: 0n,
      position,
      recordedAt: new Date(at),
    }) as RecordedEvent;
  const registered = (userId: string, roleIds: string[], at: string) =>
    event("UserRegistered", { user_id: userId, organization_id: "o1", email: `${userId}@x.test`, is_active: true, role_ids: roleIds }, at);

  test("given a role deleted without its holders being revoked first, when folded past the deletion, then nobody holds it and a later assignment does not revive it", () => {
    const fold = new AccessReviewFold({ kind: "role", roleId: "r1" });
    fold.apply(registered("u1", ["r1"], "2025-01-01T00:00:00.000Z"));
    fold.apply(registered("u2", [], "2025-01-01T00:00:01.000Z"));
    fold.apply(event("RoleAssigned", { user_id: "u2", organization_id: "o1", role_id: "r1", role_name: "x" }, "2025-01-01T00:00:02.000Z"));
    expect(fold.result(Date.parse("2025-01-02T00:00:00.000Z")).holdings.map((h) => [h.userId, h.grantEventType, h.heldSince])).toEqual([
      ["u1", "UserRegistered", "2025-01-01T00:00:00.000Z"],
      ["u2", "RoleAssigned", "2025-01-01T00:00:02.000Z"],
    ]);
    fold.apply(event("RoleDeleted", { role_id: "r1", organization_id: "o1", name: "x" }, "2025-01-01T00:00:03.000Z"));
    fold.apply(event("RoleAssigned", { user_id: "u1", organization_id: "o1", role_id: "r1", role_name: "x" }, "2025-01-01T00:00:04.000Z"));
    expect(fold.result(Date.parse("2025-01-02T00:00:00.000Z")).holdings).toEqual([]);
  });

  test("given a second assignment of a role already held, when folded, then the holding keeps its first grant", () => {
    const fold = new AccessReviewFold({ kind: "role", roleId: "r1" });
    fold.apply(registered("u1", [], "2025-01-01T00:00:00.000Z"));
    fold.apply(event("RoleAssigned", { user_id: "u1", role_id: "r1" }, "2025-01-01T00:00:01.000Z", "first"));
    fold.apply(event("RoleAssigned", { user_id: "u1", role_id: "r1" }, "2025-01-01T00:00:02.000Z", "second"));
    const [h] = fold.result(Date.parse("2025-01-02T00:00:00.000Z")).holdings;
    expect([h.grantedBy, h.heldSince]).toEqual(["first", "2025-01-01T00:00:01.000Z"]);
  });

  test("given a data source deleted, when folded past it, then its grants end", () => {
    const fold = new AccessReviewFold({ kind: "data_source", dataSourceId: "d1" });
    fold.apply(registered("u1", [], "2025-01-01T00:00:00.000Z"));
    fold.apply(event("AccessGranted", { access_id: "a1", user_id: "u1", organization_id: "o1", data_source_id: "d1", data_source_name: "sales", tables: null, expires_at: null, granted_by: "admin-1" }, "2025-01-01T00:00:01.000Z"));
    expect(fold.result(Date.parse("2025-01-01T00:00:02.000Z")).holdings).toHaveLength(1);
    fold.apply(event("DataSourceDeleted", { data_source_id: "d1", organization_id: "o1" }, "2025-01-01T00:00:03.000Z"));
    expect(fold.result(Date.parse("2025-01-01T00:00:04.000Z"))).toMatchObject({ holdings: [], organizationId: "o1", targetName: "sales" });
  });
});

describe.each(serviceKinds())("access review (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  const newUser = async (org: Tenant, extra: Record<string, unknown> = {}) => {
    const email = `${uniq("u")}@example.com`;
    const created = ok(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email, password: PASSWORD, ...extra } }), 201);
    return { id: created.id as string, email };
  };
  const review = (token: string, query: string, base = V1) => call("GET", `${base}/audit/access-review?${query}`, { token });
  const holders = async (token: string, query: string) => (ok(await review(token, query)).access_list as any[]).map((e) => e.user_id);
  /** The event that granted `roleId` to a user, as stored. */
  const grantEvent = async (userId: string, type: string, match: (d: any) => boolean) =>
    (await s.deps.store.readStream(`user-${userId}`)).find((e) => e.type === type && match(e.data))!;

  /** Appends one database-access event as the data-source feature records it, stamped `at`. */
  const appendAccess = async (org: Tenant, userId: string, type: string, data: Record<string, unknown>, at = new Date()) => {
    const ctx = { ...systemContext(at), actor: { type: "user" as const, id: org.adminId }, organizationId: org.id };
    const id = Bun.randomUUIDv7();
    const r = await s.deps.store.append(`database_access-${userId}`, [{ id, type, data, metadata: metadataFor(ctx) }], "any");
    return { id, position: r.position };
  };
  const grant = (org: Tenant, userId: string, dataSourceId: string, extra: { tables?: string[] | null; expires_at?: string | null } = {}, at = new Date()) => {
    const accessId = Bun.randomUUIDv7();
    return appendAccess(
      org,
      userId,
      "AccessGranted",
      { access_id: accessId, user_id: userId, organization_id: org.id, data_source_id: dataSourceId, data_source_name: "customer_db", tables: extra.tables ?? null, expires_at: extra.expires_at ?? null, granted_by: org.adminId },
      at,
    ).then((e) => ({ ...e, accessId }));
  };

  test("given a role given and taken at distinct moments, when reviewed at each moment, then exactly its holders then are listed, since when and granted by whom", async () => {
    const org = await tenant();
    const role = ok(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "analyst", permissions: ["user.read"] } }), 201);
    const beforeAll_ = await moment();
    const a = await newUser(org, { role: "analyst" });
    const tA = await moment();
    const b = await newUser(org);
    const c = await newUser(org);
    ok(await call("POST", `${V1}/users/${b.id}/roles`, { token: org.adminToken, body: { role_id: role.id } }));
    const tB = await moment();
    ok(await call("POST", `${V1}/users/${c.id}/roles`, { token: org.adminToken, body: { role_id: role.id } }));
    const tC = await moment();
    ok(await call("DELETE", `${V1}/users/${b.id}/roles`, { token: org.adminToken, body: { role_id: role.id } }));
    const tRevokeB = await moment();
    ok(await call("DELETE", `${V1}/users/${c.id}`, { token: org.adminToken }));
    const tDeleteC = await moment();

    const q = (at: string) => `role_id=${role.id}&at=${encodeURIComponent(at)}`;
    expect(await holders(org.adminToken, q(beforeAll_))).toEqual([]);
    expect(await holders(org.adminToken, q(tA))).toEqual([a.id]);
    expect(await holders(org.adminToken, q(tB))).toEqual([a.id, b.id]);
    expect(await holders(org.adminToken, q(tC))).toEqual([a.id, b.id, c.id]);
    expect(await holders(org.adminToken, q(tRevokeB))).toEqual([a.id, c.id]);
    expect(await holders(org.adminToken, q(tDeleteC))).toEqual([a.id]);
    // Default `at`: now.
    const now = ok(await review(org.adminToken, `role_id=${role.id}`));
    expect(now.access_list.map((e: any) => e.user_id)).toEqual([a.id]);
    expect(Date.parse(now.at)).toBeGreaterThan(Date.parse(tDeleteC));

    // Each entry names the grant: who, how, when, which event.
    const atC = ok(await review(org.adminToken, q(tC)));
    expect(atC).toMatchObject({ count: 3, total: 3, page: 1, pages: 1, at: tC, role_id: role.id, role_name: "analyst" });
    const [ea, eb] = atC.access_list;
    const registered = await grantEvent(a.id, "UserRegistered", () => true);
    expect(ea).toMatchObject({
      user_id: a.id,
      email: a.email,
      role_id: role.id,
      role_name: "analyst",
      held_since: registered.metadata.occurred_at,
      granted_by: org.adminId,
      granted_by_type: "user",
      grant_event_id: registered.id,
      grant_event_type: "UserRegistered",
      grant_position: registered.position.toString(),
      user_is_active: true,
    });
    const assigned = await grantEvent(b.id, "RoleAssigned", (d) => d.role_id === role.id);
    expect(eb).toMatchObject({
      user_id: b.id,
      email: b.email,
      held_since: assigned.metadata.occurred_at,
      granted_by: org.adminId,
      granted_by_type: "user",
      grant_event_id: assigned.id,
      grant_position: assigned.position.toString(),
    });
    expect(Date.parse(eb.held_since)).toBeGreaterThan(Date.parse(tA));
    expect(Date.parse(eb.held_since)).toBeLessThanOrEqual(Date.parse(tB));

    // Paging: page 2 of size 1 is the second holder.
    const p2 = ok(await review(org.adminToken, `${q(tC)}&page=2&size=1`));
    expect(p2).toMatchObject({ count: 1, total: 3, page: 2, size: 1, pages: 3 });
    expect(p2.access_list.map((e: any) => e.user_id)).toEqual([b.id]);
    const skipped = ok(await review(org.adminToken, `${q(tC)}&skip=2&limit=5`));
    expect(skipped.access_list.map((e: any) => e.user_id)).toEqual([c.id]);

    // Under /api as well.
    expect((ok(await review(org.adminToken, q(tB), "/api")).access_list as any[]).map((e) => e.user_id)).toEqual([a.id, b.id]);
  });

  test("given a role renamed and later deleted, when reviewed, then before the deletion it lists its holder under the name of that moment, after it nobody", async () => {
    const org = await tenant();
    const role = ok(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "temp", permissions: ["user.read"] } }), 201);
    const u = await newUser(org);
    ok(await call("POST", `${V1}/users/${u.id}/roles`, { token: org.adminToken, body: { role_id: role.id } }));
    const held = await moment();
    ok(await call("PUT", `${V1}/roles/${role.id}`, { token: org.adminToken, body: { name: "temporary" } }));
    const renamed = await moment();
    ok(await call("DELETE", `${V1}/roles/${role.id}`, { token: org.adminToken }));
    const deleted = await moment();

    const atHeld = ok(await review(org.adminToken, `role_id=${role.id}&at=${encodeURIComponent(held)}`));
    expect(atHeld).toMatchObject({ role_name: "temp", total: 1 });
    expect(atHeld.access_list[0]).toMatchObject({ user_id: u.id, role_name: "temp" });
    expect(ok(await review(org.adminToken, `role_id=${role.id}&at=${encodeURIComponent(renamed)}`)).role_name).toBe("temporary");
    expect(ok(await review(org.adminToken, `role_id=${role.id}&at=${encodeURIComponent(deleted)}`))).toMatchObject({ access_list: [], total: 0, count: 0 });
  });

  test("given a deactivated holder, when reviewed, then it is still listed as holding the role, marked inactive", async () => {
    const org = await tenant();
    const role = ok(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "ops", permissions: ["user.read"] } }), 201);
    const u = await newUser(org, { role: "ops" });
    ok(await call("PUT", `${V1}/users/${u.id}`, { token: org.adminToken, body: { is_active: false } }));
    const [entry] = ok(await review(org.adminToken, `role_id=${role.id}`)).access_list;
    expect(entry).toMatchObject({ user_id: u.id, user_is_active: false });
  });

  test("given data-source grants granted, revoked, expired (recorded or not) and of a deleted user, when reviewed at moments, then exactly the live grants then are listed", async () => {
    const org = await tenant();
    const dataSourceId = Bun.randomUUIDv7();
    const [a, b, c, d, e] = [await newUser(org), await newUser(org), await newUser(org), await newUser(org), await newUser(org)];

    const gA = await grant(org, a.id, dataSourceId, { tables: ["orders", "customers"] });
    const tA = await moment();
    // B's grant runs out 40 ms after it was given; nothing records its expiry.
    const grantedB = Date.now();
    const gB = await grant(org, b.id, dataSourceId, { expires_at: iso(grantedB + 40) }, new Date(grantedB));
    const gC = await grant(org, c.id, dataSourceId);
    const gD = await grant(org, d.id, dataSourceId);
    const gE = await grant(org, e.id, dataSourceId);
    const tAll = await moment();
    await appendAccess(org, c.id, "AccessRevoked", { access_id: gC.accessId, user_id: c.id, data_source_id: dataSourceId, revoked_by: org.adminId });
    await appendAccess(org, d.id, "AccessExpired", { access_id: gD.accessId, user_id: d.id, data_source_id: dataSourceId, expired_at: new Date().toISOString() });
    ok(await call("DELETE", `${V1}/users/${e.id}`, { token: org.adminToken }));
    while (Date.now() <= grantedB + 45) await Bun.sleep(5);
    const tEnd = await moment();

    const q = (at: string) => `data_source_id=${dataSourceId}&at=${encodeURIComponent(at)}`;
    expect(await holders(org.adminToken, q(tA))).toEqual([a.id]);
    expect(await holders(org.adminToken, q(iso(grantedB + 39)))).toContain(b.id);
    // expires_at <= at: no longer held, even with no AccessExpired appended.
    expect(await holders(org.adminToken, q(iso(grantedB + 40)))).not.toContain(b.id);
    // (B's grant may or may not have run out by tAll: checked at exact instants above.)
    expect((await holders(org.adminToken, q(tAll))).filter((id) => id !== b.id)).toEqual([a.id, c.id, d.id, e.id]);
    expect(await holders(org.adminToken, q(tEnd))).toEqual([a.id]);
    expect(await holders(org.adminToken, `data_source_id=${dataSourceId}`)).toEqual([a.id]);

    const body = ok(await review(org.adminToken, q(tA)));
    expect(body).toMatchObject({ count: 1, total: 1, at: tA, data_source_id: dataSourceId, data_source_name: "customer_db" });
    expect(body.access_list[0]).toMatchObject({
      user_id: a.id,
      email: a.email,
      data_source_id: dataSourceId,
      data_source_name: "customer_db",
      access_id: gA.accessId,
      tables: ["orders", "customers"],
      expires_at: null,
      granted_by: org.adminId,
      granted_by_type: "user",
      grant_event_id: gA.id,
      grant_event_type: "AccessGranted",
      grant_position: gA.position.toString(),
    });
    expect(body.access_list[0].role_id).toBeUndefined();
    const early = ok(await review(org.adminToken, q(iso(grantedB + 39))));
    expect(early.access_list.find((x: any) => x.user_id === b.id)).toMatchObject({ access_id: gB.accessId, expires_at: iso(grantedB + 40) });
  });

  test("given another organization's role or data source, when reviewed, then 404 like an unknown id; a super admin reviews any tenant's", async () => {
    const org = await tenant();
    const other = await tenant();
    const role = ok(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "mine", permissions: ["user.read"] } }), 201);
    const u = await newUser(org, { role: "mine" });
    const dataSourceId = Bun.randomUUIDv7();
    await grant(org, u.id, dataSourceId);

    const unknownRole = problem(await review(other.adminToken, `role_id=${Bun.randomUUIDv7()}`), 404);
    expect(problem(await review(other.adminToken, `role_id=${role.id}`), 404).detail).toBe(unknownRole.detail);
    expect(problem(await review(other.adminToken, "role_id=not-a-uuid"), 404).detail).toBe(unknownRole.detail);
    const unknownSource = problem(await review(other.adminToken, `data_source_id=${Bun.randomUUIDv7()}`), 404);
    expect(problem(await review(other.adminToken, `data_source_id=${dataSourceId}`), 404).detail).toBe(unknownSource.detail);

    // A data source registered in its own stream belongs to its organization even before any grant.
    const registeredId = Bun.randomUUIDv7();
    const ctx = { ...systemContext(), actor: { type: "user" as const, id: org.adminId }, organizationId: org.id };
    const settings = { name: "warehouse", type: "embedded-demo", host: null, port: null, database_name: null, username: null, ssl: false, password_sealed: null };
    const { position } = await s.deps.store.append(
      `data_source-${registeredId}`,
      [{ id: Bun.randomUUIDv7(), type: "DataSourceRegistered", data: { ...settings, data_source_id: registeredId, organization_id: org.id, created_by: org.adminId, version: 1 }, metadata: metadataFor(ctx) }],
      "no_stream",
    );
    // Appended behind the handlers' back: wait as a handler would, until readers of the
    // whole store may pass it (an open projector transaction can hold it back a moment).
    await settle(s.deps, position);
    expect(ok(await review(org.adminToken, `data_source_id=${registeredId}`))).toMatchObject({ access_list: [], total: 0, data_source_id: registeredId, data_source_name: "warehouse" });
    expect(problem(await review(other.adminToken, `data_source_id=${registeredId}`), 404).detail).toBe(unknownSource.detail);

    expect(await holders(root, `role_id=${role.id}`)).toEqual([u.id]);
    expect(await holders(root, `data_source_id=${dataSourceId}`)).toEqual([u.id]);
    expect(await holders(org.adminToken, `data_source_id=${dataSourceId}`)).toEqual([u.id]);
  });

  test("given a caller without audit.read, or a request with neither, both, or a malformed time, when reviewed, then 403 or 422", async () => {
    const org = await tenant();
    const role = ok(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "x", permissions: ["user.read"] } }), 201);
    const member = await addMember(org);
    const memberToken = member.token;

    problem(await review(memberToken, `role_id=${role.id}`), 403);
    expect(problem(await review(org.adminToken, ""), 422).errors[0].path).toBe("/query/role_id");
    expect(problem(await review(org.adminToken, `role_id=${role.id}&data_source_id=${Bun.randomUUIDv7()}`), 422).errors[0].path).toBe("/query/data_source_id");
    for (const bad of ["soon", "2025-02-30", "2025-06-21T10:61:00Z"]) {
      expect(problem(await review(org.adminToken, `role_id=${role.id}&at=${encodeURIComponent(bad)}`), 422).errors[0].path).toBe("/query/at");
    }
    // A custom role carrying audit.read opens the review to a non-admin.
    const auditor = ok(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "auditor", permissions: ["audit.read"] } }), 201);
    ok(await call("POST", `${V1}/users/${member.id}/roles`, { token: org.adminToken, body: { role_id: auditor.id } }));
    expect(await holders(memberToken, `role_id=${auditor.id}`)).toEqual([member.id]);
  });
});
