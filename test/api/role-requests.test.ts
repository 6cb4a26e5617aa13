/**
 * Role requests over HTTP: seed 000's examples (request, list pending, approve) and the
 * rest of the resource under /api and /api/v1; the rules (role of the caller's
 * organization, not already held, one pending request per role, nobody decides their
 * own, only pending requests are decided, only the requester cancels, no escalation on
 * approval), each with a refusal that changes nothing; visibility and tenancy;
 * concurrency (identical requests, approve against cancel); that an approval gives
 * the role's permissions on the very next request; and that the read model rebuilt
 * from zero equals the live one.
 *
 * Organizations are made by registering their first user (its admin), members through
 * POST /users; custom roles through the role handler, so this suite does not depend on
 * the roles API.
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { Projector } from "../../projections/runner/projector";
import { allProjections } from "../../projections";
import { handleCommand } from "../../src/eventstore/handle-command";
import { roleRequest } from "../../src/domain/role-request";
import { ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";
import { apiSuite } from "./_tenant";
import { settle } from "../../src/deps";
import { systemContext } from "../../src/eventstore/context";
import { createRole, roleIdByName } from "../../src/handlers/roles";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";
const SEED_REASON = "I need access to the Data Analyst tools to complete my Q3 report.";
const SEED_NOTES = "Approved for Q3 reporting needs. Access will be reviewed in 90 days.";

const idsOf = (items: Array<{ id: string }>) => items.map((i) => i.id);

describe.each(serviceKinds())("role requests (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  const customRole = async (orgId: string, permissions: string[], isActive = true) => {
    const name = uniq("analyst-");
    const { roleId, position } = await createRole(
      s.deps,
      { ...systemContext(), organizationId: orgId },
      orgId,
      { name, display_name: name, description: "Can view dashboards and run queries.", is_active: isActive },
      permissions,
    );
    await settle(s.deps, position);
    return { id: roleId, name };
  };

  const systemRole = async (orgId: string, name: string) => (await roleIdByName(s.deps, orgId, name))!;

  const request = (token: string, body: Record<string, unknown>, base = V1) => call("POST", `${base}/role-requests`, { token, body });
  const list = (token: string, query = "", base = V1) => call("GET", `${base}/role-requests${query ? `?${query}` : ""}`, { token });
  const get = (token: string, id: string, base = V1) => call("GET", `${base}/role-requests/${id}`, { token });
  const decide = (token: string, id: string, action: "approve" | "reject" | "cancel", body?: unknown, base = V1) =>
    call("POST", `${base}/role-requests/${id}/${action}`, { token, body });
  const rolesOf = async (token: string) => ok(await call("GET", `${V1}/users/me`, { token })).roles as string[];
  const requestEvents = async (id: string) => (await s.deps.store.readStream(`role_request-${id}`)).map((e) => e.type);
  const userEvents = async (id: string) => (await s.deps.store.readStream(`user-${id}`)).map((e) => e.type);

  describe.each(["/api/v1", "/api"])("seed examples under %s", (prefix) => {
    test("given seed 000, when a user requests a role, the admin lists pending requests and approves, then the user holds the role and its permissions at once", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const analyst = await customRole(org.id, ["user.read", "audit.read"]);
      problem(await call("GET", `${prefix}/users`, { token: m.token }), 403);

      const created = ok(await request(m.token, { role_id: analyst.id, reason: SEED_REASON }, prefix), 201);
      expect(created).toMatchObject({
        organization_id: org.id,
        user_id: m.id,
        user_email: m.email,
        role_id: analyst.id,
        role_name: analyst.name,
        reason: SEED_REASON,
        status: "PENDING",
        notes: null,
        decided_by: null,
        decided_at: null,
      });
      expect(created.id).toMatch(UUID_V7);
      expect(created.created_at).toMatch(ISO_UTC);

      const pending = ok(await list(org.adminToken, "status=PENDING", prefix));
      expect(pending).toMatchObject({ total: 1, page: 1, pages: 1 });
      expect(pending.role_requests).toEqual([created]);

      const approved = ok(await decide(org.adminToken, created.id, "approve", { notes: SEED_NOTES }, prefix));
      expect(approved).toMatchObject({ id: created.id, status: "APPROVED", notes: SEED_NOTES, decided_by: org.adminId });
      expect(approved.decided_at).toMatch(ISO_UTC);

      // The very next request of the requester carries the role's permissions.
      expect(ok(await call("GET", `${prefix}/users`, { token: m.token })).total).toBe(2);
      expect(await rolesOf(m.token)).toEqual([analyst.name, "user"].sort());
      expect(ok(await list(org.adminToken, "status=PENDING", prefix)).total).toBe(0);
      expect(await requestEvents(created.id)).toEqual(["RoleRequested", "RoleRequestApproved"]);
      expect(await userEvents(m.id)).toEqual(["UserRegistered", "RoleAssigned"]);
    });

    test("given pending requests, when read one by one, rejected and cancelled, then each answers with the request in its new state", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const a = await customRole(org.id, ["audit.read"]);
      const b = await customRole(org.id, ["audit.read"]);
      const ra = ok(await request(m.token, { role_id: a.id, reason: "for a" }, prefix), 201);
      const rb = ok(await request(m.token, { role_id: b.id }, prefix), 201);
      expect(rb.reason).toBeNull();
      expect(ok(await get(m.token, ra.id, prefix))).toEqual(ra);
      expect(ok(await get(org.adminToken, ra.id, prefix))).toEqual(ra);

      const rejected = ok(await decide(org.adminToken, ra.id, "reject", { notes: "Not this quarter." }, prefix));
      expect(rejected).toMatchObject({ status: "REJECTED", notes: "Not this quarter.", decided_by: org.adminId });
      const cancelled = ok(await decide(m.token, rb.id, "cancel", undefined, prefix));
      expect(cancelled).toMatchObject({ status: "CANCELLED", decided_by: m.id });
      expect(await rolesOf(m.token)).toEqual(["user"]);
      expect(await requestEvents(ra.id)).toEqual(["RoleRequested", "RoleRequestRejected"]);
      expect(await requestEvents(rb.id)).toEqual(["RoleRequested", "RoleRequestCancelled"]);
    });
  });

  describe("requesting", () => {
    test("given roles of another organization, unknown and malformed ids, when requested, then 404 and no request exists", async () => {
      const a = await tenant();
      const b = await tenant();
      const m = await addMember(a);
      const foreign = await customRole(b.id, ["audit.read"]);
      for (const role_id of [foreign.id, await systemRole(b.id, "manager"), Bun.randomUUIDv7(), "not-a-uuid", "manager"]) {
        problem(await request(m.token, { role_id, reason: "x" }), 404);
      }
      expect(ok(await list(m.token)).total).toBe(0);
      expect(ok(await list(b.adminToken)).total).toBe(0);
    });

    test("given a role the user holds, when requested, then 409 and nothing is recorded", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const p = problem(await request(m.token, { role_id: await systemRole(org.id, "user") }), 409);
      expect(p.detail).toContain("already hold");
      const held = await customRole(org.id, ["audit.read"]);
      ok(await call("POST", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: held.id } }));
      problem(await request(m.token, { role_id: held.id }), 409);
      expect(ok(await list(org.adminToken)).total).toBe(0);
    });

    test("given a pending request, when the same role is requested again, then 409; once it is decided a new request is accepted", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const r = await customRole(org.id, ["audit.read"]);
      const first = ok(await request(m.token, { role_id: r.id, reason: "first" }), 201);
      const p = problem(await request(m.token, { role_id: r.id, reason: "again" }), 409);
      expect(p.detail).toContain("pending");
      expect(ok(await list(m.token)).role_requests.map((x: any) => x.reason)).toEqual(["first"]);
      // Another user asking for the same role is another request.
      const other = await addMember(org);
      ok(await request(other.token, { role_id: r.id }), 201);

      ok(await decide(m.token, first.id, "cancel"));
      const second = ok(await request(m.token, { role_id: r.id, reason: "second" }), 201);
      ok(await decide(org.adminToken, second.id, "reject"));
      const third = ok(await request(m.token, { role_id: r.id, reason: "third" }), 201);
      expect(ok(await list(m.token, "status=pending")).role_requests.map((x: any) => x.id)).toEqual([third.id]);
    });

    test("given a request cancelled without its pending claim being released (a crash), when the role is requested again, then it is accepted", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const r = await customRole(org.id, ["audit.read"]);
      const first = ok(await request(m.token, { role_id: r.id }), 201);
      // The cancel's event lands, the release after it never happens.
      const { position } = await handleCommand(s.deps.store, `role_request-${first.id}`, roleRequest, { type: "CancelRoleRequest", by: m.id }, { ...systemContext(), organizationId: org.id });
      await settle(s.deps, position);
      const again = ok(await request(m.token, { role_id: r.id, reason: "again" }), 201);
      expect(again.id).not.toBe(first.id);
      problem(await request(m.token, { role_id: r.id }), 409);
    });

    test("given an inactive role, when requested, then 422 and nothing is recorded", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const inactive = await customRole(org.id, ["audit.read"], false);
      const p = problem(await request(m.token, { role_id: inactive.id }), 422);
      expect(p.errors[0].path).toBe("/body/role_id");
      expect(ok(await list(m.token)).total).toBe(0);
    });

    test("given invalid bodies or a caller without role_request.create, when requesting, then 422 / 403 / 401 and nothing is recorded", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const r = await customRole(org.id, ["audit.read"]);
      for (const body of [{}, { reason: "x" }, { role_id: r.id, reason: "x", user_id: org.adminId }, { role_id: r.id, reason: 42 }, { role_id: r.id, status: "APPROVED" }]) {
        problem(await request(m.token, body), 422);
      }
      const reader = await customRole(org.id, ["role_request.read"]);
      const limited = await addMember(org, { roles: [reader.name] });
      problem(await request(limited.token, { role_id: r.id }), 403);
      problem(await call("POST", `${V1}/role-requests`, { body: { role_id: r.id } }), 401);
      expect(ok(await list(org.adminToken)).total).toBe(0);
    });

    test("given ten identical requests at the same time, then exactly one is created and the others get 409", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const r = await customRole(org.id, ["audit.read"]);
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(m.token, { role_id: r.id, reason: "at once" })));
      const statuses = replies.map((x) => x.status).sort();
      expect(statuses).toEqual([201, ...Array(9).fill(409)]);
      for (const x of replies) if (x.status === 409) problem(x, 409);
      const listed = ok(await list(org.adminToken, "status=PENDING"));
      expect(listed.total).toBe(1);
      expect(listed.role_requests[0].id).toBe(replies.find((x) => x.status === 201)!.body.id);
      const requested = (await s.deps.store.readAll({ types: ["RoleRequested"] })).filter((e) => (e.data as any).user_id === m.id);
      expect(requested.length).toBe(1);
    });
  });

  describe("listing and reading", () => {
    test("given requests of several users, when listed, then approvers see the organization's, others only their own; others' requests are 404", async () => {
      const org = await tenant({ members: [{}, {}, { role: "manager" }] });
      const [m1, m2, mgr] = org.members;
      const r = await customRole(org.id, ["audit.read"]);
      const q1 = ok(await request(m1.token, { role_id: r.id }), 201);
      const q2 = ok(await request(m2.token, { role_id: r.id }), 201);
      expect(idsOf(ok(await list(m1.token)).role_requests)).toEqual([q1.id]);
      expect(idsOf(ok(await list(m2.token)).role_requests)).toEqual([q2.id]);
      // user_id does not widen a non-approver's view.
      expect(idsOf(ok(await list(m1.token, `user_id=${m2.id}`)).role_requests)).toEqual([q1.id]);
      expect(idsOf(ok(await list(mgr.token)).role_requests)).toEqual([q1.id, q2.id]);
      expect(idsOf(ok(await list(org.adminToken, `user_id=${m2.id}`)).role_requests)).toEqual([q2.id]);
      expect(idsOf(ok(await list(org.adminToken, `role_id=${r.id}`)).role_requests)).toEqual([q1.id, q2.id]);
      expect(ok(await list(org.adminToken, "user_id=nonsense")).total).toBe(0);
      problem(await get(m1.token, q2.id), 404);
      ok(await get(mgr.token, q2.id));
      for (const id of [Bun.randomUUIDv7(), "not-a-uuid"]) problem(await get(org.adminToken, id), 404);
    });

    test("given requests in every state, when filtered by status in any case, then only those; an unknown status is 422", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const roles = await Promise.all([1, 2, 3, 4].map(() => customRole(org.id, ["audit.read"])));
      const reqs = [];
      for (const r of roles) reqs.push(ok(await request(m.token, { role_id: r.id }), 201));
      ok(await decide(org.adminToken, reqs[0].id, "approve"));
      ok(await decide(org.adminToken, reqs[1].id, "reject"));
      ok(await decide(m.token, reqs[2].id, "cancel"));
      const only = async (status: string) => idsOf(ok(await list(org.adminToken, `status=${status}`)).role_requests);
      expect(await only("APPROVED")).toEqual([reqs[0].id]);
      expect(await only("rejected")).toEqual([reqs[1].id]);
      expect(await only("Cancelled")).toEqual([reqs[2].id]);
      expect(await only("pending")).toEqual([reqs[3].id]);
      expect(ok(await list(org.adminToken)).total).toBe(4);
      const p = problem(await list(org.adminToken, "status=DONE"), 422);
      expect(p.errors[0].path).toBe("/query/status");
    });

    test("given five requests, when paging with page&size and skip&limit, then both give the same slices", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(ok(await request(m.token, { role_id: (await customRole(org.id, ["audit.read"])).id }), 201).id);
      const p2 = ok(await list(org.adminToken, "page=2&size=2"));
      expect(p2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(idsOf(p2.role_requests)).toEqual(ids.slice(2, 4));
      const s2 = ok(await list(org.adminToken, "skip=2&limit=2&status=PENDING"));
      expect(s2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(idsOf(s2.role_requests)).toEqual(ids.slice(2, 4));
      expect(idsOf(ok(await list(org.adminToken, "skip=4&limit=2")).role_requests)).toEqual([ids[4]]);
      problem(await list(org.adminToken, "size=0"), 422);
    });
  });

  describe("deciding", () => {
    test("given an admin's own request, when it approves or rejects it, then 403 and it stays pending without the role", async () => {
      const org = await tenant();
      const second = await addMember(org, { role: "admin" });
      const r = await customRole(org.id, ["audit.read"]);
      const own = ok(await request(org.adminToken, { role_id: r.id, reason: "me" }), 201);
      problem(await decide(org.adminToken, own.id, "approve", { notes: "self" }), 403);
      problem(await decide(org.adminToken, own.id, "reject"), 403);
      expect(ok(await get(org.adminToken, own.id)).status).toBe("PENDING");
      expect(await rolesOf(org.adminToken)).toEqual(["admin"]);
      expect(await requestEvents(own.id)).toEqual(["RoleRequested"]);
      // Another admin may.
      expect(ok(await decide(second.token, own.id, "approve")).status).toBe("APPROVED");
      expect(await rolesOf(org.adminToken)).toEqual(["admin", r.name].sort());
    });

    test("given decided requests, when approved, rejected or cancelled again, then 409 and nothing changes", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => customRole(org.id, ["audit.read"])));
      const approved = ok(await request(m.token, { role_id: a.id }), 201);
      const rejected = ok(await request(m.token, { role_id: b.id }), 201);
      const cancelled = ok(await request(m.token, { role_id: c.id }), 201);
      ok(await decide(org.adminToken, approved.id, "approve"));
      ok(await decide(org.adminToken, rejected.id, "reject"));
      ok(await decide(m.token, cancelled.id, "cancel"));
      const before = ok(await list(org.adminToken));
      for (const req of [approved, rejected, cancelled]) {
        problem(await decide(org.adminToken, req.id, "approve"), 409);
        problem(await decide(org.adminToken, req.id, "reject"), 409);
        problem(await decide(m.token, req.id, "cancel"), 409);
      }
      expect(ok(await list(org.adminToken))).toEqual(before);
      expect(await rolesOf(m.token)).toEqual([a.name, "user"].sort());
      expect(await requestEvents(rejected.id)).toEqual(["RoleRequested", "RoleRequestRejected"]);
    });

    test("given a request, when anyone but the requester cancels it, then 403 for an approver, 404 for a peer, and it stays pending", async () => {
      const org = await tenant({ members: [{}, {}] });
      const [m, peer] = org.members;
      const req = ok(await request(m.token, { role_id: (await customRole(org.id, ["audit.read"])).id }), 201);
      problem(await decide(org.adminToken, req.id, "cancel"), 403);
      problem(await decide(peer.token, req.id, "cancel"), 404);
      problem(await decide(root, req.id, "cancel"), 403);
      expect(ok(await get(m.token, req.id)).status).toBe("PENDING");
      expect(await requestEvents(req.id)).toEqual(["RoleRequested"]);
    });

    test("given a plain user, when it approves or rejects a request, then 403 and it stays pending", async () => {
      const org = await tenant({ members: [{}, {}] });
      const [m, peer] = org.members;
      const req = ok(await request(m.token, { role_id: (await customRole(org.id, ["audit.read"])).id }), 201);
      problem(await decide(peer.token, req.id, "approve"), 403);
      problem(await decide(peer.token, req.id, "reject"), 403);
      problem(await decide(m.token, req.id, "approve"), 403);
      expect(ok(await get(m.token, req.id)).status).toBe("PENDING");
      expect(await rolesOf(m.token)).toEqual(["user"]);
    });

    test("given a manager, when it approves a request for admin or for a role carrying what it lacks, then 403 and nothing changes; an admin may approve it", async () => {
      const org = await tenant({ members: [{ role: "manager" }, {}] });
      const [mgr, m] = org.members;
      const forAdmin = ok(await request(m.token, { role_id: await systemRole(org.id, "admin") }), 201);
      const exporter = await customRole(org.id, ["audit.export"]);
      const forExport = ok(await request(m.token, { role_id: exporter.id }), 201);
      for (const req of [forAdmin, forExport]) {
        problem(await decide(mgr.token, req.id, "approve"), 403);
        expect(ok(await get(org.adminToken, req.id)).status).toBe("PENDING");
      }
      expect(await rolesOf(m.token)).toEqual(["user"]);
      expect(await userEvents(m.id)).toEqual(["UserRegistered"]);
      // The manager may grant what it holds itself, and may reject anything.
      const lesser = await customRole(org.id, ["audit.read"]);
      const forLesser = ok(await request(m.token, { role_id: lesser.id }), 201);
      expect(ok(await decide(mgr.token, forLesser.id, "approve")).status).toBe("APPROVED");
      expect(ok(await decide(mgr.token, forExport.id, "reject")).status).toBe("REJECTED");
      expect(ok(await decide(org.adminToken, forAdmin.id, "approve")).status).toBe("APPROVED");
      expect(await rolesOf(m.token)).toEqual(["admin", lesser.name, "user"].sort());
    });

    test("given unknown or malformed ids, when approved, rejected or cancelled, then 404", async () => {
      const org = await tenant();
      for (const id of [Bun.randomUUIDv7(), "not-a-uuid"]) {
        for (const action of ["approve", "reject", "cancel"] as const) problem(await decide(org.adminToken, id, action), 404);
      }
      const m = await addMember(org);
      const req = ok(await request(m.token, { role_id: (await customRole(org.id, ["audit.read"])).id }), 201);
      problem(await decide(org.adminToken, req.id, "approve", { notes: "x", role_id: "y" }), 422);
      expect(ok(await get(m.token, req.id)).status).toBe("PENDING");
    });

    test("given the super admin, when it lists and approves a tenant's request, then it sees every organization's and the role is assigned", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const r = await customRole(org.id, ["audit.read"]);
      const req = ok(await request(m.token, { role_id: r.id }), 201);
      expect(idsOf(ok(await list(root, "status=PENDING&size=1000")).role_requests)).toContain(req.id);
      expect(ok(await decide(root, req.id, "approve", { notes: "platform" })).status).toBe("APPROVED");
      expect(await rolesOf(m.token)).toEqual([r.name, "user"].sort());
    });

    test("given a pending request, when it is approved and cancelled at the same time, then exactly one wins and the role is held only if approved", async () => {
      for (let round = 0; round < 3; round++) {
        const org = await tenant();
        const m = await addMember(org);
        const r = await customRole(org.id, ["audit.read"]);
        const req = ok(await request(m.token, { role_id: r.id }), 201);
        const [approve, cancel] = await Promise.all([decide(org.adminToken, req.id, "approve"), decide(m.token, req.id, "cancel")]);
        expect([approve.status, cancel.status].sort()).toEqual([200, 409]);
        const final = ok(await get(org.adminToken, req.id));
        expect(final.status).toBe(approve.status === 200 ? "APPROVED" : "CANCELLED");
        expect((await rolesOf(m.token)).includes(r.name)).toBe(approve.status === 200);
      }
    });

    test("given a pending request, when two approvers approve it at the same time, then one 200, one 409, and one RoleAssigned", async () => {
      const org = await tenant({ members: [{ role: "admin" }, {}] });
      const [second, m] = org.members;
      const r = await customRole(org.id, ["audit.read"]);
      const req = ok(await request(m.token, { role_id: r.id }), 201);
      const replies = await Promise.all([decide(org.adminToken, req.id, "approve"), decide(second.token, req.id, "approve")]);
      expect(replies.map((x) => x.status).sort()).toEqual([200, 409]);
      expect(await requestEvents(req.id)).toEqual(["RoleRequested", "RoleRequestApproved"]);
      expect(await userEvents(m.id)).toEqual(["UserRegistered", "RoleAssigned"]);
    });
  });

  describe("tenancy", () => {
    test("given a request of organization A, when B's admin reads, lists, approves, rejects or cancels it, then 404 and it is unchanged", async () => {
      const a = await tenant();
      const b = await tenant();
      const m = await addMember(a);
      const r = await customRole(a.id, ["audit.read"]);
      const req = ok(await request(m.token, { role_id: r.id }), 201);
      problem(await get(b.adminToken, req.id), 404);
      for (const action of ["approve", "reject", "cancel"] as const) problem(await decide(b.adminToken, req.id, action, action === "cancel" ? undefined : { notes: "x" }), 404);
      expect(idsOf(ok(await list(b.adminToken, "size=1000")).role_requests)).not.toContain(req.id);
      expect(ok(await list(b.adminToken, `user_id=${m.id}`)).total).toBe(0);
      expect(ok(await get(a.adminToken, req.id))).toMatchObject({ status: "PENDING", notes: null });
      expect(await requestEvents(req.id)).toEqual(["RoleRequested"]);
      expect(await rolesOf(m.token)).toEqual(["user"]);
    });
  });

  describe("events", () => {
    test("given a request and its approval, when the streams are read, then the events carry the ids, the actor and the organization", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const r = await customRole(org.id, ["audit.read"]);
      const req = ok(await request(m.token, { role_id: r.id, reason: "why" }), 201);
      ok(await decide(org.adminToken, req.id, "approve", { notes: "ok" }));
      const events = await s.deps.store.readStream(`role_request-${req.id}`);
      expect(events[0].data).toEqual({ request_id: req.id, organization_id: org.id, user_id: m.id, role_id: r.id, role_name: r.name, reason: "why" });
      expect(events[0].metadata).toMatchObject({ actor: { type: "user", id: m.id }, organization_id: org.id });
      expect(events[1].data).toEqual({ request_id: req.id, organization_id: org.id, user_id: m.id, role_id: r.id, decided_by: org.adminId, notes: "ok" });
      expect(events[1].metadata).toMatchObject({ actor: { type: "user", id: org.adminId }, organization_id: org.id });
      const assigned = (await s.deps.store.readStream(`user-${m.id}`)).at(-1)!;
      expect(assigned.type).toBe("RoleAssigned");
      expect(assigned.metadata.correlation_id).toBe(events[1].metadata.correlation_id);
    });
  });

  describe("rebuild", () => {
    // Last in the suite: it stops the live projector.
    test("given everything this suite recorded, when the read models are rebuilt from zero, then they equal the live ones", async () => {
      const rows = async () => {
        const out: unknown[] = [];
        for (const table of ["role_requests"]) {
          out.push(await s.deps.db.query(`select * from ${table} order by id`));
        }
        return out;
      };
      // Some rows of each state even when this test runs alone.
      const org = await tenant();
      const m = await addMember(org);
      const [a, b] = await Promise.all([1, 2].map(() => customRole(org.id, ["audit.read"])));
      ok(await decide(org.adminToken, ok(await request(m.token, { role_id: a.id }), 201).id, "approve", { notes: "n" }));
      ok(await decide(m.token, ok(await request(m.token, { role_id: b.id }), 201).id, "cancel"));
      ok(await request(m.token, { role_id: b.id }), 201);
      await s.deps.projector.waitFor(await s.deps.store.headPosition());
      const live = await rows();
      expect((live[0] as unknown[]).length).toBeGreaterThan(2);
      await s.deps.projector.stop();
      const names = ["role_requests"];
      await new Projector(s.deps.store, s.deps.db, allProjections.filter((p) => names.includes(p.name))).rebuild(names);
      expect(await rows()).toEqual(live);
    });
  });
});
