/**
 * Roles over HTTP: every seed request example for roles (000 "Get All Roles", 001 "Create
 * a New Role" with display_name and permission ids, 002 create/list/get/update/delete and
 * permission_ids add/remove) under /api and /api/v1; the rules, each with a refusal that
 * shows nothing changed (unique names, system roles, unknown and platform permissions, no
 * escalation); deletion revoking the role from its holders through events; changes that
 * apply on the holders' very next request; tenancy.
 *
 * Organizations are made by registering their first user (its admin), members through
 * POST /users, role assignment through POST /users/{id}/roles.
 */
import { beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";
import { apiSuite, type Tenant } from "./_tenant";
import { roleIdByName } from "../../src/handlers/roles";
import { SYSTEM_ROLES } from "../../src/domain/permissions";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";

const idsOf = (items: Array<{ id: string }>) => items.map((i) => i.id);
const namesOf = (items: Array<{ name: string }>) => items.map((i) => i.name);

describe.each(serviceKinds())("roles (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));
  /** name -> id of the permission catalog. */
  const catalog = new Map<string, string>();

  const systemRoleId = async (orgId: string, name: string) => {
    const id = await roleIdByName(s.deps, orgId, name);
    if (!id) throw new Error(`no role ${name} in ${orgId}`);
    return id;
  };

  const perm = (name: string) => {
    const id = catalog.get(name);
    if (!id) throw new Error(`no permission ${name}`);
    return id;
  };

  const createRole = async (org: Tenant, body: Record<string, unknown>, token = org.adminToken) => ok(await call("POST", `${V1}/roles`, { token, body }), 201);
  const getRole = (id: string, token: string, base = V1) => call("GET", `${base}/roles/${id}`, { token });
  const listRoles = (query: string, token: string, base = V1) => call("GET", `${base}/roles${query ? `?${query}` : ""}`, { token });
  const streamTypes = async (streamId: string) => (await s.deps.store.readStream(streamId)).map((e) => e.type);
  const assign = (org: Tenant, userId: string, roleId: string) => call("POST", `${V1}/users/${userId}/roles`, { token: org.adminToken, body: { role_id: roleId } });

  beforeAll(async () => {
    const all = ok(await call("GET", `${V1}/permissions?size=1000`, { token: root }));
    for (const p of all.permissions) catalog.set(p.name, p.id);
  }, HOOK_TIMEOUT_MS);

  describe.each(["/api/v1", "/api"])("seed examples under %s", (prefix) => {
    let org: Tenant;
    beforeAll(async () => {
      org = await tenant();
    }, HOOK_TIMEOUT_MS);

    test("given seed 000, when getting all roles, then the organization's roles are listed with their permissions", async () => {
      const list = ok(await call("GET", `${prefix}/roles`, { token: org.adminToken }));
      expect(namesOf(list.roles)).toEqual(expect.arrayContaining(["admin", "manager", "user"]));
      expect(list).toMatchObject({ page: 1, pages: 1 });
      expect(list.total).toBe(list.roles.length);
      const admin = list.roles.find((r: any) => r.name === "admin");
      expect(admin).toMatchObject({ is_system: true, is_active: true, organization_id: org.id, display_name: "Administrator", user_count: 1 });
      expect(admin.id).toMatch(UUID_V7);
      expect(admin.created_at).toMatch(ISO_UTC);
      expect(admin.updated_at).toMatch(ISO_UTC);
      expect(admin.permission_names).toEqual([...SYSTEM_ROLES.admin.permissions].sort());
      expect(admin.permission_names).not.toContain("admin.system");
      for (const p of admin.permissions) {
        expect(p).toEqual({ id: perm(p.name), name: p.name, resource: p.name.split(".")[0], action: p.name.split(".")[1] });
      }
      // Everyone's `user` role carries role.read: a plain member lists the roles too.
      const member = await addMember(org);
      expect(namesOf(ok(await call("GET", `${prefix}/roles`, { token: member.token })).roles)).toContain("user");
    });

    test("given seed 001, when creating support_agent with display_name, description and permission ids, then 201 with the role and its permissions", async () => {
      const r = await call("POST", `${prefix}/roles`, {
        token: org.adminToken,
        body: {
          name: "support_agent",
          display_name: "Support Agent",
          description: "Handles customer support tickets.",
          permissions: [perm("user.read"), perm("audit.read")],
        },
      });
      const body = ok(r, 201);
      const expected = {
        name: "support_agent",
        display_name: "Support Agent",
        description: "Handles customer support tickets.",
        is_system: false,
        is_active: true,
        organization_id: org.id,
        permission_names: ["audit.read", "user.read"],
        user_count: 0,
      };
      expect(body).toMatchObject(expected);
      expect(body.role).toMatchObject({ ...expected, id: body.id });
      expect(body.id).toMatch(UUID_V7);
      expect(body.role.permissions).toEqual([
        { id: perm("audit.read"), name: "audit.read", resource: "audit", action: "read" },
        { id: perm("user.read"), name: "user.read", resource: "user", action: "read" },
      ]);
      expect(ok(await getRole(body.id, org.adminToken, prefix))).toMatchObject(expected);
      const events = await s.deps.store.readStream(`role-${body.id}`);
      expect(events.map((e) => e.type)).toEqual(["RoleCreated"]);
      expect(events[0].data).toMatchObject({ role_id: body.id, organization_id: org.id, name: "support_agent", permissions: ["user.read", "audit.read"] });
      expect(events[0].metadata).toMatchObject({ actor: { type: "user", id: org.adminId }, organization_id: org.id });
    });

    test("given seed 002, when every role call is made as written, then each succeeds", async () => {
      // "Manager" is not the system role "manager": names are unique by exact match.
      const created = ok(await call("POST", `${prefix}/roles`, {
        token: org.adminToken,
        body: { name: "Manager", description: "Manager role with specific permissions", is_active: true },
      }), 201);
      expect(created).toMatchObject({ name: "Manager", description: "Manager role with specific permissions", is_active: true, is_system: false, permissions: [], permission_names: [] });
      const id = created.id;

      const list = ok(await listRoles("skip=0&limit=100&search=&is_active=true", org.adminToken, prefix));
      expect(list).toMatchObject({ page: 1, size: 100, pages: 1 });
      expect(idsOf(list.roles)).toContain(id);
      expect(namesOf(list.roles)).toEqual(expect.arrayContaining(["Manager", "manager", "admin", "user"]));
      for (const r of list.roles) expect(r.is_active).toBe(true);

      expect(ok(await getRole(id, org.adminToken, prefix))).toMatchObject({ id, name: "Manager", role: { id, name: "Manager" } });

      const updated = ok(await call("PUT", `${prefix}/roles/${id}`, {
        token: org.adminToken,
        body: { name: "Updated Manager", description: "Updated role description", is_active: true },
      }));
      expect(updated).toMatchObject({ id, name: "Updated Manager", description: "Updated role description", is_active: true });

      const added = ok(await call("POST", `${prefix}/roles/${id}/permissions`, {
        token: org.adminToken,
        body: { permission_ids: [perm("location.read"), perm("location.create")] },
      }));
      expect(added.permission_names).toEqual(["location.create", "location.read"]);

      const removed = ok(await call("DELETE", `${prefix}/roles/${id}/permissions`, {
        token: org.adminToken,
        body: { permission_ids: [perm("location.read"), perm("location.create")] },
      }));
      expect(removed.permission_names).toEqual([]);

      const deleted = ok(await call("DELETE", `${prefix}/roles/${id}`, { token: org.adminToken }));
      expect(deleted).toMatchObject({ message: "Role deleted successfully", revoked_from_users: 0 });
      problem(await getRole(id, org.adminToken, prefix), 404);
      expect(await streamTypes(`role-${id}`)).toEqual(["RoleCreated", "RoleUpdated", "RolePermissionsChanged", "RolePermissionsChanged", "RoleDeleted"]);
      // Both names are free again.
      ok(await call("POST", `${prefix}/roles`, { token: org.adminToken, body: { name: "Manager" } }), 201);
      ok(await call("POST", `${prefix}/roles`, { token: org.adminToken, body: { name: "Updated Manager" } }), 201);
    });
  });

  describe("creating", () => {
    test("given a role, when another is created with the same exact name, then 409 and nothing is created; another case is another name", async () => {
      const org = await tenant();
      const first = await createRole(org, { name: "Analyst" });
      const before = ok(await listRoles("", org.adminToken)).total;
      for (const name of ["Analyst", " Analyst ", "admin", "manager", "user"]) {
        problem(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name } }), 409);
      }
      expect(ok(await listRoles("", org.adminToken)).total).toBe(before);
      expect(await streamTypes(`role-${first.id}`)).toEqual(["RoleCreated"]);
      const other = await createRole(org, { name: "analyst" });
      expect(other.id).not.toBe(first.id);
      // Another organization may use the same name.
      const b = await tenant();
      await createRole(b, { name: "Analyst" });
    });

    test("given two creations of one name at the same time, then exactly one wins", async () => {
      const org = await tenant();
      const name = uniq("race");
      const replies = await Promise.all([0, 1, 2].map(() => call("POST", `${V1}/roles`, { token: org.adminToken, body: { name } })));
      expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      expect(ok(await listRoles(`search=${name}`, org.adminToken)).total).toBe(1);
    });

    test("given permissions by id, by name in both forms, mixed and repeated, then the role holds each once", async () => {
      const org = await tenant();
      const r = await createRole(org, { name: uniq("mixed"), permissions: [perm("user.read"), "user:update", "audit.read", "USER.READ", perm("audit.read")] });
      expect(r.permission_names).toEqual(["audit.read", "user.read", "user.update"]);
      const viaIds = await createRole(org, { name: uniq("ids"), permission_ids: [perm("location.read")] });
      expect(viaIds.permission_names).toEqual(["location.read"]);
    });

    test("given unknown or platform permissions, when creating, then 422 naming each and nothing is created, the name stays free", async () => {
      const org = await tenant();
      const name = uniq("bad");
      const before = ok(await listRoles("", org.adminToken)).total;
      const cases: Array<[unknown[], string[]]> = [
        [["user.read", "nope.nothing"], ["/body/permissions/1"]],
        [[Bun.randomUUIDv7()], ["/body/permissions/0"]],
        [["not a permission", "user.read", "user"], ["/body/permissions/0", "/body/permissions/2"]],
        [["admin.system"], ["/body/permissions/0"]],
        [[perm("admin.system")], ["/body/permissions/0"]],
      ];
      for (const [permissions, paths] of cases) {
        const p = problem(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name, permissions } }), 422);
        expect(p.errors.map((e: { path: string }) => e.path)).toEqual(paths);
      }
      // The platform permission is refused even to the super admin.
      problem(await call("POST", `${V1}/roles`, { token: root, body: { name, organization_id: org.id, permissions: ["admin.system"] } }), 422);
      for (const body of [{}, { name: "" }, { name: "   " }, { name, colour: "red" }, { name, permissions: "user.read" }, { name, is_active: "yes" }]) {
        problem(await call("POST", `${V1}/roles`, { token: org.adminToken, body }), 422);
      }
      expect(ok(await listRoles("", org.adminToken)).total).toBe(before);
      await createRole(org, { name });
    });

    test("given a plain user, when creating a role, then 403 and nothing is created", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const name = uniq("nope");
      problem(await call("POST", `${V1}/roles`, { token: m.token, body: { name } }), 403);
      problem(await call("POST", `${V1}/roles`, { body: { name } }), 401);
      expect(ok(await listRoles(`search=${name}`, org.adminToken)).total).toBe(0);
    });

    test("given the super admin, when creating without and with organization_id, then refused or created in that organization", async () => {
      const org = await tenant();
      const name = uniq("root");
      problem(await call("POST", `${V1}/roles`, { token: root, body: { name } }), 422);
      problem(await call("POST", `${V1}/roles`, { token: root, body: { name, organization_id: Bun.randomUUIDv7() } }), 404);
      const created = await createRole(org, { name, organization_id: org.id, permissions: ["user.delete"] }, root);
      expect(created).toMatchObject({ organization_id: org.id, permission_names: ["user.delete"] });
      expect(idsOf(ok(await listRoles("", org.adminToken)).roles)).toContain(created.id);
      const events = await s.deps.store.readStream(`role-${created.id}`);
      expect(events[0].metadata.organization_id).toBe(org.id);
    });
  });

  describe("listing", () => {
    test("given several roles, when searching, filtering by is_active and paging both ways, then the slices agree", async () => {
      const org = await tenant();
      const word = uniq("w");
      const a = await createRole(org, { name: `${word}-a` });
      const b = await createRole(org, { name: uniq("x"), display_name: `The ${word.toUpperCase()} team` });
      const c = await createRole(org, { name: uniq("y"), description: `for ${word}`, is_active: false });
      expect(idsOf(ok(await listRoles(`search=${word.toUpperCase()}`, org.adminToken)).roles)).toEqual([a.id, b.id, c.id]);
      expect(idsOf(ok(await listRoles("is_active=false", org.adminToken)).roles)).toEqual([c.id]);
      expect(idsOf(ok(await listRoles(`is_active=true&search=${word}`, org.adminToken)).roles)).toEqual([a.id, b.id]);
      expect(ok(await listRoles(`search=${encodeURIComponent("%")}`, org.adminToken)).total).toBe(0);

      const all = idsOf(ok(await listRoles("", org.adminToken)).roles);
      expect(all.length).toBe(6);
      const p2 = ok(await listRoles("page=2&size=2", org.adminToken));
      expect(p2).toMatchObject({ total: 6, page: 2, size: 2, pages: 3 });
      expect(idsOf(p2.roles)).toEqual(all.slice(2, 4));
      const s2 = ok(await listRoles("skip=2&limit=2", org.adminToken));
      expect(s2).toMatchObject({ total: 6, page: 2, size: 2, pages: 3 });
      expect(idsOf(s2.roles)).toEqual(all.slice(2, 4));
      problem(await listRoles("size=0", org.adminToken), 422);
      problem(await listRoles("is_active=maybe", org.adminToken), 422);
    });

    test("given holders of a role, when listed, then user_count counts them", async () => {
      const org = await tenant();
      const r = await createRole(org, { name: uniq("counted") });
      const m1 = await addMember(org);
      const m2 = await addMember(org);
      ok(await assign(org, m1.id, r.id));
      ok(await assign(org, m2.id, r.id));
      expect(ok(await getRole(r.id, org.adminToken)).user_count).toBe(2);
      const listed = ok(await listRoles("", org.adminToken)).roles;
      expect(listed.find((x: any) => x.id === r.id).user_count).toBe(2);
      expect(listed.find((x: any) => x.name === "user").user_count).toBe(2);
      expect(listed.find((x: any) => x.name === "admin").user_count).toBe(1);
    });
  });

  describe("updating", () => {
    test("given a rename, then the new name is taken and the old one free; a taken name is 409 and changes nothing", async () => {
      const org = await tenant();
      const r = await createRole(org, { name: "Old Name", description: "d" });
      const other = await createRole(org, { name: "Taken" });
      problem(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { name: "Taken", description: "changed" } }), 409);
      problem(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { name: "admin" } }), 409);
      expect(ok(await getRole(r.id, org.adminToken))).toMatchObject({ name: "Old Name", description: "d" });
      expect(await streamTypes(`role-${r.id}`)).toEqual(["RoleCreated"]);

      ok(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { name: "New Name" } }));
      problem(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: "New Name" } }), 409);
      await createRole(org, { name: "Old Name" });
      expect(ok(await getRole(other.id, org.adminToken)).name).toBe("Taken");
      // The same values again record nothing.
      ok(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { name: "New Name", description: "d" } }));
      expect(await streamTypes(`role-${r.id}`)).toEqual(["RoleCreated", "RoleUpdated"]);
    });

    test("given `permissions` on PUT, then they replace the role's set", async () => {
      const org = await tenant();
      const r = await createRole(org, { name: uniq("rep"), permissions: ["user.read", "audit.read"] });
      const updated = ok(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { permissions: ["audit.read", perm("location.read")], display_name: "Rep" } }));
      expect(updated).toMatchObject({ display_name: "Rep", permission_names: ["audit.read", "location.read"] });
      const events = await s.deps.store.readStream(`role-${r.id}`);
      expect(events.map((e) => e.type)).toEqual(["RoleCreated", "RoleUpdated", "RolePermissionsChanged"]);
      expect(events[2].data).toMatchObject({ added: ["location.read"], removed: ["user.read"] });
      problem(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { permissions: ["audit.read", "nope.nope"] } }), 422);
      problem(await call("PUT", `${V1}/roles/${r.id}`, { token: org.adminToken, body: { is_system: true } }), 422);
      expect(ok(await getRole(r.id, org.adminToken)).permission_names).toEqual(["audit.read", "location.read"]);
    });

    test("given system roles, when renamed, deleted, or admin deactivated or stripped, then 422 and nothing changes; other edits work", async () => {
      const org = await tenant();
      const ids = { admin: await systemRoleId(org.id, "admin"), manager: await systemRoleId(org.id, "manager"), user: await systemRoleId(org.id, "user") };
      for (const id of Object.values(ids)) {
        problem(await call("PUT", `${V1}/roles/${id}`, { token: org.adminToken, body: { name: uniq("renamed") } }), 422);
        problem(await call("DELETE", `${V1}/roles/${id}`, { token: org.adminToken }), 422);
        problem(await call("DELETE", `${V1}/roles/${id}`, { token: root }), 422);
      }
      problem(await call("PUT", `${V1}/roles/${ids.admin}`, { token: org.adminToken, body: { is_active: false } }), 422);
      problem(await call("DELETE", `${V1}/roles/${ids.admin}/permissions`, { token: org.adminToken, body: { permission_ids: ["user.read"] } }), 422);
      problem(await call("PUT", `${V1}/roles/${ids.admin}`, { token: root, body: { permissions: ["user.read"] } }), 422);
      for (const id of Object.values(ids)) expect(await streamTypes(`role-${id}`)).toEqual(["RoleCreated"]);
      const admin = ok(await getRole(ids.admin, org.adminToken));
      expect(admin).toMatchObject({ name: "admin", is_active: true, permission_names: [...SYSTEM_ROLES.admin.permissions].sort() });
      // The admin still administers.
      ok(await call("GET", `${V1}/users`, { token: org.adminToken }));

      // What may change: the same name, descriptions, and the other system roles' permissions.
      const manager = ok(await call("PUT", `${V1}/roles/${ids.manager}`, { token: org.adminToken, body: { name: "manager", display_name: "Team lead" } }));
      expect(manager).toMatchObject({ name: "manager", display_name: "Team lead", is_system: true });
      const user = ok(await call("POST", `${V1}/roles/${ids.user}/permissions`, { token: org.adminToken, body: { permission_ids: ["audit.read"] } }));
      expect(user.permission_names).toContain("audit.read");
    });

    test("given unknown, malformed and removed permission bodies, then 422 and the role is unchanged", async () => {
      const org = await tenant();
      const r = await createRole(org, { name: uniq("perm"), permissions: ["user.read"] });
      for (const body of [{}, { permission_ids: [] }, { permission_ids: ["nope.nope"] }, { permission_ids: [Bun.randomUUIDv7()] }, { permission_ids: ["admin.system"] }, { role_ids: [perm("user.read")] }]) {
        problem(await call("POST", `${V1}/roles/${r.id}/permissions`, { token: org.adminToken, body }), 422);
        problem(await call("DELETE", `${V1}/roles/${r.id}/permissions`, { token: org.adminToken, body }), 422);
      }
      expect(await streamTypes(`role-${r.id}`)).toEqual(["RoleCreated"]);
      // Adding what is held, or removing what is not, records nothing.
      ok(await call("POST", `${V1}/roles/${r.id}/permissions`, { token: org.adminToken, body: { permission_ids: ["user.read"] } }));
      ok(await call("DELETE", `${V1}/roles/${r.id}/permissions`, { token: org.adminToken, body: { permission_ids: ["audit.read"] } }));
      expect(await streamTypes(`role-${r.id}`)).toEqual(["RoleCreated"]);
    });
  });

  describe("no escalation", () => {
    test("given a role editor holding only some permissions, when it grants others, then 403 and nothing changes; what it holds it may grant", async () => {
      const org = await tenant();
      const editorRole = await createRole(org, { name: uniq("editor"), permissions: ["role.read", "role.create", "role.update", "user.read"] });
      const editor = await addMember(org, { roles: [editorRole.name] });
      const name = uniq("esc");
      problem(await call("POST", `${V1}/roles`, { token: editor.token, body: { name, permissions: ["user.read", "user.delete"] } }), 403);
      expect(ok(await listRoles(`search=${name}`, org.adminToken)).total).toBe(0);

      const mine = ok(await call("POST", `${V1}/roles`, { token: editor.token, body: { name, permissions: ["user.read"] } }), 201);
      problem(await call("POST", `${V1}/roles/${mine.id}/permissions`, { token: editor.token, body: { permission_ids: [perm("user.delete")] } }), 403);
      problem(await call("PUT", `${V1}/roles/${mine.id}`, { token: editor.token, body: { permissions: ["user.read", "role.assign"] } }), 403);
      // Its own role: adding to it would escalate itself.
      problem(await call("POST", `${V1}/roles/${editorRole.id}/permissions`, { token: editor.token, body: { permission_ids: ["role.delete"] } }), 403);
      // Re-activating a role that carries more than the editor holds grants it too.
      const dormant = await createRole(org, { name: uniq("dormant"), permissions: ["user.delete"], is_active: false });
      problem(await call("PUT", `${V1}/roles/${dormant.id}`, { token: editor.token, body: { is_active: true } }), 403);
      expect(await streamTypes(`role-${mine.id}`)).toEqual(["RoleCreated"]);
      expect(await streamTypes(`role-${editorRole.id}`)).toEqual(["RoleCreated"]);
      expect(await streamTypes(`role-${dormant.id}`)).toEqual(["RoleCreated"]);
      expect(ok(await getRole(dormant.id, org.adminToken)).is_active).toBe(false);

      // What it holds, and taking away, are fine.
      ok(await call("POST", `${V1}/roles/${mine.id}/permissions`, { token: editor.token, body: { permission_ids: ["role.read"] } }));
      ok(await call("DELETE", `${V1}/roles/${dormant.id}/permissions`, { token: editor.token, body: { permission_ids: ["user.delete"] } }));
      ok(await call("PUT", `${V1}/roles/${dormant.id}`, { token: editor.token, body: { is_active: true } }));
      // Without role.delete it cannot delete.
      problem(await call("DELETE", `${V1}/roles/${mine.id}`, { token: editor.token }), 403);
    });
  });

  describe("effective on the next request", () => {
    test("given a role with user.read assigned to a plain user, when the role loses user.read, is deactivated or deleted, then the next request is refused", async () => {
      const org = await tenant();
      const m = await addMember(org);
      const reader = await createRole(org, { name: uniq("reader"), permissions: ["user.read"] });
      problem(await call("GET", `${V1}/users`, { token: m.token }), 403);
      ok(await assign(org, m.id, reader.id));
      ok(await call("GET", `${V1}/users`, { token: m.token }));

      ok(await call("DELETE", `${V1}/roles/${reader.id}/permissions`, { token: org.adminToken, body: { permission_ids: [perm("user.read")] } }));
      problem(await call("GET", `${V1}/users`, { token: m.token }), 403);
      ok(await call("POST", `${V1}/roles/${reader.id}/permissions`, { token: org.adminToken, body: { permission_ids: ["user:read"] } }));
      ok(await call("GET", `${V1}/users`, { token: m.token }));

      ok(await call("PUT", `${V1}/roles/${reader.id}`, { token: org.adminToken, body: { is_active: false } }));
      problem(await call("GET", `${V1}/users`, { token: m.token }), 403);
      expect(ok(await call("GET", `${V1}/users/me`, { token: m.token })).permissions).not.toContain("user.read");
      ok(await call("PUT", `${V1}/roles/${reader.id}`, { token: org.adminToken, body: { is_active: true } }));
      ok(await call("GET", `${V1}/users`, { token: m.token }));

      ok(await call("DELETE", `${V1}/roles/${reader.id}`, { token: org.adminToken }));
      problem(await call("GET", `${V1}/users`, { token: m.token }), 403);
    });

    test("given a role held by several users, when deleted, then each holder gets RoleRevoked, then RoleDeleted, and the name is free", async () => {
      const org = await tenant();
      const name = uniq("doomed");
      const r = await createRole(org, { name, permissions: ["audit.read"] });
      const holders = [await addMember(org), await addMember(org)];
      for (const h of holders) ok(await assign(org, h.id, r.id));
      const bystander = await addMember(org);
      const deleted = ok(await call("DELETE", `${V1}/roles/${r.id}`, { token: org.adminToken }));
      expect(deleted.revoked_from_users).toBe(2);
      for (const h of holders) {
        const events = await s.deps.store.readStream(`user-${h.id}`);
        expect(events.map((e) => e.type)).toEqual(["UserRegistered", "RoleAssigned", "RoleRevoked"]);
        expect(events[2].data).toEqual({ user_id: h.id, organization_id: org.id, role_id: r.id, role_name: name });
        expect(events[2].metadata).toMatchObject({ actor: { type: "user", id: org.adminId }, organization_id: org.id });
        const me = ok(await call("GET", `${V1}/users/me`, { token: h.token }));
        expect(me.roles).toEqual(["user"]);
        expect(me.permissions).not.toContain("audit.read");
      }
      expect(await streamTypes(`user-${bystander.id}`)).toEqual(["UserRegistered"]);
      const roleEvents = await s.deps.store.readStream(`role-${r.id}`);
      expect(roleEvents.map((e) => e.type)).toEqual(["RoleCreated", "RoleDeleted"]);
      const lastRevoke = (await s.deps.store.readStream(`user-${holders[1].id}`))[2];
      expect(roleEvents[1].position > lastRevoke.position).toBe(true);
      expect(ok(await call("GET", `${V1}/users?role=${name}`, { token: org.adminToken })).total).toBe(0);
      problem(await call("DELETE", `${V1}/roles/${r.id}`, { token: org.adminToken }), 404);
      problem(await assign(org, holders[0].id, r.id), 404);
      await createRole(org, { name });
    });
  });

  describe("tenancy", () => {
    test("given two organizations, when org A's admin addresses org B's role, then 404 everywhere and B's role is unchanged", async () => {
      const a = await tenant();
      const b = await tenant();
      const victim = await createRole(b, { name: uniq("victim"), permissions: ["audit.read"] });
      const bManager = await systemRoleId(b.id, "manager");
      for (const id of [victim.id, bManager]) {
        problem(await getRole(id, a.adminToken), 404);
        problem(await call("PUT", `${V1}/roles/${id}`, { token: a.adminToken, body: { description: "mine now" } }), 404);
        problem(await call("DELETE", `${V1}/roles/${id}`, { token: a.adminToken }), 404);
        problem(await call("POST", `${V1}/roles/${id}/permissions`, { token: a.adminToken, body: { permission_ids: ["user.read"] } }), 404);
        problem(await call("DELETE", `${V1}/roles/${id}/permissions`, { token: a.adminToken, body: { permission_ids: ["audit.read"] } }), 404);
        expect(await streamTypes(`role-${id}`)).toEqual(["RoleCreated"]);
      }
      for (const id of ["not-a-uuid", Bun.randomUUIDv7()]) problem(await getRole(id, a.adminToken), 404);
      for (const q of ["", "size=1000", `search=${encodeURIComponent(victim.name)}`, "is_active=true"]) {
        const listed = ok(await listRoles(q, a.adminToken)).roles;
        expect(idsOf(listed)).not.toContain(victim.id);
        for (const r of listed) expect(r.organization_id).toBe(a.id);
      }
      problem(await listRoles(`organization_id=${b.id}`, a.adminToken), 404);
      problem(await call("POST", `${V1}/roles`, { token: a.adminToken, body: { name: uniq("x"), organization_id: b.id } }), 404);
      expect(ok(await getRole(victim.id, b.adminToken))).toMatchObject({ permission_names: ["audit.read"], description: null });
      // A's role cannot be given to B's users either.
      const aRole = await createRole(a, { name: uniq("mine") });
      const bUser = await addMember(b);
      problem(await call("POST", `${V1}/users/${bUser.id}/roles`, { token: a.adminToken, body: { role_id: aRole.id } }), 404);
    });

    test("given the super admin, when listing, then every tenant's roles, one organization with organization_id, never the platform's", async () => {
      const a = await tenant();
      const b = await tenant();
      const all = ok(await listRoles("size=1000", root)).roles;
      expect(all.map((r: any) => r.organization_id)).toEqual(expect.arrayContaining([a.id, b.id]));
      const onlyA = ok(await listRoles(`organization_id=${a.id}`, root)).roles;
      expect(namesOf(onlyA).sort()).toEqual(["admin", "manager", "user"]);
      problem(await listRoles(`organization_id=${Bun.randomUUIDv7()}`, root), 404);
      const bAdmin = await systemRoleId(b.id, "admin");
      expect(ok(await getRole(bAdmin, root)).organization_id).toBe(b.id);
    });
  });
});
