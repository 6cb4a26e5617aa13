/**
 * POST /organizations/onboard over HTTP: the seed 000 example under /api and /api/v1 and
 * its users logging in, all-or-nothing (validation before any write; compensation after a
 * failure midway), super admin only, and Idempotency-Key (replay, mismatch, in progress,
 * key validation, a failed attempt giving its key back).
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import type { EventStore, NewEvent } from "../../src/eventstore/port";
import { idempotencyStreamId, parseIdempotencyKey, redactSecrets } from "../../src/handlers/idempotency";
import { idempotency, type IdempotencyEvent, type IdempotencyState } from "../../src/domain/idempotency";
import { DomainError } from "../../src/domain/errors";
import { expectProblem, HOOK_TIMEOUT_MS, ISO_UTC, registerMember, superAdminIdOf, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
/** Tests that onboard several times (argon2id per user): generous on a loaded machine. */
const SLOW_MS = 120_000;

const ADMIN_PASSWORD = "StrongPassword123!";
const ANALYST_PASSWORD = "AnotherPassword456!";

/** Seed 000's body, as written when `tag` is empty; otherwise with its names and e-mails made unique. */
function seedBody(tag = "") {
  const domain = tag ? `innovatecorp-${tag}.com` : "innovatecorp.com";
  return {
    organization: { name: tag ? `Innovate Corp ${tag}` : "Innovate Corp", domain },
    roles: [
      { name: "Data Analyst", description: "Can view dashboards and run queries." },
      { name: "Project Manager", description: "Manages projects and users." },
    ],
    users: [
      { email: `admin@${domain}`, password: ADMIN_PASSWORD, first_name: "Org", last_name: "Admin", is_admin: true },
      { email: `analyst@${domain}`, password: ANALYST_PASSWORD, first_name: "Data", last_name: "Person", is_admin: false, roles: ["Data Analyst"] },
    ],
  };
}

type Body = ReturnType<typeof seedBody>;

