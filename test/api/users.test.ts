/**
 * Users over HTTP: every seed request example for users (000, 001, 002, 004) under /api
 * and /api/v1, listing (search, filters, both pagination styles), creation rules, own
 * profile, updates and deactivation, deletion, role assignment, the last-admin rules
 * (also under concurrency), tenancy, and that no response ever carries a password hash.
 *
 * Organizations and their admins are made through the real API (register creates the
 * organization with the registering user as admin), users through POST /users. Custom
 * roles are created with the role handler: the roles API is not part of this slice.
 */
import { beforeAll, describe, expect, test as bunTest } from "bun:test";
import { decodeJwt } from "jose";
import { serviceKinds, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";
import { apiSuite, PASSWORD, type Reply, type Tenant } from "./_tenant";
import { settle } from "../../src/deps";
import { systemContext } from "../../src/eventstore/context";
import { createRole, roleIdByName } from "../../src/handlers/roles";
import { createOrganization } from "../../src/handlers/organizations";
import { sealPassword } from "../../src/handlers/users";
import { handleCommand } from "../../src/eventstore/handle-command";
import { stream } from "../../src/eventstore/streams";
import { user } from "../../src/domain/user";
import { hashPassword } from "../../src/auth/passwords";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";

const idsOf = (users: Array<{ id: string }>) => users.map((u) => u.id);

describe.each(serviceKinds())("users (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const api = apiSuite(kind, (started) => ({ s, root } = started));
  /** `seen`: every response body of this suite, scanned at the end for password material. */
  const { call, ok, addMember, texts: seen } = api;

  /** The RFC 9457 shape, as expectProblem checks it (the body's own status too), on an already read reply. */
  const problem = (r: Reply, status: number) => {
    const body = api.problem(r, status);
    expect(body).toMatchObject({ status });
    return body;
  };

  /** A new organization, made by registering its first user (who becomes its admin). */
  const newOrg = async (): Promise<Tenant> => {
    const org = await api.tenant();
    expect(org.registration.organization_created).toBe(true);
    expect(org.registration.role).toBe("admin");
    return org;
  };

  const login = async (org: { id: string }, email: string, password = PASSWORD) =>
    call("POST", `${V1}/auth/login`, { body: { email, password, organization_id: org.id } });

  const roleId = async (orgId: string, name: string) => {
    const id = await roleIdByName(s.deps, orgId, name);
    if (!id) throw new Error(`no role ${name} in ${orgId}`);
    return id;
  };

  /** A custom role; the roles API belongs to another slice, so through its handler. */
  const customRole = async (orgId: string, permissions: string[]) => {
    const name = uniq("role");
    const { roleId: id, position } = await createRole(
      s.deps,
      { ...systemContext(), organizationId: orgId },
      orgId,
      { name, display_name: name, description: null, is_active: true },
      permissions,
    );
    await settle(s.deps, position);
    return { id, name };
  };

  const getUser = (id: string, token: string, base = V1) => call("GET", `${base}/users/${id}`, { token });
  const listUsers = (query: string, token: string, base = V1) => call("GET", `${base}/users${query ? `?${query}` : ""}`, { token });
  const userEvents = async (id: string) => (await s.deps.store.readStream(`user-${id}`)).map((e) => e.type);

  describe.each(["/api/v1", "/api"])("seed examples under %s", (prefix) => {
    let org: Tenant;
    beforeAll(async () => {
      org = await newOrg();
    }, HOOK_TIMEOUT_MS);

    test("given seed 000, when searching, creating, reading, assigning and revoking a role, then each answers as documented", async () => {
      const search = ok(await listUsers("search=admin", org.adminToken, prefix));
      expect(idsOf(search.users)).toEqual([org.adminId]);
      expect(search.users[0].email).toBe(org.adminEmail);

      const created = await call("POST", `${prefix}/users`, {
        token: org.adminToken,
        body: { email: "new.hire@innovatecorp.com", first_name: "New", last_name: "Hire", password: "DefaultPassword123!" },
      });
      ok(created, 201);
      expect(created.body).toMatchObject({ email: "new.hire@innovatecorp.com", first_name: "New", last_name: "Hire", full_name: "New Hire", role: "user", roles: ["user"], organization_id: org.id, is_active: true });
      expect(created.body.id).toMatch(UUID_V7);
      const id = created.body.id;

      const read = ok(await getUser(id, org.adminToken, prefix));
      expect(read).toMatchObject({ id, email: "new.hire@innovatecorp.com", role: "user" });
      expect(read.user).toMatchObject({ id, email: "new.hire@innovatecorp.com", role: "user" });

      const manager = await roleId(org.id, "manager");
      const assigned = ok(await call("POST", `${prefix}/users/${id}/roles`, { token: org.adminToken, body: { role_id: manager } }));
      expect(assigned.message).toBe("Role assigned successfully");
      expect(assigned.user.roles).toEqual(["manager", "user"]);
      expect(assigned.user.role).toBe("manager");

      const revoked = ok(await call("DELETE", `${prefix}/users/${id}/roles`, { token: org.adminToken, body: { role_id: manager } }));
      expect(revoked.message).toBe("Role revoked successfully");
      expect(revoked.user.roles).toEqual(["user"]);
      expect((await getUser(id, org.adminToken)).body.roles).toEqual(["user"]);
      expect(await userEvents(id)).toEqual(["UserRegistered", "RoleAssigned", "RoleRevoked"]);
    });

    test("given seed 001, when listing, reading one user and assigning a role, then users/total/pages/current_page, {user} and the message", async () => {
      const m = await addMember(org);
      const list = ok(await listUsers("", org.adminToken, prefix));
      expect(list).toMatchObject({ total: list.users.length, pages: 1, current_page: 1, page: 1 });
      expect(idsOf(list.users)).toContain(m.id);
      const one = ok(await getUser(m.id, org.adminToken, prefix));
      expect(one.user).toMatchObject({ id: m.id, email: m.email, roles: ["user"] });
      expect(one.user.permissions).toContain("query.execute");
      const r = await customRole(org.id, ["audit.read"]);
      const assigned = ok(await call("POST", `${prefix}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: r.id } }));
      expect(assigned.message).toBe("Role assigned successfully");
      expect(assigned.user.permissions).toContain("audit.read");
    });

    test("given seed 002, when every user-management call is made as written, then each succeeds", async () => {
      const tag = uniq("n");
      const created = await call("POST", `${prefix}/users`, {
        token: org.adminToken,
        body: { email: `newuser.${tag}@example.com`, username: `newuser${tag}`, password: "SecurePassword123!", first_name: "New", last_name: "User", organization_id: org.id },
      });
      ok(created, 201);
      expect(created.body).toMatchObject({ username: `newuser${tag}`, first_name: "New", last_name: "User", organization_id: org.id, is_verified: false });
      const id = created.body.id;

      const list = ok(await listUsers("skip=0&limit=100&search=&is_active=true", org.adminToken, prefix));
      expect(list).toMatchObject({ page: 1, size: 100 });
      expect(idsOf(list.users)).toContain(id);
      for (const u of list.users) expect(u.is_active).toBe(true);

      const l = ok(await login(org, `newuser.${tag}@example.com`, "SecurePassword123!"));
      const me = ok(await call("GET", `${prefix}/users/me`, { token: l.access_token }));
      expect(me).toMatchObject({ id, email: `newuser.${tag}@example.com` });
      const updatedMe = ok(await call("PUT", `${prefix}/users/me`, { token: l.access_token, body: { username: `updated${tag}`, first_name: "Updated", last_name: "Name" } }));
      expect(updatedMe).toMatchObject({ id, username: `updated${tag}`, first_name: "Updated", last_name: "Name", full_name: "Updated Name" });

      expect(ok(await getUser(id, org.adminToken, prefix))).toMatchObject({ id, username: `updated${tag}` });

      const updated = ok(await call("PUT", `${prefix}/users/${id}`, {
        token: org.adminToken,
        body: { username: `updateduser${tag}`, first_name: "Updated", last_name: "User", is_active: true, is_verified: true },
      }));
      expect(updated).toMatchObject({ id, username: `updateduser${tag}`, first_name: "Updated", last_name: "User", is_active: true, is_verified: true });

      const r1 = await customRole(org.id, ["audit.read"]);
      const r2 = await customRole(org.id, ["location.create"]);
      const assigned = ok(await call("POST", `${prefix}/users/${id}/roles`, { token: org.adminToken, body: { role_ids: [r1.id, r2.id] } }));
      expect(assigned.user.roles).toEqual([r1.name, r2.name, "user"].sort());
      const removed = ok(await call("DELETE", `${prefix}/users/${id}/roles`, { token: org.adminToken, body: { role_ids: [r1.id, r2.id] } }));
      expect(removed.user.roles).toEqual(["user"]);

      const deleted = ok(await call("DELETE", `${prefix}/users/${id}`, { token: org.adminToken }));
      expect(deleted).toEqual({ message: "Deleted" });
      problem(await getUser(id, org.adminToken, prefix), 404);
    });

    test("given seed 004, when creating an employee, promoting to manager, listing as the manager and deleting, then each answers as documented", async () => {
      const created = await call("POST", `${prefix}/users`, { token: org.adminToken, body: { email: "employee@example.com", password: "employee123", role: "user" } });
      ok(created, 201);
      expect(created.body).toMatchObject({ email: "employee@example.com", role: "user", organization_id: org.id });
      const id = created.body.id;

      const promoted = ok(await call("PUT", `${prefix}/users/${id}`, { token: org.adminToken, body: { role: "manager" } }));
      expect(promoted).toMatchObject({ id, email: "employee@example.com", role: "manager", roles: ["manager"], organization_id: org.id });

      const managerToken = ok(await login(org, "employee@example.com", "employee123")).access_token;
      const listed = ok(await listUsers("", managerToken, prefix));
      expect(idsOf(listed.users)).toContain(id);
      expect(idsOf(listed.users)).toContain(org.adminId);

      const deleted = ok(await call("DELETE", `${prefix}/users/${id}`, { token: org.adminToken }));
      expect(deleted).toEqual({ message: "Deleted" });
      problem(await call("GET", `${prefix}/users/me`, { token: managerToken }), 401);
    });
  });

  describe("listing", () => {
    test("given users with a common word in different fields, when searching in any case, then exactly those are listed", async () => {
      const org = await newOrg();
      const word = uniq("w");
      const a = await addMember(org, { email: `${word}.a@example.com` });
      const b = await addMember(org, { username: `X${word.toUpperCase()}Y` });
      const c = await addMember(org, { first_name: `Dr${word}` });
      const d = await addMember(org, { last_name: word.toUpperCase() });
      await addMember(org);
      const found = ok(await listUsers(`search=${word.toUpperCase()}`, org.adminToken));
      expect(found.total).toBe(4);
      expect(idsOf(found.users).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
      const full = ok(await listUsers(`search=${encodeURIComponent(`dr${word} ber`)}`, org.adminToken));
      expect(idsOf(full.users)).toEqual([c.id]);
      const wildcard = ok(await listUsers(`search=${encodeURIComponent("%")}`, org.adminToken));
      expect(wildcard.total).toBe(0);
    });

    test("given active and inactive users, when filtering by is_active, then each side lists only its own", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      ok(await call("PUT", `${V1}/users/${m.id}`, { token: org.adminToken, body: { is_active: false } }));
      const inactive = ok(await listUsers("is_active=false", org.adminToken));
      expect(idsOf(inactive.users)).toEqual([m.id]);
      const active = ok(await listUsers("is_active=true", org.adminToken));
      expect(idsOf(active.users)).toEqual([org.adminId]);
      expect(ok(await listUsers("", org.adminToken)).total).toBe(2);
    });

    test("given users with different roles, when filtering by role name, then only that role's holders are listed", async () => {
      const org = await newOrg();
      const mgr = await addMember(org, { role: "manager" });
      const both = await addMember(org, { roles: ["user", "manager"] });
      const plain = await addMember(org);
      expect(idsOf(ok(await listUsers("role=manager", org.adminToken)).users).sort()).toEqual([mgr.id, both.id].sort());
      expect(idsOf(ok(await listUsers("role=admin", org.adminToken)).users)).toEqual([org.adminId]);
      expect(idsOf(ok(await listUsers("role=user", org.adminToken)).users).sort()).toEqual([both.id, plain.id].sort());
      expect(ok(await listUsers("role=nonexistent", org.adminToken)).total).toBe(0);
      expect(ok(await listUsers("role=MANAGER", org.adminToken)).total).toBe(0);
    });

    test("given five users, when paging with page&size and with skip&limit, then both give the same slices", async () => {
      const org = await newOrg();
      const ids = [org.adminId];
      for (let i = 0; i < 4; i++) ids.push((await addMember(org)).id);

      const p2 = ok(await listUsers("page=2&size=2", org.adminToken));
      expect(p2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3, current_page: 2 });
      expect(idsOf(p2.users)).toEqual(ids.slice(2, 4));
      const s2 = ok(await listUsers("skip=2&limit=2", org.adminToken));
      expect(s2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(idsOf(s2.users)).toEqual(ids.slice(2, 4));
      const last = ok(await listUsers("skip=4&limit=2", org.adminToken));
      expect(idsOf(last.users)).toEqual([ids[4]]);
      const beyond = ok(await listUsers("page=9&size=2", org.adminToken));
      expect(beyond).toMatchObject({ total: 5, page: 9, users: [] });
      problem(await listUsers("size=0", org.adminToken), 422);
      problem(await listUsers("is_active=maybe", org.adminToken), 422);
    });

    test("given a plain user, when listing or reading users, then 403 until a role grants user.read", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      problem(await listUsers("", m.token), 403);
      problem(await getUser(org.adminId, m.token), 403);
      const reader = await customRole(org.id, ["user.read"]);
      ok(await call("POST", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: reader.id } }));
      expect(ok(await listUsers("", m.token)).total).toBe(2);
      ok(await call("DELETE", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: reader.id } }));
      problem(await listUsers("", m.token), 403);
      problem(await call("GET", `${V1}/users`), 401);
    });
  });

  describe("creating", () => {
    test("given a user, when another is created with its e-mail in another case, then 409 and nothing is created", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      problem(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email: m.email.toUpperCase(), password: PASSWORD } }), 409);
      expect(ok(await listUsers("", org.adminToken)).total).toBe(2);
      // The same e-mail in another organization is another account.
      const other = await newOrg();
      ok(await call("POST", `${V1}/users`, { token: other.adminToken, body: { email: m.email, password: PASSWORD } }), 201);
    });

    test("given invalid bodies, when creating, then 422 naming the field and nothing is created", async () => {
      const org = await newOrg();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ email: `${uniq()}@example.com`, password: PASSWORD, role: "superuser" }, "/body/role"],
        [{ email: `${uniq()}@example.com`, password: PASSWORD, roles: ["user", "nope"] }, "/body/roles/1"],
        [{ email: `${uniq()}@example.com`, password: "short" }, "/body/password"],
        [{ email: `${uniq()}@example.com`, password: "password123" }, "/body/password"],
        [{ email: "not-an-email", password: PASSWORD }, "/body/email"],
        [{ email: `${uniq()}@example.com`, password: PASSWORD, is_admin: true }, "/body"],
        [{ password: PASSWORD }, "/body/email"],
      ];
      for (const [body, path] of cases) {
        const p = problem(await call("POST", `${V1}/users`, { token: org.adminToken, body }), 422);
        expect(p.errors.map((e: { path: string }) => e.path).some((x: string) => x.startsWith(path))).toBe(true);
      }
      expect(ok(await listUsers("", org.adminToken)).total).toBe(1);
    });

    test("given an admin, when creating in another organization, then 404 and neither organization changes; its own id is accepted", async () => {
      const a = await newOrg();
      const b = await newOrg();
      const email = `${uniq()}@example.com`;
      problem(await call("POST", `${V1}/users`, { token: a.adminToken, body: { email, password: PASSWORD, organization_id: b.id } }), 404);
      problem(await call("POST", `${V1}/users`, { token: a.adminToken, body: { email, password: PASSWORD, organization_id: "not-a-uuid" } }), 404);
      expect(ok(await listUsers("", a.adminToken)).total).toBe(1);
      expect(ok(await listUsers("", b.adminToken)).total).toBe(1);
      const own = ok(await call("POST", `${V1}/users`, { token: a.adminToken, body: { email, password: PASSWORD, organization_id: a.id } }), 201);
      expect(own.organization_id).toBe(a.id);
    });

    test("given the super admin, when creating with and without organization_id, then it lands in the named organization or is refused", async () => {
      const org = await newOrg();
      const email = `${uniq()}@example.com`;
      problem(await call("POST", `${V1}/users`, { token: root, body: { email, password: PASSWORD } }), 422);
      problem(await call("POST", `${V1}/users`, { token: root, body: { email, password: PASSWORD, organization_id: Bun.randomUUIDv7() } }), 404);
      const created = ok(await call("POST", `${V1}/users`, { token: root, body: { email, password: PASSWORD, organization_id: org.id, role: "manager" } }), 201);
      expect(created).toMatchObject({ organization_id: org.id, role: "manager" });
      expect(idsOf(ok(await listUsers("", org.adminToken)).users)).toContain(created.id);
      const events = await s.deps.store.readStream(`user-${created.id}`);
      expect(events[0].metadata.organization_id).toBe(org.id);
    });

    test("given a manager, when creating an admin or without role.assign a manager, then 403 and nothing is created", async () => {
      const org = await newOrg();
      const mgr = await addMember(org, { role: "manager" });
      problem(await call("POST", `${V1}/users`, { token: mgr.token, body: { email: `${uniq()}@example.com`, password: PASSWORD, role: "admin" } }), 403);
      const creatorRole = await customRole(org.id, ["user.create", "user.read"]);
      const creator = await addMember(org, { roles: [creatorRole.name] });
      problem(await call("POST", `${V1}/users`, { token: creator.token, body: { email: `${uniq()}@example.com`, password: PASSWORD, role: "manager" } }), 403);
      const plain = await addMember(org);
      problem(await call("POST", `${V1}/users`, { token: plain.token, body: { email: `${uniq()}@example.com`, password: PASSWORD } }), 403);
      expect(ok(await listUsers("", org.adminToken)).total).toBe(4);
      // What they may do: a manager creates a plain user, the creator one with the default role.
      ok(await call("POST", `${V1}/users`, { token: mgr.token, body: { email: `${uniq()}@example.com`, password: PASSWORD, role: "user" } }), 201);
      const byCreator = ok(await call("POST", `${V1}/users`, { token: creator.token, body: { email: `${uniq()}@example.com`, password: PASSWORD } }), 201);
      expect(byCreator.roles).toEqual(["user"]);
    });

    test("given an organization at max_users, when one more user is created, then 409 and the seat count holds", async () => {
      const org = await newOrg();
      await addMember(org);
      ok(await call("PUT", `${V1}/organizations/${org.id}`, { token: root, body: { max_users: 2 } }));
      problem(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email: `${uniq()}@example.com`, password: PASSWORD } }), 409);
      expect(ok(await listUsers("", org.adminToken)).total).toBe(2);
    });
  });

  describe("own profile", () => {
    test("given a plain user, when reading and updating /users/me, then only the name fields change; anything else is 422", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      const me = ok(await call("GET", `${V1}/users/me`, { token: m.token }));
      expect(me).toMatchObject({ id: m.id, email: m.email, role: "user", is_active: true });
      expect(me.created_at).toMatch(ISO_UTC);
      for (const body of [{ is_active: false }, { role: "admin" }, { email: "x@example.com" }, { is_verified: true }, { username: 42 }]) {
        problem(await call("PUT", `${V1}/users/me`, { token: m.token, body }), 422);
      }
      expect(ok(await call("GET", `${V1}/users/me`, { token: m.token }))).toEqual(me);
      expect(await userEvents(m.id)).toEqual(["UserRegistered"]);
      const updated = ok(await call("PUT", `${V1}/users/me`, { token: m.token, body: { first_name: "Jane", last_name: null } }));
      expect(updated).toMatchObject({ first_name: "Jane", last_name: null, full_name: "Jane", username: null });
      expect(await userEvents(m.id)).toEqual(["UserRegistered", "UserProfileUpdated"]);
      problem(await call("GET", `${V1}/users/me`), 401);
    });
  });

  describe("reading and updating", () => {
    test("given unknown and malformed ids, when read, updated, deleted or given roles, then 404", async () => {
      const org = await newOrg();
      const role = await roleId(org.id, "user");
      for (const id of [Bun.randomUUIDv7(), "not-a-uuid", "12345", "00000000-0000-0000-0000-000000000000"]) {
        problem(await getUser(id, org.adminToken), 404);
        problem(await call("PUT", `${V1}/users/${id}`, { token: org.adminToken, body: { first_name: "x" } }), 404);
        problem(await call("DELETE", `${V1}/users/${id}`, { token: org.adminToken }), 404);
        problem(await call("POST", `${V1}/users/${id}/roles`, { token: org.adminToken, body: { role_id: role } }), 404);
        problem(await call("DELETE", `${V1}/users/${id}/roles`, { token: org.adminToken, body: { role_id: role } }), 404);
      }
    });

    test("given a user, when updated with bad fields, then 422 and it is unchanged", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      const before = ok(await getUser(m.id, org.adminToken));
      for (const body of [{ role: "superuser" }, { is_active: "no" }, { password: "New-Password-123!" }, { organization_id: org.id }, { email: "bad" }]) {
        problem(await call("PUT", `${V1}/users/${m.id}`, { token: org.adminToken, body }), 422);
      }
      expect(ok(await getUser(m.id, org.adminToken))).toEqual(before);
      expect(await userEvents(m.id)).toEqual(["UserRegistered"]);
    });

    test("given a user with a custom role, when its role is set to manager, then the system role is replaced and the custom role kept", async () => {
      const org = await newOrg();
      const custom = await customRole(org.id, ["audit.read"]);
      const m = await addMember(org, { roles: ["user", custom.name] });
      const r = ok(await call("PUT", `${V1}/users/${m.id}`, { token: org.adminToken, body: { role: "manager" } }));
      expect(r.roles).toEqual([custom.name, "manager"].sort());
      expect(r.role).toBe("manager");
      expect(r.permissions).toContain("user.update");
      expect(await userEvents(m.id)).toEqual(["UserRegistered", "RoleAssigned", "RoleRevoked"]);
      // Setting the role it already has records nothing.
      ok(await call("PUT", `${V1}/users/${m.id}`, { token: org.adminToken, body: { role: "manager" } }));
      expect((await userEvents(m.id)).length).toBe(3);
    });

    test("given a caller with user.update but not role.assign, when changing a role, then 403 and the role is unchanged", async () => {
      const org = await newOrg();
      const editorRole = await customRole(org.id, ["user.update", "user.read"]);
      const editor = await addMember(org, { roles: ["user", editorRole.name] });
      const m = await addMember(org);
      problem(await call("PUT", `${V1}/users/${m.id}`, { token: editor.token, body: { role: "manager", first_name: "Changed" } }), 403);
      expect(ok(await getUser(m.id, org.adminToken))).toMatchObject({ role: "user", first_name: "Mem" });
      expect(ok(await call("PUT", `${V1}/users/${m.id}`, { token: editor.token, body: { first_name: "Changed" } })).first_name).toBe("Changed");
    });

    test("given a manager, when promoting itself to admin or deactivating an admin, then 403 and nothing changes", async () => {
      const org = await newOrg();
      const mgr = await addMember(org, { role: "manager" });
      const admin2 = await addMember(org, { role: "admin" });
      problem(await call("PUT", `${V1}/users/${mgr.id}`, { token: mgr.token, body: { role: "admin" } }), 403);
      problem(await call("POST", `${V1}/users/${mgr.id}/roles`, { token: mgr.token, body: { role_id: await roleId(org.id, "admin") } }), 403);
      problem(await call("PUT", `${V1}/users/${admin2.id}`, { token: mgr.token, body: { is_active: false } }), 403);
      problem(await call("DELETE", `${V1}/users/${admin2.id}/roles`, { token: mgr.token, body: { role_id: await roleId(org.id, "admin") } }), 403);
      expect(ok(await getUser(mgr.id, org.adminToken)).roles).toEqual(["manager"]);
      expect(ok(await getUser(admin2.id, org.adminToken))).toMatchObject({ roles: ["admin"], is_active: true });
      // A manager still manages plain users.
      const plain = await addMember(org);
      expect(ok(await call("PUT", `${V1}/users/${plain.id}`, { token: mgr.token, body: { role: "manager" } })).role).toBe("manager");
    });

    test("given a logged-in user, when deactivated, then its token, refresh and login stop at once and stay stopped after reactivation", async () => {
      const org = await newOrg();
      const email = `${uniq()}@example.com`;
      ok(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email, password: PASSWORD } }), 201);
      const session = ok(await login(org, email));
      const id = session.user.id;
      ok(await call("GET", `${V1}/users/me`, { token: session.access_token }));
      const off = ok(await call("PUT", `${V1}/users/${id}`, { token: org.adminToken, body: { is_active: false } }));
      expect(off.is_active).toBe(false);
      problem(await call("GET", `${V1}/users/me`, { token: session.access_token }), 401);
      problem(await call("POST", `${V1}/auth/refresh`, { body: { refresh_token: session.refresh_token } }), 401);
      problem(await login(org, email), 401);
      const sessionEvents = await s.deps.store.readStream(`session-${decodeJwt(session.access_token).sid}`);
      expect(sessionEvents.map((e) => e.type)).toEqual(["SessionStarted", "SessionEnded"]);
      expect(sessionEvents[1].data.reason).toBe("user_deactivated");

      expect(ok(await call("PUT", `${V1}/users/${id}`, { token: org.adminToken, body: { is_active: true } })).is_active).toBe(true);
      problem(await call("GET", `${V1}/users/me`, { token: session.access_token }), 401);
      const again = ok(await login(org, email));
      ok(await call("GET", `${V1}/users/me`, { token: again.access_token }));
      expect(await userEvents(id)).toEqual(["UserRegistered", "UserDeactivated", "UserReactivated"]);
    });

    test("given an admin, when deactivating itself, then 422 and it stays active", async () => {
      const org = await newOrg();
      await addMember(org, { role: "admin" });
      problem(await call("PUT", `${V1}/users/${org.adminId}`, { token: org.adminToken, body: { is_active: false } }), 422);
      expect(ok(await call("GET", `${V1}/users/me`, { token: org.adminToken })).is_active).toBe(true);
    });

    test("given a user, when its e-mail is changed, then it logs in with the new one and the old one is free; a taken one is 409", async () => {
      const org = await newOrg();
      const a = await addMember(org);
      const b = await addMember(org);
      problem(await call("PUT", `${V1}/users/${a.id}`, { token: org.adminToken, body: { email: b.email.toUpperCase(), first_name: "Nope" } }), 409);
      expect(ok(await getUser(a.id, org.adminToken))).toMatchObject({ email: a.email, first_name: "Mem" });
      const fresh = `${uniq()}@example.com`;
      expect(ok(await call("PUT", `${V1}/users/${a.id}`, { token: org.adminToken, body: { email: fresh } })).email).toBe(fresh);
      ok(await login(org, fresh));
      problem(await login(org, a.email), 401);
      ok(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email: a.email, password: PASSWORD } }), 201);
    });
  });

  describe("deleting", () => {
    test("given a logged-in user, when deleted, then 404 afterwards, its token stops, and its e-mail and seat are free", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      const info = async () => ok(await call("GET", `${V1}/organizations/my/info`, { token: org.adminToken }));
      expect((await info()).user_count).toBe(2);
      expect(ok(await call("DELETE", `${V1}/users/${m.id}`, { token: org.adminToken }))).toEqual({ message: "Deleted" });
      problem(await getUser(m.id, org.adminToken), 404);
      problem(await call("DELETE", `${V1}/users/${m.id}`, { token: org.adminToken }), 404);
      problem(await call("GET", `${V1}/users/me`, { token: m.token }), 401);
      expect(idsOf(ok(await listUsers("", org.adminToken)).users)).toEqual([org.adminId]);
      expect((await info()).user_count).toBe(1);
      expect(await userEvents(m.id)).toEqual(["UserRegistered", "UserDeleted"]);
      const again = ok(await call("POST", `${V1}/users`, { token: org.adminToken, body: { email: m.email, password: PASSWORD } }), 201);
      expect(again.id).not.toBe(m.id);
    });

    test("given an admin, when deleting itself, then 422 and it still exists", async () => {
      const org = await newOrg();
      await addMember(org, { role: "admin" });
      const p = problem(await call("DELETE", `${V1}/users/${org.adminId}`, { token: org.adminToken }), 422);
      expect(p.detail).toContain("yourself");
      ok(await getUser(org.adminId, org.adminToken));
      expect(await userEvents(org.adminId)).toEqual(["UserRegistered"]);
    });

    test("given a manager, when deleting, then 403 (no user.delete) and the user remains", async () => {
      const org = await newOrg();
      const mgr = await addMember(org, { role: "manager" });
      const m = await addMember(org);
      problem(await call("DELETE", `${V1}/users/${m.id}`, { token: mgr.token }), 403);
      ok(await getUser(m.id, org.adminToken));
    });
  });

  describe("the last admin", () => {
    test("given an organization's only admin, when deleted, deactivated, demoted or stripped of admin, then 409 and it stays an active admin", async () => {
      const org = await newOrg();
      const admin = await roleId(org.id, "admin");
      problem(await call("DELETE", `${V1}/users/${org.adminId}`, { token: root }), 409);
      problem(await call("PUT", `${V1}/users/${org.adminId}`, { token: root, body: { is_active: false } }), 409);
      problem(await call("PUT", `${V1}/users/${org.adminId}`, { token: root, body: { role: "manager" } }), 409);
      problem(await call("PUT", `${V1}/users/${org.adminId}`, { token: org.adminToken, body: { role: "user", first_name: "Demoted" } }), 409);
      problem(await call("DELETE", `${V1}/users/${org.adminId}/roles`, { token: org.adminToken, body: { role_id: admin } }), 409);
      problem(await call("DELETE", `${V1}/users/${org.adminId}/roles`, { token: root, body: { role_ids: [admin] } }), 409);
      const me = ok(await call("GET", `${V1}/users/me`, { token: org.adminToken }));
      expect(me).toMatchObject({ role: "admin", roles: ["admin"], is_active: true, first_name: "Org" });
      expect(await userEvents(org.adminId)).toEqual(["UserRegistered"]);
      // Other changes to the last admin are fine.
      expect(ok(await call("PUT", `${V1}/users/${org.adminId}`, { token: org.adminToken, body: { role: "admin", last_name: "Boss" } })).last_name).toBe("Boss");
    });

    test("given two admins, when one is demoted, then the other becomes the last and is protected; an inactive admin does not count", async () => {
      const org = await newOrg();
      const second = await addMember(org, { role: "admin" });
      const demoted = ok(await call("PUT", `${V1}/users/${second.id}`, { token: org.adminToken, body: { role: "user" } }));
      expect(demoted.roles).toEqual(["user"]);
      problem(await call("PUT", `${V1}/users/${org.adminId}`, { token: root, body: { role: "user" } }), 409);

      const third = await addMember(org, { role: "admin" });
      ok(await call("PUT", `${V1}/users/${third.id}`, { token: org.adminToken, body: { is_active: false } }));
      problem(await call("DELETE", `${V1}/users/${org.adminId}`, { token: root }), 409);
      // Removing the inactive admin never leaves the organization without an active one.
      ok(await call("DELETE", `${V1}/users/${third.id}`, { token: org.adminToken }));
    });

    test("given two admins, when the super admin demotes, deactivates or deletes both at the same time, then exactly one succeeds and one active admin remains", async () => {
      for (const how of ["demote", "deactivate", "delete"] as const) {
        const org = await newOrg();
        const b = await addMember(org, { role: "admin" });
        const act = (target: string) =>
          how === "delete"
            ? call("DELETE", `${V1}/users/${target}`, { token: root })
            : call("PUT", `${V1}/users/${target}`, { token: root, body: how === "demote" ? { role: "user" } : { is_active: false } });
        const [x, y] = await Promise.all([act(org.adminId), act(b.id)]);
        expect([x.status, y.status].sort()).toEqual([200, 409]);
        const survivors = ok(await listUsers(`role=admin&is_active=true&organization_id=${org.id}`, root));
        expect(idsOf(survivors.users)).toEqual([x.status === 200 ? b.id : org.adminId]);
      }
    });

    test("given two admins, when they demote or delete each other at the same time, then exactly one wins and one active admin remains", async () => {
      for (const how of ["demote", "delete"] as const) {
        const org = await newOrg();
        const b = await addMember(org, { role: "admin" });
        const act = (token: string, target: string) =>
          how === "delete" ? call("DELETE", `${V1}/users/${target}`, { token }) : call("PUT", `${V1}/users/${target}`, { token, body: { role: "user" } });
        const [x, y] = await Promise.all([act(org.adminToken, b.id), act(b.token, org.adminId)]);
        // The loser is refused by the guard (409) or, when the winner's change landed
        // before its request was authorized, as the non-admin or deleted user it now is.
        expect([x.status, y.status].filter((st) => st === 200).length).toBe(1);
        for (const r of [x, y]) if (r.status !== 200) expect([401, 403, 409]).toContain(r.status);
        const survivors = ok(await listUsers(`role=admin&is_active=true&organization_id=${org.id}`, root));
        expect(idsOf(survivors.users)).toEqual([x.status === 200 ? org.adminId : b.id]);
      }
    });
  });

  describe("roles", () => {
    test("given roles of another organization or unknown ids, when assigned or revoked, then 404 and the user is unchanged", async () => {
      const a = await newOrg();
      const b = await newOrg();
      const m = await addMember(a);
      const foreign = await roleId(b.id, "manager");
      const own = await roleId(a.id, "manager");
      for (const body of [{ role_id: foreign }, { role_ids: [own, foreign] }, { role_id: Bun.randomUUIDv7() }, { role_id: "manager" }]) {
        problem(await call("POST", `${V1}/users/${m.id}/roles`, { token: a.adminToken, body }), 404);
        problem(await call("DELETE", `${V1}/users/${m.id}/roles`, { token: a.adminToken, body }), 404);
      }
      for (const body of [{}, { role_ids: [] }, { role: "manager" }]) {
        problem(await call("POST", `${V1}/users/${m.id}/roles`, { token: a.adminToken, body }), 422);
      }
      expect(ok(await getUser(m.id, a.adminToken)).roles).toEqual(["user"]);
      expect(await userEvents(m.id)).toEqual(["UserRegistered"]);
    });

    test("given a plain user, when it assigns itself a role, then 403", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      problem(await call("POST", `${V1}/users/${m.id}/roles`, { token: m.token, body: { role_id: await roleId(org.id, "manager") } }), 403);
      expect(await userEvents(m.id)).toEqual(["UserRegistered"]);
    });

    test("given an assignment and a revocation, when the stream is read, then RoleAssigned and RoleRevoked carry the role and the actor", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      const manager = await roleId(org.id, "manager");
      ok(await call("POST", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_ids: [manager, manager] } }));
      // Assigning a role already held records nothing.
      ok(await call("POST", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: manager } }));
      ok(await call("DELETE", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: manager } }));
      const events = await s.deps.store.readStream(`user-${m.id}`);
      expect(events.map((e) => e.type)).toEqual(["UserRegistered", "RoleAssigned", "RoleRevoked"]);
      for (const e of events.slice(1)) {
        expect(e.data).toEqual({ user_id: m.id, organization_id: org.id, role_id: manager, role_name: "manager" });
        expect(e.metadata.actor).toEqual({ type: "user", id: org.adminId });
        expect(e.metadata.organization_id).toBe(org.id);
      }
    });

    test("given a manager role assigned to a plain user, when it acts next, then it has the manager's permissions at once", async () => {
      const org = await newOrg();
      const m = await addMember(org);
      problem(await call("POST", `${V1}/users`, { token: m.token, body: { email: `${uniq()}@example.com`, password: PASSWORD } }), 403);
      ok(await call("POST", `${V1}/users/${m.id}/roles`, { token: org.adminToken, body: { role_id: await roleId(org.id, "manager") } }));
      ok(await call("POST", `${V1}/users`, { token: m.token, body: { email: `${uniq()}@example.com`, password: PASSWORD } }), 201);
    });
  });

  describe("tenancy", () => {
    test("given two organizations, when org A's admin addresses org B's user, then 404 everywhere and B's user is unchanged", async () => {
      const a = await newOrg();
      const b = await newOrg();
      const victim = await addMember(b);
      const aRole = await roleId(a.id, "manager");
      const bRole = await roleId(b.id, "manager");
      problem(await getUser(victim.id, a.adminToken), 404);
      problem(await call("PUT", `${V1}/users/${victim.id}`, { token: a.adminToken, body: { is_active: false } }), 404);
      problem(await call("DELETE", `${V1}/users/${victim.id}`, { token: a.adminToken }), 404);
      for (const role_id of [aRole, bRole]) {
        problem(await call("POST", `${V1}/users/${victim.id}/roles`, { token: a.adminToken, body: { role_id } }), 404);
        problem(await call("DELETE", `${V1}/users/${victim.id}/roles`, { token: a.adminToken, body: { role_id } }), 404);
      }
      for (const q of ["", `search=${encodeURIComponent(victim.email)}`, "size=1000", "role=user"]) {
        expect(idsOf(ok(await listUsers(q, a.adminToken)).users)).not.toContain(victim.id);
      }
      problem(await listUsers(`organization_id=${b.id}`, a.adminToken), 404);
      expect(ok(await listUsers(`organization_id=${a.id}`, a.adminToken)).total).toBe(1);
      expect(ok(await getUser(victim.id, b.adminToken))).toMatchObject({ is_active: true, roles: ["user"] });
      ok(await call("GET", `${V1}/users/me`, { token: victim.token }));
      expect(await userEvents(victim.id)).toEqual(["UserRegistered"]);
    });

    test("given the super admin, when listing, then every tenant's users are there, one organization with organization_id, never super admins", async () => {
      const a = await newOrg();
      const b = await newOrg();
      const all = ok(await listUsers("size=1000", root));
      expect(idsOf(all.users)).toEqual(expect.arrayContaining([a.adminId, b.adminId]));
      for (const u of all.users) expect(u.role).not.toBe("super_admin");
      const onlyA = ok(await listUsers(`organization_id=${a.id}`, root));
      expect(idsOf(onlyA.users)).toEqual([a.adminId]);
      problem(await listUsers(`organization_id=${Bun.randomUUIDv7()}`, root), 404);
      expect(ok(await getUser(b.adminId, root)).organization_id).toBe(b.id);
      const me = ok(await call("GET", `${V1}/users/me`, { token: root }));
      expect(me.role).toBe("super_admin");
      problem(await getUser(me.id, root), 404);
    });

    test("given an organization still being onboarded, when its users are looked for, then they are invisible", async () => {
      const ctx = systemContext();
      const tag = uniq("p");
      const org = await createOrganization(s.deps, ctx, { name: `Pending ${tag}`, slug: `pending-${tag}` }, { provisioning: true });
      // The onboarding registers its users straight on their streams, as this does.
      const userId = Bun.randomUUIDv7();
      const { position } = await handleCommand(
        s.deps.store,
        stream.user(userId),
        user,
        {
          type: "RegisterUser",
          userId,
          organizationId: org.id,
          profile: { email: `${tag}@example.com`, username: null, first_name: "Pending", last_name: null },
          passwordSealed: sealPassword(s.deps, userId, await hashPassword(PASSWORD)),
          isActive: true,
          isVerified: true,
          roleIds: [],
          source: "onboard",
        },
        { ...ctx, organizationId: org.id },
      );
      await settle(s.deps, position);
      expect(s.deps.security.users.get(userId)?.organizationId).toBe(org.id);
      expect(idsOf(ok(await listUsers("size=1000", root)).users)).not.toContain(userId);
      problem(await listUsers(`organization_id=${org.id}`, root), 404);
      problem(await getUser(userId, root), 404);
      problem(await call("PUT", `${V1}/users/${userId}`, { token: root, body: { first_name: "x" } }), 404);
      problem(await call("POST", `${V1}/users`, { token: root, body: { email: `${uniq()}@example.com`, password: PASSWORD, organization_id: org.id } }), 404);
    });
  });

  describe("secrets", () => {
    test("given every response of this suite, when scanned, then none holds a password hash or a password field", () => {
      expect(seen.length).toBeGreaterThan(100);
      const keys = new Set<string>();
      const walk = (v: unknown) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (keys.add(k), walk(x));
      };
      for (const text of seen) {
        expect(text).not.toContain("$argon2");
        expect(text).not.toContain("password_sealed");
        expect(text).not.toContain("passwordSealed");
        if (text) walk(JSON.parse(text));
      }
      for (const k of keys) expect(k.toLowerCase()).not.toContain("password");
    });
  });
});
