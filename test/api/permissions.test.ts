/**
 * Permissions over HTTP: the system catalog as events (one PermissionCreated each,
 * bootstrap idempotent also when run concurrently), listing with search/resource/action
 * and pagination, grouped, get; every seed 002 permission example under /api and
 * /api/v1 (its `user:create` and `user:update` name system permissions, so they answer
 * 409; a custom one goes through create, update, delete); super-admin-only management;
 * immutable system permissions (422); renaming and deleting a custom permission moving or
 * removing it in every role that holds it, effective on the holders' next request.
 */
import { beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";
import { apiSuite, type Tenant } from "./_tenant";
import { bootstrap } from "../../src/handlers/bootstrap";
import { ensureSystemPermissions, permissionClaim } from "../../src/handlers/permissions";
import { claim } from "../../src/handlers/reservations";
import { systemContext } from "../../src/eventstore/context";
import { SYSTEM_PERMISSIONS } from "../../src/domain/permissions";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";

const namesOf = (items: Array<{ name: string }>) => items.map((i) => i.name);

describe.each(serviceKinds())("permissions (%s)", (kind) => {
  let s: TestService;
  let root: string;
  let org: Tenant;
  /** A plain member of `org`: any authenticated principal reads the catalog. */
  let memberToken: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  const list = (query: string, token = memberToken, base = V1) => call("GET", `${base}/permissions${query ? `?${query}` : ""}`, { token });
  const byName = async (name: string) => {
    const found = ok(await list(`search=${encodeURIComponent(name)}&size=1000`)).permissions.filter((p: any) => p.name === name);
    return found[0] as any;
  };
  const createCustom = async (body: Record<string, unknown>, base = V1) => ok(await call("POST", `${base}/permissions`, { token: root, body }), 201);
  const streamTypes = async (streamId: string) => (await s.deps.store.readStream(streamId)).map((e) => e.type);
  const systemCreated = async () => (await s.deps.store.readAll({ types: ["PermissionCreated"], limit: 100_000 })).filter((e) => (e.data as any).is_system);

  beforeAll(async () => {
    org = await tenant({ members: [{}] });
    memberToken = org.members[0].token;
  }, HOOK_TIMEOUT_MS);

  describe("the system catalog", () => {
    test("given a started service, when listing, then every SPEC permission is there once, as a system permission from its own PermissionCreated", async () => {
      const all = ok(await list("size=1000")).permissions;
      for (const name of SYSTEM_PERMISSIONS) {
        const entries = all.filter((p: any) => p.name === name);
        expect(entries.length).toBe(1);
        const [resource, action] = name.split(".");
        expect(entries[0]).toMatchObject({ name, resource, action, is_system: true });
        expect(entries[0].id).toMatch(UUID_V7);
        expect(typeof entries[0].description).toBe("string");
        expect(entries[0].created_at).toMatch(ISO_UTC);
        const events = await s.deps.store.readStream(`permission-${entries[0].id}`);
        expect(events.map((e) => e.type)).toEqual(["PermissionCreated"]);
        expect(events[0].data).toMatchObject({ permission_id: entries[0].id, name, resource, action, is_system: true });
      }
      const created = await systemCreated();
      expect(created.length).toBe(SYSTEM_PERMISSIONS.length);
    });

    test("given a defined catalog, when bootstrap runs again, also several at once, then nothing is defined twice", async () => {
      const before = await systemCreated();
      await Promise.all([bootstrap(s.deps), bootstrap(s.deps), ensureSystemPermissions(s.deps, systemContext())]);
      expect((await systemCreated()).length).toBe(before.length);
    });

    test("given new catalog entries, when several bootstraps define them at once, then each is created exactly once", async () => {
      const resource = uniq("zzboot").toLowerCase();
      const entries = ["read", "write", "export"].map((action) => ({ name: `${resource}.${action}`, description: `test ${action}` }));
      await Promise.all([0, 1, 2, 3].map(() => ensureSystemPermissions(s.deps, systemContext(), entries)));
      const listed = ok(await list(`resource=${resource}`)).permissions;
      expect(namesOf(listed).sort()).toEqual(entries.map((e) => e.name).sort());
      const events = (await s.deps.store.readAll({ types: ["PermissionCreated"], limit: 100_000 })).filter((e) => (e.data as any).resource === resource);
      expect(events.length).toBe(3);
      for (const p of listed) expect(p.is_system).toBe(true);
    });

    test("given a claim whose PermissionCreated was never written (a crash), when bootstrap runs, then it is created under the claimed id", async () => {
      const resource = uniq("zzcrash").toLowerCase();
      const id = Bun.randomUUIDv7();
      await claim(s.deps.store, systemContext(), permissionClaim({ resource, action: "read" }), id);
      await ensureSystemPermissions(s.deps, systemContext(), [{ name: `${resource}.read`, description: "crash" }]);
      expect(ok(await call("GET", `${V1}/permissions/${id}`, { token: memberToken }))).toMatchObject({ id, name: `${resource}.read`, is_system: true });
    });
  });

  describe("reading", () => {
    test("given filters, when listing, then resource, action and search narrow it, and both paginations agree", async () => {
      const users = ok(await list("resource=user")).permissions;
      expect(namesOf(users)).toEqual(["user.create", "user.delete", "user.read", "user.update"]);
      const reads = ok(await list("action=read&size=1000")).permissions;
      expect(reads.length).toBeGreaterThan(5);
      for (const p of reads) expect(p.action).toBe("read");
      expect(namesOf(ok(await list("resource=USER&action=read")).permissions)).toEqual(["user.read"]);
      const audit = ok(await list("search=AUDIT")).permissions;
      expect(namesOf(audit)).toEqual(expect.arrayContaining(["audit.read", "audit.export"]));
      expect(namesOf(ok(await list("search=user:read")).permissions)).toEqual(["user.read"]);
      expect(ok(await list(`search=${encodeURIComponent("%")}`)).total).toBe(0);
      expect(ok(await list("search=&resource=&action=")).total).toBeGreaterThanOrEqual(SYSTEM_PERMISSIONS.length);

      const all = ok(await list("size=1000"));
      const p2 = ok(await list("page=2&size=5"));
      expect(p2).toMatchObject({ page: 2, size: 5, total: all.total, pages: Math.ceil(all.total / 5) });
      expect(p2.permissions).toEqual(all.permissions.slice(5, 10));
      const s2 = ok(await list("skip=5&limit=5"));
      expect(s2).toMatchObject({ page: 2, size: 5 });
      expect(s2.permissions).toEqual(all.permissions.slice(5, 10));
      problem(await list("size=0"), 422);
    });

    test("given any principal, when reading, then it may; without credentials 401", async () => {
      problem(await call("GET", `${V1}/permissions`), 401);
      problem(await call("GET", `${V1}/permissions/grouped`), 401);
      const userRead = await byName("user.read");
      problem(await call("GET", `${V1}/permissions/${userRead.id}`), 401);
      for (const token of [memberToken, org.adminToken, root]) {
        ok(await call("GET", `${V1}/permissions/${userRead.id}`, { token }));
        ok(await call("GET", `${V1}/permissions/grouped`, { token }));
      }
      for (const id of [Bun.randomUUIDv7(), "not-a-uuid", "user.read"]) problem(await call("GET", `${V1}/permissions/${id}`, { token: memberToken }), 404);
    });
  });

  describe.each(["/api/v1", "/api"])("seed 002 examples under %s", (prefix) => {
    test("given the seed's create of user:create, then 409: it is the system permission user.create, and nothing is created", async () => {
      const before = ok(await list("resource=user", memberToken, prefix)).total;
      const p = problem(
        await call("POST", `${prefix}/permissions`, { token: root, body: { name: "user:create", description: "Create users", resource: "user", action: "create" } }),
        409,
      );
      expect(p.detail).toContain("user.create");
      expect(ok(await list("resource=user", memberToken, prefix)).total).toBe(before);
    });

    test("given a custom permission in the seed's shape, when created, listed grouped, read, updated and deleted, then each succeeds", async () => {
      const resource = uniq("report").toLowerCase();
      const created = await createCustom({ name: `${resource}:create`, description: "Create reports", resource, action: "create" }, prefix);
      expect(created).toMatchObject({ name: `${resource}.create`, resource, action: "create", description: "Create reports", is_system: false });
      expect(created.permission).toMatchObject({ id: created.id, name: `${resource}.create` });
      expect(created.id).toMatch(UUID_V7);

      const grouped = ok(await call("GET", `${prefix}/permissions/grouped?search=&resource=&action=`, { token: memberToken }));
      expect(namesOf(grouped.permissions[resource])).toEqual([`${resource}.create`]);
      expect(namesOf(grouped.permissions.user)).toEqual(["user.create", "user.delete", "user.read", "user.update"]);
      expect(grouped.resources).toEqual(Object.keys(grouped.permissions).sort());
      expect(grouped.total).toBe(Object.values(grouped.permissions).flat().length);
      const only = ok(await call("GET", `${prefix}/permissions/grouped?resource=${resource}`, { token: memberToken }));
      expect(Object.keys(only.permissions)).toEqual([resource]);

      expect(ok(await call("GET", `${prefix}/permissions/${created.id}`, { token: memberToken }))).toMatchObject({ id: created.id, name: `${resource}.create` });

      // The seed's update body names user.update, a system permission: 409, unchanged.
      problem(
        await call("PUT", `${prefix}/permissions/${created.id}`, { token: root, body: { name: "user:update", description: "Update users", resource: "user", action: "update" } }),
        409,
      );
      expect(await streamTypes(`permission-${created.id}`)).toEqual(["PermissionCreated"]);
      const updated = ok(await call("PUT", `${prefix}/permissions/${created.id}`, {
        token: root,
        body: { name: `${resource}:update`, description: "Update reports", resource, action: "update" },
      }));
      expect(updated).toMatchObject({ id: created.id, name: `${resource}.update`, action: "update", description: "Update reports" });

      const deleted = ok(await call("DELETE", `${prefix}/permissions/${created.id}`, { token: root }));
      expect(deleted).toMatchObject({ message: "Permission deleted successfully", roles_changed: 0 });
      problem(await call("GET", `${prefix}/permissions/${created.id}`, { token: memberToken }), 404);
      expect(await streamTypes(`permission-${created.id}`)).toEqual(["PermissionCreated", "PermissionUpdated", "PermissionDeleted"]);
    });
  });

  describe("managing", () => {
    test("given the name forms, when creating, then resource.action, resource:action and resource+action name the same identity", async () => {
      const resource = uniq("forms").toLowerCase();
      const a = await createCustom({ name: `${resource}.one` });
      expect(a).toMatchObject({ name: `${resource}.one`, resource, action: "one", description: null });
      const b = await createCustom({ resource: resource.toUpperCase(), action: "two", description: "  " });
      expect(b).toMatchObject({ name: `${resource}.two`, description: null });
      for (const body of [{ name: `${resource}:one` }, { name: `${resource.toUpperCase()}.ONE` }, { resource, action: "one" }]) {
        problem(await call("POST", `${V1}/permissions`, { token: root, body }), 409);
      }
      const bad: Array<[Record<string, unknown>, string]> = [
        [{}, "/body/name"],
        [{ name: resource }, "/body/name"],
        [{ name: `${resource}.a.b` }, "/body/name"],
        [{ name: `${resource}.sp ace` }, "/body/name"],
        [{ name: `${resource}.x`, resource: "other" }, "/body/resource"],
        [{ name: `${resource}.x`, action: "y" }, "/body/action"],
        [{ resource }, "/body/action"],
        [{ action: "x" }, "/body/resource"],
        [{ resource: "9lives", action: "x" }, "/body/resource"],
        [{ name: `${resource}.x`, scope: "org" }, "/body"],
      ];
      for (const [body, path] of bad) {
        const p = problem(await call("POST", `${V1}/permissions`, { token: root, body }), 422);
        expect(p.errors.map((e: { path: string }) => e.path).some((x: string) => x.startsWith(path))).toBe(true);
      }
      expect(namesOf(ok(await list(`resource=${resource}`)).permissions)).toEqual([`${resource}.one`, `${resource}.two`]);
    });

    test("given concurrent creations of one permission, then exactly one wins", async () => {
      const name = `${uniq("race").toLowerCase()}.go`;
      const replies = await Promise.all([0, 1, 2].map(() => call("POST", `${V1}/permissions`, { token: root, body: { name } })));
      expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      expect(ok(await list(`search=${name}`)).total).toBe(1);
    });

    test("given anyone but the super admin, when creating, updating or deleting, then 403 and nothing changes", async () => {
      const custom = await createCustom({ name: `${uniq("guard").toLowerCase()}.use` });
      const userRead = await byName("user.read");
      for (const token of [org.adminToken, memberToken]) {
        problem(await call("POST", `${V1}/permissions`, { token, body: { name: `${uniq("x").toLowerCase()}.y` } }), 403);
        for (const id of [custom.id, userRead.id]) {
          problem(await call("PUT", `${V1}/permissions/${id}`, { token, body: { description: "mine" } }), 403);
          problem(await call("DELETE", `${V1}/permissions/${id}`, { token }), 403);
        }
      }
      expect(await streamTypes(`permission-${custom.id}`)).toEqual(["PermissionCreated"]);
      expect(await streamTypes(`permission-${userRead.id}`)).toEqual(["PermissionCreated"]);
    });

    test("given a system permission, when the super admin updates or deletes it, then 422 and it is unchanged", async () => {
      const userRead = await byName("user.read");
      for (const body of [{ description: "changed" }, { name: "user.peek" }, { action: "peek" }]) {
        const p = problem(await call("PUT", `${V1}/permissions/${userRead.id}`, { token: root, body }), 422);
        expect(p.detail).toContain("immutable");
      }
      problem(await call("DELETE", `${V1}/permissions/${userRead.id}`, { token: root }), 422);
      expect(await streamTypes(`permission-${userRead.id}`)).toEqual(["PermissionCreated"]);
      expect(ok(await call("GET", `${V1}/permissions/${userRead.id}`, { token: root }))).toMatchObject(userRead);
      // Still granted: the member can still read roles (role.read) as before.
      ok(await call("GET", `${V1}/roles`, { token: memberToken }));
      for (const id of [Bun.randomUUIDv7(), "nope"]) {
        problem(await call("PUT", `${V1}/permissions/${id}`, { token: root, body: { description: "x" } }), 404);
        problem(await call("DELETE", `${V1}/permissions/${id}`, { token: root }), 404);
      }
    });

    test("given a custom permission, when updated with a description only, one part, a taken name, or the same values, then as expected", async () => {
      const resource = uniq("upd").toLowerCase();
      const p = await createCustom({ name: `${resource}.view`, description: "v" });
      const other = await createCustom({ name: `${resource}.edit` });
      expect(ok(await call("PUT", `${V1}/permissions/${p.id}`, { token: root, body: { description: "Views" } }))).toMatchObject({ name: `${resource}.view`, description: "Views" });
      expect(ok(await call("PUT", `${V1}/permissions/${p.id}`, { token: root, body: { action: "see" } }))).toMatchObject({ name: `${resource}.see`, action: "see" });
      problem(await call("PUT", `${V1}/permissions/${p.id}`, { token: root, body: { name: `${resource}:edit` } }), 409);
      problem(await call("PUT", `${V1}/permissions/${p.id}`, { token: root, body: { name: "bad name" } }), 422);
      ok(await call("PUT", `${V1}/permissions/${p.id}`, { token: root, body: { name: `${resource}.see`, description: "Views" } }));
      expect(await streamTypes(`permission-${p.id}`)).toEqual(["PermissionCreated", "PermissionUpdated", "PermissionUpdated"]);
      // The old names are free again, the taken one is untouched.
      await createCustom({ name: `${resource}.view` });
      expect(ok(await call("GET", `${V1}/permissions/${other.id}`, { token: root })).name).toBe(`${resource}.edit`);
    });
  });

  describe("roles holding a custom permission", () => {
    test("given roles in two organizations holding a custom permission, when it is renamed then deleted, then every role follows through RolePermissionsChanged", async () => {
      const resource = uniq("crm").toLowerCase();
      const custom = await createCustom({ name: `${resource}.sync` });
      const other = await tenant();
      const holders: Array<{ org: Tenant; roleId: string; member: { id: string; token: string } }> = [];
      for (const o of [org, other]) {
        // Only a super admin holds a custom permission to grant: it makes the roles.
        const role = ok(await call("POST", `${V1}/roles`, { token: root, body: { name: uniq("crm"), organization_id: o.id, permissions: [custom.id, "audit.read"] } }), 201);
        expect(role.permissions).toEqual([
          { id: expect.any(String), name: "audit.read", resource: "audit", action: "read" },
          { id: custom.id, name: `${resource}.sync`, resource, action: "sync" },
        ]);
        const member = await addMember(o);
        ok(await call("POST", `${V1}/users/${member.id}/roles`, { token: o.adminToken, body: { role_id: role.id } }));
        expect(ok(await call("GET", `${V1}/users/me`, { token: member.token })).permissions).toContain(`${resource}.sync`);
        holders.push({ org: o, roleId: role.id, member });
      }
      // An org admin does not hold the custom permission, so it cannot grant it.
      problem(await call("POST", `${V1}/roles`, { token: org.adminToken, body: { name: uniq("crm"), permissions: [custom.id] } }), 403);

      ok(await call("PUT", `${V1}/permissions/${custom.id}`, { token: root, body: { name: `${resource}:pull` } }));
      for (const h of holders) {
        const role = ok(await call("GET", `${V1}/roles/${h.roleId}`, { token: h.org.adminToken }));
        expect(role.permission_names).toEqual(["audit.read", `${resource}.pull`]);
        const events = await s.deps.store.readStream(`role-${h.roleId}`);
        expect(events.map((e) => e.type)).toEqual(["RoleCreated", "RolePermissionsChanged"]);
        expect(events[1].data).toMatchObject({ added: [`${resource}.pull`], removed: [`${resource}.sync`] });
        expect(events[1].metadata).toMatchObject({ organization_id: h.org.id });
        const perms = ok(await call("GET", `${V1}/users/me`, { token: h.member.token })).permissions;
        expect(perms).toContain(`${resource}.pull`);
        expect(perms).not.toContain(`${resource}.sync`);
      }

      const deleted = ok(await call("DELETE", `${V1}/permissions/${custom.id}`, { token: root }));
      expect(deleted.roles_changed).toBe(2);
      for (const h of holders) {
        const role = ok(await call("GET", `${V1}/roles/${h.roleId}`, { token: h.org.adminToken }));
        expect(role.permission_names).toEqual(["audit.read"]);
        expect(await (async () => (await s.deps.store.readStream(`role-${h.roleId}`)).map((e) => e.type))()).toEqual([
          "RoleCreated",
          "RolePermissionsChanged",
          "RolePermissionsChanged",
        ]);
        const perms = ok(await call("GET", `${V1}/users/me`, { token: h.member.token })).permissions;
        expect(perms).not.toContain(`${resource}.pull`);
        expect(perms).toContain("audit.read");
      }
      // Gone from the catalog: naming it is now an unknown permission; the name is free.
      problem(await call("POST", `${V1}/roles/${holders[0].roleId}/permissions`, { token: root, body: { permission_ids: [custom.id] } }), 422);
      const again = await createCustom({ name: `${resource}.pull` });
      expect(again.id).not.toBe(custom.id);
    });
  });
});
