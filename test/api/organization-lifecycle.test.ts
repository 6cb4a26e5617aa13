/**
 * What an organization's state does to its users: max_users on registration and user
 * creation, deactivation and reactivation, deletion, and an onboarding whose users may
 * log in only once it has completed.
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import type { EventStore, NewEvent } from "../../src/eventstore/port";
import { systemContext } from "../../src/eventstore/context";
import { createUser } from "../../src/handlers/users";
import { DomainError } from "../../src/domain/errors";
import { expectProblem, HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, uniq } from "./_helpers";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
const SLOW_MS = 120_000;

const V1 = "/api/v1";
const PASSWORD = "Lifecycle-Password-123!";

describe.each(serviceKinds())("organization lifecycle (%s)", (kind) => {
  let s: TestService;
  let token: string;

  const newOrg = async (extra: Record<string, unknown> = {}) => {
    const tag = uniq();
    const res = await s.json("POST", `${V1}/organizations`, { token, body: { name: `Life ${tag}`, slug: `life-${tag}`, registration_policy: "open", ...extra } });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body as { id: string; slug: string; name: string };
  };
  const register = (org: { slug: string }, email = `${uniq("r")}@life.test`) =>
    s.json("POST", `${V1}/auth/register`, { body: { email, password: PASSWORD, first_name: "Re", last_name: "Gister", organization: org.slug } });
  const login = (email: string, organization?: string) => s.json("POST", `${V1}/auth/login`, { body: { email, password: PASSWORD, ...(organization && { organization }) } });
  const me = (accessToken: string) => s.request("GET", `${V1}/auth/me`, { token: accessToken });
  const refresh = (refreshToken: string) => s.request("POST", `${V1}/auth/refresh`, { body: { refresh_token: refreshToken } });

  /** A member who registered (an open organization) and holds live tokens. */
  const member = async (org: { slug: string }) => {
    const email = `${uniq("m")}@life.test`;
    const res = await register(org, email);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return { email, access: res.body.access_token as string, refresh: res.body.refresh_token as string };
  };

  beforeAll(async () => {
    s = await startService(kind);
    token = await s.superAdminToken();
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  describe("max_users", () => {
    test("given an open organization with max_users 2, when three register, then two 201 and the third 409; raising the limit lets one more in", async () => {
      const org = await newOrg({ max_users: 2 });
      expect((await register(org)).status).toBe(201);
      expect((await register(org)).status).toBe(201);
      const refusedEmail = `${uniq("third")}@life.test`;
      const { body } = await expectProblem(await s.request("POST", `${V1}/auth/register`, { body: { email: refusedEmail, password: PASSWORD, organization: org.slug } }), 409);
      expect(body.detail).toContain("maximum of 2 users");
      // The refused registration left no account behind.
      await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: refusedEmail, password: PASSWORD, organization: org.slug } }), 401);
      expect((await s.json("PUT", `${V1}/organizations/${org.id}`, { token, body: { max_users: 3 } })).status).toBe(200);
      // The e-mail the full organization refused is free: it gets the new seat.
      expect((await register(org, refusedEmail)).status).toBe(201);
      await expectProblem(await s.request("POST", `${V1}/auth/register`, { body: { email: `${uniq("fourth")}@life.test`, password: PASSWORD, organization: org.slug } }), 409);
    }, SLOW_MS);

    test("given max_users 2, when six register at once, then never more than two get in", async () => {
      const org = await newOrg({ max_users: 2 });
      const results = await Promise.all(Array.from({ length: 6 }, () => register(org)));
      const created = results.filter((r) => r.status === 201).length;
      expect(created).toBeGreaterThanOrEqual(1);
      expect(created).toBeLessThanOrEqual(2);
      for (const r of results) expect([201, 409]).toContain(r.status);
      const seats = await s.deps.store.readStream(`seats-${org.id}`);
      const taken = seats.filter((e) => e.type === "SeatTaken").length - seats.filter((e) => e.type === "SeatReleased").length;
      expect(taken).toBe(created);
    }, SLOW_MS);

    test("given a full organization, when a user is created by an administrator, then 409 as well", async () => {
      const org = await newOrg({ max_users: 1 });
      expect((await register(org)).status).toBe(201);
      const attempt = createUser(s.deps, systemContext(), {
        organizationId: org.id,
        email: `${uniq("admin-made")}@life.test`,
        password: PASSWORD,
        roleIds: [],
        source: "admin",
      });
      const err = await attempt.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).kind).toBe("conflict");
    });
  });

  describe("deactivation", () => {
    test("given a member with tokens, when the organization is set inactive, then login, the access token and refresh all answer 401; reactivated, login works again", async () => {
      const org = await newOrg();
      const m = await member(org);
      expect((await me(m.access)).status).toBe(200);
      expect((await s.json("PUT", `${V1}/organizations/${org.id}`, { token, body: { is_active: false } })).status).toBe(200);
      // The very next request.
      await expectProblem(await me(m.access), 401);
      await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: m.email, password: PASSWORD, organization: org.slug } }), 401);
      await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: m.email, password: PASSWORD } }), 401);
      await expectProblem(await refresh(m.refresh), 401);
      // Nor can anyone join it meanwhile.
      expect((await register(org)).status).toBeGreaterThanOrEqual(400);

      expect((await s.json("PUT", `${V1}/organizations/${org.id}`, { token, body: { is_active: true } })).status).toBe(200);
      const again = await login(m.email, org.slug);
      expect(again.status).toBe(200);
      expect((await me(again.body.access_token)).status).toBe(200);
    }, SLOW_MS);
  });

  describe("deletion", () => {
    test("given a member with tokens, when the organization is deleted, then login, the access token and refresh all answer 401", async () => {
      const org = await newOrg();
      const m = await member(org);
      expect((await me(m.access)).status).toBe(200);
      expect((await s.json("DELETE", `${V1}/organizations/${org.id}`, { token })).status).toBe(200);
      await expectProblem(await me(m.access), 401);
      await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: m.email, password: PASSWORD, organization: org.slug } }), 401);
      await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: m.email, password: PASSWORD } }), 401);
      await expectProblem(await refresh(m.refresh), 401);
    }, SLOW_MS);
  });

  describe("onboarding", () => {
    test("given an onboarding held just before completion, when its users log in, then 401 and the organization is invisible; once completed, they log in", async () => {
      const tag = uniq("hold");
      const domain = `${tag}.example.com`;
      const body = {
        organization: { name: `Held ${tag}`, domain },
        roles: [{ name: "Reader", permissions: ["schema.read"] }],
        users: [
          { email: `boss@${domain}`, password: PASSWORD, is_admin: true },
          { email: `reader@${domain}`, password: PASSWORD, roles: ["Reader"] },
        ],
      };
      const store = s.deps.store as EventStore;
      const original = store.append;
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let held = false;
      store.append = async function (this: EventStore, streamId: string, events: readonly NewEvent[], expected) {
        if (events.some((e) => e.type === "OrganizationOnboarded")) {
          held = true;
          await gate;
        }
        return original.call(store, streamId, events, expected);
      };
      let pending: Promise<{ status: number; body: any }> | undefined;
      try {
        pending = s.json("POST", `${V1}/organizations/onboard`, { token, body });
        const deadline = Date.now() + 60_000;
        while (!held && Date.now() < deadline) await Bun.sleep(10);
        expect(held).toBe(true);
        // Everything but the completion is written and applied: the users exist, unusable.
        await s.deps.projector.waitFor(await store.headPosition());
        await s.deps.security.waitFor(await store.headPosition());
        const boss = [...s.deps.security.users.values()].find((u) => u.email === `boss@${domain}`);
        expect(boss).toBeDefined();
        for (const u of body.users) {
          await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: u.email, password: PASSWORD, organization: domain } }), 401);
          await expectProblem(await s.request("POST", `${V1}/auth/login`, { body: { email: u.email, password: PASSWORD } }), 401);
        }
        const listed = await s.json("GET", `${V1}/organizations?search=${tag}`, { token });
        expect(listed.body.total).toBe(0);
        await expectProblem(await s.request("GET", `${V1}/organizations/${boss!.organizationId}`, { token }), 404);
        await expectProblem(await s.request("PUT", `${V1}/organizations/${boss!.organizationId}`, { token, body: { description: "early" } }), 404);
        // Nobody can join it, or take its name, before it exists.
        const joiner = await s.json("POST", `${V1}/auth/register`, { body: { email: `early@${domain}`, password: PASSWORD, organization: domain } });
        expect(joiner.status).toBe(409);
        expect([...s.deps.security.users.values()].some((u) => u.email === `early@${domain}`)).toBe(false);
      } finally {
        open();
        store.append = original;
      }
      const done = await pending!;
      expect({ status: done.status, body: done.body }).toMatchObject({ status: 201 });
      for (const u of body.users) expect((await login(u.email, domain)).status).toBe(200);
      const reader = await login(`reader@${domain}`);
      expect(reader.body.user.roles).toEqual(["Reader"]);
      expect(reader.body.user.permissions).toEqual(["schema.read"]);
    }, SLOW_MS);
  });
});