describe.each(serviceKinds())("onboarding (%s)", (kind) => {
  let s: TestService;
  let token: string;
  let superAdminId: string;

  const onboard = (body: unknown, init: { base?: string; key?: string; token?: string } = {}) =>
    s.json("POST", `${init.base ?? "/api/v1"}/organizations/onboard`, {
      token: init.token ?? token,
      body,
      headers: init.key !== undefined ? { "idempotency-key": init.key } : undefined,
    });
  const rawOnboard = (body: unknown, key?: string) =>
    s.request("POST", "/api/v1/organizations/onboard", { token, body, headers: key !== undefined ? { "idempotency-key": key } : undefined });
  const login = (email: string, password: string, organization?: string) =>
    s.json("POST", "/api/v1/auth/login", { body: { email, password, ...(organization && { organization }) } });
  const listed = async (search: string) => (await s.json("GET", `/api/v1/organizations?search=${encodeURIComponent(search)}&size=1000`, { token })).body;
  /** Ids of every organization ever created with this name (the event store remembers the invisible ones). */
  const createdIds = async (name: string) =>
    (await s.deps.store.readAll({ types: ["OrganizationCreated"] })).filter((e) => e.data.name === name).map((e) => e.data.organization_id as string);

  /** Replaces the store's append for the duration of `fn`; `intercept` may throw or wait before the real append. */
  async function withAppend<T>(intercept: (streamId: string, events: readonly NewEvent[]) => void | Promise<void>, fn: () => Promise<T>): Promise<T> {
    const store = s.deps.store as EventStore;
    const original = store.append;
    store.append = async function (this: EventStore, streamId, events, expected) {
      await intercept(streamId, events);
      return original.call(store, streamId, events, expected);
    };
    try {
      return await fn();
    } finally {
      store.append = original;
    }
  }
  const failOnNth = (type: string, nth: number) => {
    let seen = 0;
    return (_: string, events: readonly NewEvent[]) => {
      if (events.some((e) => e.type === type) && ++seen === nth) throw new Error(`injected failure at ${type} #${nth}`);
    };
  };

  beforeAll(async () => {
    s = await startService(kind);
    token = await s.superAdminToken();
    superAdminId = superAdminIdOf(token);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  describe.each([
    ["/api", ""],
    ["/api/v1", uniq("v")],
  ])("seed 000 example under %s", (base, tag) => {
    const body = seedBody(tag);
    const domain = body.organization.domain;
    let res: { status: number; body: any; headers: Headers };
    let before: bigint;

    test("given the seed's body, when POSTed by the super admin, then 201 with the organization, its roles and users", async () => {
      before = await s.deps.store.headPosition();
      res = await onboard(body, { base });
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
      expect(Object.keys(res.body).sort()).toEqual(["organization", "roles", "users"]);
      expect(res.body.organization).toMatchObject({
        name: body.organization.name,
        domain,
        slug: tag ? `innovate-corp-${tag}` : "innovate-corp",
        registration_policy: "domain",
        is_active: true,
        is_system: false,
        max_users: null,
      });
      expect(res.body.organization.id).toMatch(UUID_V7);
      expect(res.body.organization.created_at).toMatch(ISO_UTC);

      const roles = res.body.roles as Array<{ id: string; name: string; is_system: boolean; description: string | null; organization_id: string }>;
      expect(roles.map((r) => r.name).sort()).toEqual(["Data Analyst", "Project Manager", "admin", "manager", "user"].sort());
      for (const r of roles) {
        expect(r.id).toMatch(UUID_V7);
        expect(r.organization_id).toBe(res.body.organization.id);
        expect(r.is_system).toBe(["admin", "manager", "user"].includes(r.name));
      }
      expect(roles.find((r) => r.name === "Data Analyst")!.description).toBe("Can view dashboards and run queries.");

      const [admin, analyst] = res.body.users;
      expect(admin).toMatchObject({ email: `admin@${domain}`, first_name: "Org", last_name: "Admin", roles: ["admin"], role: "admin", organization_id: res.body.organization.id, is_active: true });
      expect(analyst).toMatchObject({ email: `analyst@${domain}`, first_name: "Data", last_name: "Person", roles: ["Data Analyst"], organization_id: res.body.organization.id });
      expect(analyst.role_ids).toEqual([roles.find((r) => r.name === "Data Analyst")!.id]);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain(ADMIN_PASSWORD);
      expect(text).not.toContain(ANALYST_PASSWORD);
      expect(text.toLowerCase()).not.toContain("password");
    });

    test("given the onboarding, when its events are read, then created (provisioning), roles, users, onboarded, in that order, without a password in clear", async () => {
      const orgId = res.body.organization.id;
      const events = (await s.deps.store.readAll({ fromPosition: before })).filter((e) => e.metadata.correlation_id === res.headers.get("x-request-id"));
      const main = events.map((e) => e.type).filter((t) => ["OrganizationCreated", "RoleCreated", "UserRegistered", "OrganizationOnboarded"].includes(t));
      expect(main).toEqual(["OrganizationCreated", "RoleCreated", "RoleCreated", "RoleCreated", "RoleCreated", "RoleCreated", "UserRegistered", "UserRegistered", "OrganizationOnboarded"]);
      const created = events.find((e) => e.type === "OrganizationCreated")!;
      expect(created.data).toMatchObject({ organization_id: orgId, provisioning: true });
      const onboarded = events.find((e) => e.type === "OrganizationOnboarded")!;
      expect(onboarded.data.user_ids).toEqual(res.body.users.map((u: { id: string }) => u.id));
      expect([...(onboarded.data.role_ids as string[])].sort()).toEqual(res.body.roles.map((r: { id: string }) => r.id).sort());
      for (const e of events) {
        expect(e.metadata.actor).toEqual({ type: "user", id: superAdminId });
        const json = JSON.stringify(e.data);
        expect(json).not.toContain(ADMIN_PASSWORD);
        expect(json).not.toContain(ANALYST_PASSWORD);
      }
      expect((await s.deps.store.readStream(`organization-${orgId}`)).map((e) => e.type)).toEqual(["OrganizationCreated", "OrganizationOnboarded"]);
    });

    test("given the onboarded organization, when its admin and analyst log in, then they hold admin and Data Analyst", async () => {
      const admin = await login(`admin@${domain}`, ADMIN_PASSWORD, domain);
      expect({ status: admin.status, body: admin.body }).toMatchObject({ status: 200 });
      expect(admin.body.user).toMatchObject({ email: `admin@${domain}`, organization_id: res.body.organization.id, roles: ["admin"] });
      expect(admin.body.user.permissions).toContain("user.create");
      const analyst = await login(`analyst@${domain}`, ANALYST_PASSWORD, domain);
      expect({ status: analyst.status, body: analyst.body }).toMatchObject({ status: 200 });
      expect(analyst.body.user.roles).toEqual(["Data Analyst"]);
      expect(analyst.body.user.permissions).toEqual([]);
      // The seed logs in with `organization` as the domain; the slug and the name work too.
      expect((await login(`admin@${domain}`, ADMIN_PASSWORD, res.body.organization.slug)).status).toBe(200);
      const me = await s.json("GET", "/api/v1/auth/me", { token: admin.body.access_token });
      expect(me.status).toBe(200);
      expect(me.body.roles).toEqual(["admin"]);
    });

    test("given the onboarded organization, when listed and fetched, then it is visible", async () => {
      const orgId = res.body.organization.id;
      expect((await listed(body.organization.name)).organizations.map((o: { id: string }) => o.id)).toEqual([orgId]);
      const got = await s.json("GET", `/api/v1/organizations/${orgId}`, { token });
      expect(got.status).toBe(200);
      expect(got.body).toEqual(res.body.organization);
    });
  });

  describe("validation before any write", () => {
    const bad: Array<[string, (b: Body) => unknown, string]> = [
      ["an unknown permission", (b) => ({ ...b, roles: [{ ...b.roles[0], permissions: ["query.execute", "rockets.launch"] }, b.roles[1]] }), "/body/roles/0/permissions/1"],
      ["a platform permission", (b) => ({ ...b, roles: [{ ...b.roles[0], permissions: ["admin.system"] }, b.roles[1]] }), "/body/roles/0/permissions/0"],
      ["an unknown role name on a user", (b) => ({ ...b, users: [b.users[0], { ...b.users[1], roles: ["Data Analyst", "Astronaut"] }] }), "/body/users/1/roles/1"],
      ["a role name in another case", (b) => ({ ...b, users: [b.users[0], { ...b.users[1], roles: ["data analyst"] }] }), "/body/users/1/roles/0"],
      ["a custom role named like a system role", (b) => ({ ...b, roles: [{ name: "admin" }] }), "/body/roles/0/name"],
      ["a role named twice", (b) => ({ ...b, roles: [b.roles[0], { ...b.roles[0] }] }), "/body/roles/1/name"],
      ["an e-mail given twice (in another case)", (b) => ({ ...b, users: [b.users[0], { ...b.users[1], email: b.users[0].email.toUpperCase() }] }), "/body/users/1/email"],
      ["a too short password", (b) => ({ ...b, users: [b.users[0], { ...b.users[1], password: "short" }] }), "/body/users/1/password"],
      ["a common password", (b) => ({ ...b, users: [b.users[0], { ...b.users[1], password: "password123" }] }), "/body/users/1/password"],
      ["more users than max_users", (b) => ({ ...b, organization: { ...b.organization, max_users: 1 } }), "/body/users"],
      ["an unknown top-level field", (b) => ({ ...b, extra: true }), "/body"],
      ["an unknown organization field", (b) => ({ ...b, organization: { ...b.organization, is_system: true } }), "/body/organization"],
      ["an unknown role field", (b) => ({ ...b, roles: [{ ...b.roles[0], color: "red" }] }), "/body/roles/0"],
      ["an unknown user field", (b) => ({ ...b, users: [{ ...b.users[0], is_super_admin: true }] }), "/body/users/0"],
      ["a user without a password", (b) => ({ ...b, users: [{ email: b.users[0].email }] }), "/body/users/0"],
      ["an invalid domain", (b) => ({ ...b, organization: { ...b.organization, domain: "not a domain" } }), "/body/organization/domain"],
      ["a missing organization", (b) => ({ roles: b.roles, users: b.users }), "/body"],
    ];

    for (const [what, mutate, path] of bad) {
      test(`given ${what}, when onboarding, then 422 naming ${path} and no event is written`, async () => {
        const body = seedBody(uniq("bad"));
        const before = await s.deps.store.headPosition();
        const { body: problem } = await expectProblem(await rawOnboard(mutate(body)), 422);
        expect(problem.errors.map((e: { path: string }) => e.path).some((p: string) => p === path || p.startsWith(`${path}/`))).toBe(true);
        expect(await s.deps.store.headPosition()).toBe(before);
        expect((await listed(body.organization.name)).total).toBe(0);
      });
    }

    test("given several problems, when onboarding, then every one is reported at once", async () => {
      const b = seedBody(uniq("many"));
      const body = {
        ...b,
        roles: [{ ...b.roles[0], permissions: ["nope.never"] }],
        users: [b.users[0], { ...b.users[1], password: "short", roles: ["Ghost"] }],
      };
      const { body: problem } = await expectProblem(await rawOnboard(body), 422);
      expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual(["/body/roles/0/permissions/0", "/body/users/1/password", "/body/users/1/roles/0"]);
    });

    test("given permissions written resource:action in any case, when onboarding, then they are stored as resource.action", async () => {
      const b = seedBody(uniq("perm"));
      const res = await onboard({ ...b, roles: [{ ...b.roles[0], permissions: ["Query:Execute", "schema.read", "query.execute"] }, b.roles[1]] });
      expect(res.status).toBe(201);
      expect(res.body.roles.find((r: { name: string }) => r.name === "Data Analyst").permissions).toEqual(["query.execute", "schema.read"]);
      const analyst = await login(b.users[1].email, ANALYST_PASSWORD, b.organization.domain);
      expect(analyst.body.user.permissions).toEqual(["query.execute", "schema.read"]);
    });

    test("given a user with neither is_admin nor roles, when onboarded, then the user holds `user`; named system roles are honoured", async () => {
      const b = seedBody(uniq("plain"));
      const res = await onboard({
        ...b,
        users: [
          { email: `plain@${b.organization.domain}`, password: "Plain-Password-123!" },
          { email: `boss@${b.organization.domain}`, password: "Boss-Password-123!", is_admin: true, roles: ["manager", "Project Manager"] },
        ],
      });
      expect(res.status).toBe(201);
      expect(res.body.users[0].roles).toEqual(["user"]);
      expect([...res.body.users[1].roles].sort()).toEqual(["Project Manager", "admin", "manager"]);
    });
  });

  describe("who may onboard", () => {
    test("given an organization member, when onboarding, then 403 and nothing is written; without a token 401", async () => {
      const org = (await s.json("POST", "/api/v1/organizations", { token, body: { name: `Members ${uniq()}` } })).body;
      const member = await registerMember(s, org);
      const before = await s.deps.store.headPosition();
      await expectProblem(await s.request("POST", "/api/v1/organizations/onboard", { token: member.token, body: seedBody(uniq("m")) }), 403);
      await expectProblem(await s.request("POST", "/api/v1/organizations/onboard", { body: seedBody(uniq("m")) }), 401);
      // Only the refusals themselves are recorded (AccessDenied); no onboarding event.
      await s.deps.accessDenied.flush();
      const written = await s.deps.store.readAll({ fromPosition: before });
      expect(written.map((e) => e.type).filter((t) => t !== "AccessDenied")).toEqual([]);
      expect(written.length).toBeGreaterThan(0);
    });
  });

  describe("failure midway", () => {
    const points: Array<[string, number, string]> = [
      ["RoleCreated", 5, "the second custom role"],
      ["UserRegistered", 2, "the second user"],
      ["OrganizationOnboarded", 1, "the completion"],
    ];

    for (const [type, nth, what] of points) {
      test(`given a failure at ${what}, when onboarding, then nothing is visible, no one can log in and a retry with the same names succeeds`, async () => {
        const body = seedBody(uniq("fail"));
        const domain = body.organization.domain;
        const res = await withAppend(failOnNth(type, nth), () => onboard(body));
        expect(res.status).toBeGreaterThanOrEqual(500);
        expect(JSON.stringify(res.body)).not.toContain("injected");

        const [orgId] = await createdIds(body.organization.name);
        expect(orgId).toBeDefined();
        expect((await listed(body.organization.name)).total).toBe(0);
        expect((await listed(domain)).total).toBe(0);
        await expectProblem(await s.request("GET", `/api/v1/organizations/${orgId}`, { token }), 404);
        const orgEvents = (await s.deps.store.readStream(`organization-${orgId}`)).map((e) => e.type);
        expect(orgEvents[0]).toBe("OrganizationCreated");
        expect(orgEvents.at(-1)).toBe("OrganizationDeleted");
        for (const u of body.users) {
          await expectProblem(await s.request("POST", "/api/v1/auth/login", { body: { email: u.email, password: u.password, organization: domain } }), 401);
          await expectProblem(await s.request("POST", "/api/v1/auth/login", { body: { email: u.email, password: u.password } }), 401);
        }
        // Every user and custom role that was written was deleted again.
        const since = await s.deps.store.readAll({ types: ["UserRegistered", "UserDeleted", "RoleCreated", "RoleDeleted"] });
        const mine = since.filter((e) => e.data.organization_id === orgId);
        const registered = mine.filter((e) => e.type === "UserRegistered").map((e) => e.data.user_id);
        expect(mine.filter((e) => e.type === "UserDeleted").map((e) => e.data.user_id).sort()).toEqual([...registered].sort());
        const custom = mine.filter((e) => e.type === "RoleCreated" && !e.data.is_system).map((e) => e.data.role_id);
        expect(mine.filter((e) => e.type === "RoleDeleted").map((e) => e.data.role_id).sort()).toEqual([...custom].sort());

        const retry = await onboard(body);
        expect({ status: retry.status, body: retry.body }).toMatchObject({ status: 201 });
        expect(retry.body.organization.id).not.toBe(orgId);
        expect(retry.body.organization).toMatchObject({ name: body.organization.name, domain });
        expect((await login(body.users[1].email, ANALYST_PASSWORD, domain)).status).toBe(200);
        expect((await listed(body.organization.name)).organizations.map((o: { id: string }) => o.id)).toEqual([retry.body.organization.id]);
      }, SLOW_MS);
    }

    test("given a taken organization name, when onboarding, then 409 and nothing of it remains", async () => {
      const body = seedBody(uniq("taken"));
      expect((await s.json("POST", "/api/v1/organizations", { token, body: { name: body.organization.name } })).status).toBe(201);
      await expectProblem(await rawOnboard(body), 409);
      for (const u of body.users) expect((await login(u.email, u.password)).status).toBe(401);
      // The domain claimed before the refusal was given back.
      const other = { ...body, organization: { ...body.organization, name: `${body.organization.name} two` } };
      expect((await onboard(other)).status).toBe(201);
    }, SLOW_MS);
  });

  describe("Idempotency-Key", () => {
    test("given a key, when the same onboarding is sent twice, then the second returns the first response and creates nothing", async () => {
      const body = seedBody(uniq("idem"));
      const key = `onboard-${uniq()}`;
      const first = await rawOnboard(body, key);
      const firstText = await first.text();
      expect(first.status).toBe(201);
      expect(first.headers.get("idempotent-replayed")).toBeNull();
      const head = await s.deps.store.headPosition();
      const second = await rawOnboard(body, key);
      expect(second.status).toBe(201);
      expect(await second.text()).toBe(firstText);
      expect(second.headers.get("idempotent-replayed")).toBe("true");
      expect(await s.deps.store.headPosition()).toBe(head);
      // Under /api too, and with the body's keys in another order: the same request.
      const reordered = { users: body.users, roles: body.roles, organization: body.organization };
      const third = await onboard(reordered, { base: "/api", key });
      expect(third.status).toBe(201);
      expect(third.body).toEqual(JSON.parse(firstText));
      expect(await createdIds(body.organization.name)).toEqual([JSON.parse(firstText).organization.id]);
      expect((await listed(body.organization.name)).total).toBe(1);

      // The stream holds the request's keyed hash and the response: no password, no key.
      const events = await s.deps.store.readStream(idempotencyStreamId(superAdminId, key));
      expect(events.map((e) => e.type)).toEqual(["IdempotentRequestStarted", "IdempotentRequestCompleted"]);
      expect(events[1].data).toMatchObject({ status: 201, body: firstText });
      const stored = JSON.stringify(events.map((e) => e.data));
      expect(stored).not.toContain(ADMIN_PASSWORD);
      expect(stored).not.toContain(ANALYST_PASSWORD);
      expect(stored).not.toContain(key);
    }, SLOW_MS);

    test("given a used key, when sent with a different body, then 422 and nothing is created", async () => {
      const body = seedBody(uniq("idem"));
      const key = `onboard-${uniq()}`;
      expect((await onboard(body, { key })).status).toBe(201);
      const changed = { ...body, organization: { ...body.organization, name: `${body.organization.name} changed` } };
      const { body: problem } = await expectProblem(await rawOnboard(changed, key), 422);
      expect(problem.detail).toContain("Idempotency-Key");
      expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(["/headers/idempotency-key"]);
      expect(await createdIds(changed.organization.name)).toEqual([]);
      // A different password is a different request too.
      const otherPassword = { ...body, users: [body.users[0], { ...body.users[1], password: "Yet-Another-Password-789!" }] };
      await expectProblem(await rawOnboard(otherPassword, key), 422);
    }, SLOW_MS);

    test("given a request in progress, when the same key arrives again, then 409 in progress; once done, it replays", async () => {
      const body = seedBody(uniq("slow"));
      const key = `onboard-${uniq()}`;
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let reached = false;
      const pending = withAppend(
        async (_, events) => {
          if (events.some((e) => e.type === "OrganizationOnboarded")) {
            reached = true;
            await gate;
          }
        },
        async () => {
          const first = onboard(body, { key });
          const deadline = Date.now() + 60_000;
          while (!reached && Date.now() < deadline) await Bun.sleep(10);
          expect(reached).toBe(true);
          const during = await s.request("POST", "/api/v1/organizations/onboard", { token, body, headers: { "idempotency-key": key } });
          open();
          return { first: await first, during };
        },
      );
      const { first, during } = await pending;
      const { body: problem } = await expectProblem(during, 409);
      expect(problem.detail).toContain("in progress");
      expect(during.headers.get("retry-after")).toBe("1");
      expect(first.status).toBe(201);
      const after = await onboard(body, { key });
      expect(after.status).toBe(201);
      expect(after.body).toEqual(first.body);
      expect((await createdIds(body.organization.name)).length).toBe(1);
    }, SLOW_MS);

    test("given two concurrent requests with one key, when they race, then one organization: one 201 and one 409 (or the same 201 twice if the second came after)", async () => {
      const body = seedBody(uniq("race"));
      const key = `onboard-${uniq()}`;
      const results = await Promise.all([onboard(body, { key }), onboard(body, { key })]);
      const statuses = results.map((r) => r.status).sort();
      if (statuses[1] === 409) {
        expect(statuses).toEqual([201, 409]);
      } else {
        expect(statuses).toEqual([201, 201]);
        expect(results[0].body).toEqual(results[1].body);
      }
      expect((await createdIds(body.organization.name)).length).toBe(1);
      expect((await listed(body.organization.name)).total).toBe(1);
    }, SLOW_MS);

    test("given a first attempt that failed, when retried with the same key, then it runs again and succeeds", async () => {
      const body = seedBody(uniq("again"));
      const key = `onboard-${uniq()}`;
      const failed = await withAppend(failOnNth("UserRegistered", 1), () => onboard(body, { key }));
      expect(failed.status).toBeGreaterThanOrEqual(500);
      const retry = await onboard(body, { key });
      expect(retry.status).toBe(201);
      expect((await login(body.users[0].email, ADMIN_PASSWORD, body.organization.domain)).status).toBe(200);
      const types = (await s.deps.store.readStream(idempotencyStreamId(superAdminId, key))).map((e) => e.type);
      expect(types).toEqual(["IdempotentRequestStarted", "IdempotentRequestAbandoned", "IdempotentRequestStarted", "IdempotentRequestCompleted"]);
    }, SLOW_MS);

    test("given an invalid request with a key, when refused, then the key stays free for the corrected request", async () => {
      const body = seedBody(uniq("fix"));
      const key = `onboard-${uniq()}`;
      await expectProblem(await rawOnboard({ ...body, users: [{ ...body.users[0], password: "short" }] }, key), 422);
      expect((await onboard(body, { key })).status).toBe(201);
    }, SLOW_MS);

    test("given keys that are empty, too long or not printable ASCII, when sent, then 422 naming the header and nothing is written", async () => {
      const body = seedBody(uniq("keys"));
      const before = await s.deps.store.headPosition();
      for (const key of ["", "   ", "k".repeat(256), "caf\u00e9"]) {
        const { body: problem } = await expectProblem(await rawOnboard(body, key), 422);
        expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(["/headers/idempotency-key"]);
      }
      expect(await s.deps.store.headPosition()).toBe(before);
      // 255 printable characters, spaces and symbols included, are fine.
      const longest = `${"k".repeat(250)} !~{}`;
      expect((await onboard(body, { key: longest })).status).toBe(201);
    }, SLOW_MS);
  });
});

/** The key's decider, pure: what the API tests cannot reach in time (lease and retention expiry). */
describe("idempotency decider", () => {
  const t0 = new Date("2030-01-01T00:00:00Z");
  const at = (ms: number) => new Date(t0.getTime() + ms);
  const start = (attemptId: string, ms: number, requestHash = "h1") =>
    ({ type: "StartRequest", attemptId, operation: "op", requestHash, at: at(ms), leaseMs: 1000, retentionMs: 10_000 }) as const;
  const fold = (events: IdempotencyEvent[]): IdempotencyState => events.reduce(idempotency.evolve, idempotency.initialState());
  const kindOf = (fn: () => unknown) => {
    try {
      fn();
      return "ok";
    } catch (err) {
      return err instanceof DomainError ? err.kind : "other";
    }
  };

  test("given an attempt in progress, when started again within its lease, then conflict; past it, a new attempt takes over and the old one cannot complete", () => {
    const first = idempotency.decide(start("a", 0), fold([]));
    expect(first.map((e) => e.type)).toEqual(["IdempotentRequestStarted"]);
    expect(kindOf(() => idempotency.decide(start("b", 500), fold(first)))).toBe("conflict");
    expect(kindOf(() => idempotency.decide(start("b", 500, "h2"), fold(first)))).toBe("validation");
    const takeover = idempotency.decide(start("b", 1000), fold(first));
    expect(takeover.map((e) => e.type)).toEqual(["IdempotentRequestStarted"]);
    const state = fold([...first, ...takeover]);
    expect(kindOf(() => idempotency.decide({ type: "CompleteRequest", attemptId: "a", status: 201, body: "{}", at: at(1200) }, state))).toBe("conflict");
    expect(idempotency.decide({ type: "AbandonRequest", attemptId: "a", reason: "error" }, state)).toEqual([]);
  });

  test("given a completed request, when started again, then nothing to do within retention (replay), a new attempt after it", () => {
    const events = [...idempotency.decide(start("a", 0), fold([]))];
    events.push(...idempotency.decide({ type: "CompleteRequest", attemptId: "a", status: 201, body: '{"x":1}', at: at(100) }, fold(events)));
    const done = fold(events);
    expect(done).toMatchObject({ status: "completed", response: { status: 201, body: '{"x":1}' } });
    expect(idempotency.decide(start("b", 5000), done)).toEqual([]);
    expect(kindOf(() => idempotency.decide(start("b", 5000, "h2"), done))).toBe("validation");
    expect(idempotency.decide(start("b", 10_100, "h2"), done).map((e) => e.type)).toEqual(["IdempotentRequestStarted"]);
  });

  test("given an abandoned attempt, when started again, then the key is free", () => {
    const events = [...idempotency.decide(start("a", 0), fold([]))];
    events.push(...idempotency.decide({ type: "AbandonRequest", attemptId: "a", reason: "validation" }, fold(events)));
    expect(fold(events)).toEqual({ status: "free" });
    expect(idempotency.decide(start("b", 10, "h2"), fold(events)).map((e) => e.type)).toEqual(["IdempotentRequestStarted"]);
  });

  test("given header values, when parsed, then absent is null and only 1..255 printable ASCII characters pass", () => {
    expect(parseIdempotencyKey(null)).toBeNull();
    expect(parseIdempotencyKey("a")).toBe("a");
    expect(parseIdempotencyKey("x".repeat(255))).toBe("x".repeat(255));
    for (const bad of ["", " ", "x".repeat(256), "tab\there", "nul\u0000", "caf\u00e9", "\u{1F600}"]) expect(kindOf(() => parseIdempotencyKey(bad))).toBe("validation");
    expect(idempotencyStreamId("p1", "k")).not.toBe(idempotencyStreamId("p2", "k"));
  });

  test("given a response with secret-looking fields, when kept for replay, then their values are redacted", () => {
    expect(redactSecrets({ users: [{ email: "a@b.c", password: "x", api_key: "k", nested: { refresh_token: "t" } }], total: 1 })).toEqual({
      users: [{ email: "a@b.c", password: "[redacted]", api_key: "[redacted]", nested: { refresh_token: "[redacted]" } }],
      total: 1,
    });
  });
});
