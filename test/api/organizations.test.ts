/**
 * Organizations over HTTP: the seed 002 request examples under /api/v1 and /api, lists and
 * filters, uniqueness (slug, name, domain) including under concurrency, the system
 * organization, and the events each change records.
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { SYSTEM_ORGANIZATION_ID } from "../../src/handlers/organizations";
import { expectProblem, HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, ISO_UTC, registerMember, superAdminIdOf, uniq, UUID_V7 } from "./_helpers";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1/organizations";
/** Tests that issue many requests: generous on a loaded machine. */
const SLOW_MS = 120_000;

describe.each(serviceKinds())("organizations (%s)", (kind) => {
  let s: TestService;
  let token: string;
  let superAdminId: string;

  const create = (body: Record<string, unknown>, base = V1, headers?: Record<string, string>) => s.json("POST", base, { token, body, headers });
  const get = (id: string, base = V1) => s.json("GET", `${base}/${id}`, { token });
  const list = (query = "", base = V1) => s.json("GET", `${base}${query ? `?${query}` : ""}`, { token });
  /** Everything in the list, whatever the page size. */
  const listAll = async (query = "") => (await list(`${query}${query ? "&" : ""}size=1000`)).body;
  const newOrg = async (extra: Record<string, unknown> = {}) => {
    const tag = uniq();
    const res = await create({ name: `Org ${tag}`, slug: `org-${tag}`, ...extra });
    expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
    return res.body;
  };
  const events = (id: string) => s.deps.store.readStream(`organization-${id}`);

  beforeAll(async () => {
    s = await startService(kind);
    token = await s.superAdminToken();
    superAdminId = superAdminIdOf(token);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  describe.each(["/api/v1", "/api"])("seed 002 examples under %s", (prefix) => {
    const base = `${prefix}/organizations`;
    const tag = uniq(prefix === "/api" ? "a" : "v");
    let orgId: string;

    test("given the seed's create body, when POSTed, then 201 with the organization", async () => {
      const res = await create({ name: `Test Organization ${tag}`, slug: `test-org-${tag}`, description: "A test organization", max_users: 100 }, base);
      expect(res.status).toBe(201);
      expect(res.headers.get("content-type") ?? "").toStartWith("application/json");
      expect(res.body).toMatchObject({
        name: `Test Organization ${tag}`,
        slug: `test-org-${tag}`,
        description: "A test organization",
        max_users: 100,
        domain: null,
        registration_policy: "open",
        is_active: true,
      });
      expect(res.body.id).toMatch(UUID_V7);
      expect(res.body.created_at).toMatch(ISO_UTC);
      expect(res.body.updated_at).toMatch(ISO_UTC);
      orgId = res.body.id;
    });

    test("given the organization, when listing with ?page=1&size=20&is_active=true, then it is on the page with the totals", async () => {
      const res = await list("page=1&size=20&is_active=true", base);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(["organizations", "page", "pages", "size", "total"]);
      expect(res.body.page).toBe(1);
      expect(res.body.size).toBe(20);
      expect(res.body.total).toBeGreaterThanOrEqual(1);
      expect(res.body.pages).toBe(Math.max(1, Math.ceil(res.body.total / 20)));
      expect(res.body.organizations.length).toBe(Math.min(20, res.body.total));
      for (const o of res.body.organizations) expect(o.is_active).toBe(true);
      // An empty search, as the seeds send it, filters nothing.
      const all = await s.json("GET", `${base}?search=&is_active=true&size=1000`, { token });
      expect(all.status).toBe(200);
      expect(all.body.organizations.map((o: { id: string }) => o.id)).toContain(orgId);
    });

    test("given the organization, when fetched by id, then 200 with its fields", async () => {
      const res = await get(orgId, base);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: orgId, name: `Test Organization ${tag}`, slug: `test-org-${tag}`, description: "A test organization", max_users: 100 });
    });

    test("given the seed's update body, when PUT, then 200 with the new name and description", async () => {
      const res = await s.json("PUT", `${base}/${orgId}`, {
        token,
        body: { name: `Updated Organization Name ${tag}`, description: "Updated description", is_active: true },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: orgId, name: `Updated Organization Name ${tag}`, description: "Updated description", is_active: true, slug: `test-org-${tag}`, max_users: 100 });
      expect((await get(orgId)).body.name).toBe(`Updated Organization Name ${tag}`);
    });

    test("given my own organization, when GET my/info, then it answers with user counts", async () => {
      const res = await s.json("GET", `${base}/my/info`, { token });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(SYSTEM_ORGANIZATION_ID);
      expect(res.body.user_count).toBeGreaterThanOrEqual(1);
      expect(res.body.active_user_count).toBeGreaterThanOrEqual(1);
      expect(res.body.active_user_count).toBeLessThanOrEqual(res.body.user_count);
    });

    test("given the organization, when DELETEd, then 200 and it answers 404 afterwards", async () => {
      const res = await s.json("DELETE", `${base}/${orgId}`, { token });
      expect(res.status).toBe(200);
      await expectProblem(await s.request("GET", `${base}/${orgId}`, { token }), 404);
      const all = await listAll();
      expect(all.organizations.map((o: { id: string }) => o.id)).not.toContain(orgId);
    });
  });

  describe("my/info", () => {
    test("given a member of an organization, when GET my/info, then its own organization with exact counts", async () => {
      const org = await newOrg();
      const member = await registerMember(s, org);
      const res = await s.json("GET", `${V1}/my/info`, { token: member.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: org.id, name: org.name, slug: org.slug, user_count: 1, active_user_count: 1 });
      await registerMember(s, org);
      const again = await s.json("GET", `${V1}/my/info`, { token: member.token });
      expect(again.body).toMatchObject({ user_count: 2, active_user_count: 2 });
    }, SLOW_MS);
  });

  describe("listing", () => {
    test("given organizations with a common word, when searching for it in any case, then exactly those are listed", async () => {
      const word = uniq("srch");
      const a = await newOrg({ name: `Alpha ${word}` });
      const b = await newOrg({ name: `Beta ${word.toUpperCase()}` });
      const c = await newOrg({ domain: `${word}.example.com` });
      await newOrg();
      const res = await list(`search=${word.toUpperCase()}&size=100`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(3);
      expect(res.body.organizations.map((o: { id: string }) => o.id).sort()).toEqual([a.id, b.id, c.id].sort());
      const bySlug = await list(`search=${a.slug}`);
      expect(bySlug.body.organizations.map((o: { id: string }) => o.id)).toEqual([a.id]);
      const wildcard = await list(`search=${encodeURIComponent("%")}`);
      expect(wildcard.status).toBe(200);
      expect(wildcard.body.total).toBe(0);
    }, SLOW_MS);

    test("given an inactive organization, when filtering by is_active, then it shows only under is_active=false", async () => {
      const org = await newOrg({ is_active: false });
      expect(org.is_active).toBe(false);
      const inactive = await listAll("is_active=false");
      expect(inactive.organizations.map((o: { id: string }) => o.id)).toContain(org.id);
      for (const o of inactive.organizations) expect(o.is_active).toBe(false);
      const active = await listAll("is_active=true");
      expect(active.organizations.map((o: { id: string }) => o.id)).not.toContain(org.id);
      const unfiltered = await listAll();
      expect(unfiltered.total).toBe(inactive.total + active.total);
    });

    test("given five organizations, when paging with page&size and with skip&limit, then both give the same slices", async () => {
      const word = uniq("page");
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await newOrg({ name: `Paged ${i} ${word}` })).id);

      const p2 = await list(`search=${word}&page=2&size=2`);
      expect(p2.status).toBe(200);
      expect(p2.body).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(p2.body.organizations.map((o: { id: string }) => o.id)).toEqual(ids.slice(2, 4));

      const s2 = await list(`search=${word}&skip=2&limit=2`);
      expect(s2.status).toBe(200);
      expect(s2.body).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(s2.body.organizations.map((o: { id: string }) => o.id)).toEqual(ids.slice(2, 4));

      const last = await list(`search=${word}&skip=4&limit=2`);
      expect(last.body).toMatchObject({ total: 5, page: 3, size: 2 });
      expect(last.body.organizations.map((o: { id: string }) => o.id)).toEqual([ids[4]]);

      const beyond = await list(`search=${word}&page=9&size=2`);
      expect(beyond.body).toMatchObject({ total: 5, page: 9, organizations: [] });

      const first = await list(`search=${word}&limit=3`);
      expect(first.body).toMatchObject({ page: 1, size: 3 });
      expect(first.body.organizations.map((o: { id: string }) => o.id)).toEqual(ids.slice(0, 3));
    }, SLOW_MS);
  });

  describe("not found", () => {
    test("given an unknown or non-UUID id, when read, updated or deleted, then 404 problem+json", async () => {
      for (const id of [Bun.randomUUIDv7(), "not-a-uuid", "12345", "00000000-0000-0000-0000-000000000000"]) {
        await expectProblem(await s.request("GET", `${V1}/${id}`, { token }), 404);
        await expectProblem(await s.request("PUT", `${V1}/${id}`, { token, body: { description: "x" } }), 404);
        await expectProblem(await s.request("DELETE", `${V1}/${id}`, { token }), 404);
      }
    });

    test("given a deleted organization, when used again, then 404 everywhere and its slug, name and domain can be reused", async () => {
      const tag = uniq();
      const profile = { name: `Phoenix ${tag}`, slug: `phoenix-${tag}`, domain: `phoenix-${tag}.example.org` };
      const first = (await create(profile)).body;
      expect((await s.json("DELETE", `${V1}/${first.id}`, { token })).status).toBe(200);
      await expectProblem(await s.request("GET", `${V1}/${first.id}`, { token }), 404);
      await expectProblem(await s.request("PUT", `${V1}/${first.id}`, { token, body: { description: "back?" } }), 404);
      await expectProblem(await s.request("DELETE", `${V1}/${first.id}`, { token }), 404);
      const again = await create(profile);
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(first.id);
      expect(again.body).toMatchObject(profile);
      const listed = await list(`search=${tag}`);
      expect(listed.body.organizations.map((o: { id: string }) => o.id)).toEqual([again.body.id]);
    }, SLOW_MS);
  });

  describe("uniqueness", () => {
    test("given an organization, when another is created with its slug, then 409 and nothing is created", async () => {
      const org = await newOrg();
      const before = (await list()).body.total;
      await expectProblem(await s.request("POST", V1, { token, body: { name: `Other ${uniq()}`, slug: org.slug } }), 409);
      expect((await list()).body.total).toBe(before);
    });

    test("given an organization, when another is created with its name in another case, then 409", async () => {
      const tag = uniq();
      await newOrg({ name: `Acme Widgets ${tag}` });
      const before = (await list()).body.total;
      await expectProblem(await s.request("POST", V1, { token, body: { name: `  ACME widgets ${tag.toUpperCase()} `, slug: `other-${tag}` } }), 409);
      expect((await list()).body.total).toBe(before);
    });

    test("given an organization with a domain, when another claims that domain in another case, then 409 and its other claims are released", async () => {
      const tag = uniq();
      await newOrg({ domain: `${tag}.example.com` });
      const loser = { name: `Loser ${tag}`, slug: `loser-${tag}` };
      await expectProblem(await s.request("POST", V1, { token, body: { ...loser, domain: `${tag.toUpperCase()}.Example.COM` } }), 409);
      // The refused create claimed the slug and name before the domain: they must be free again.
      const retry = await create({ ...loser, domain: `other-${tag}.example.com` });
      expect(retry.status).toBe(201);
    });

    test("given two organizations, when one is renamed to the other's slug or name, then 409 and nothing changes", async () => {
      const a = await newOrg({ description: "first" });
      const b = await newOrg({ description: "second" });
      const freshName = `Fresh ${uniq()}`;
      await expectProblem(await s.request("PUT", `${V1}/${b.id}`, { token, body: { slug: a.slug, name: freshName, description: "changed" } }), 409);
      await expectProblem(await s.request("PUT", `${V1}/${b.id}`, { token, body: { name: a.name.toUpperCase() } }), 409);
      const after = await get(b.id);
      expect(after.body).toEqual(b);
      // The name claimed during the refused rename was given back.
      expect((await create({ name: freshName })).status).toBe(201);
      expect((await events(b.id)).map((e) => e.type)).toEqual(["OrganizationCreated"]);
    });

    test("given a renamed organization, when its old slug, name and domain are used by a new one, then 201", async () => {
      const tag = uniq();
      const org = await newOrg({ name: `Before ${tag}`, slug: `before-${tag}`, domain: `before-${tag}.example.net` });
      const renamed = await s.json("PUT", `${V1}/${org.id}`, { token, body: { name: `After ${tag}`, slug: `after-${tag}`, domain: null } });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ name: `After ${tag}`, slug: `after-${tag}`, domain: null });
      const reuse = await create({ name: `Before ${tag}`, slug: `before-${tag}`, domain: `before-${tag}.example.net` });
      expect(reuse.status).toBe(201);
    });

    test("given invalid slugs and domains, when creating, then 422 with the field's path and nothing is created", async () => {
      const before = (await list()).body.total;
      for (const slug of ["Bad Slug!", "UPPER", "-leading", "trailing-", "a".repeat(64), "under_score", ""]) {
        const { body } = await expectProblem(await s.request("POST", V1, { token, body: { name: `Bad ${uniq()}`, slug } }), 422);
        expect(body.errors.map((e: { path: string }) => e.path)).toContain("/body/slug");
      }
      for (const domain of ["not a domain", "nodot", "-bad.example.com", "example.c", "http://example.com"]) {
        const { body } = await expectProblem(await s.request("POST", V1, { token, body: { name: `Bad ${uniq()}`, domain } }), 422);
        expect(body.errors.map((e: { path: string }) => e.path)).toContain("/body/domain");
      }
      for (const body of [{}, { name: "" }, { name: "x", max_users: 0 }, { name: "x", registration_policy: "sometimes" }, { name: 42 }]) {
        await expectProblem(await s.request("POST", V1, { token, body }), 422);
      }
      expect((await list()).body.total).toBe(before);
    });

    test("given an organization, when updated with an invalid slug or unknown field, then 422 and it is unchanged", async () => {
      const org = await newOrg();
      await expectProblem(await s.request("PUT", `${V1}/${org.id}`, { token, body: { slug: "Not Valid" } }), 422);
      await expectProblem(await s.request("PUT", `${V1}/${org.id}`, { token, body: { name: "ok", is_system: true } }), 422);
      expect((await get(org.id)).body).toEqual(org);
    });
  });

  describe("the system organization", () => {
    test("given the system organization, when listing, reading, updating or deleting it, then it is invisible and intact", async () => {
      const all = await listAll();
      expect(all.organizations.map((o: { id: string }) => o.id)).not.toContain(SYSTEM_ORGANIZATION_ID);
      expect(all.organizations.map((o: { slug: string }) => o.slug)).not.toContain("system");
      expect((await list("search=system")).body.organizations.map((o: { id: string }) => o.id)).not.toContain(SYSTEM_ORGANIZATION_ID);
      await expectProblem(await s.request("GET", `${V1}/${SYSTEM_ORGANIZATION_ID}`, { token }), 404);
      await expectProblem(await s.request("PUT", `${V1}/${SYSTEM_ORGANIZATION_ID}`, { token, body: { is_active: false } }), 404);
      await expectProblem(await s.request("DELETE", `${V1}/${SYSTEM_ORGANIZATION_ID}`, { token }), 404);
      expect((await events(SYSTEM_ORGANIZATION_ID)).map((e) => e.type)).toEqual(["OrganizationCreated"]);
      const mine = await s.json("GET", `${V1}/my/info`, { token });
      expect(mine.body).toMatchObject({ id: SYSTEM_ORGANIZATION_ID, is_active: true });
      // Its unique names stay taken.
      await expectProblem(await s.request("POST", V1, { token, body: { name: "System" } }), 409);
    });
  });

  describe("activation", () => {
    test("given an active organization, when deactivated and reactivated, then the is_active filter follows", async () => {
      const org = await newOrg();
      const off = await s.json("PUT", `${V1}/${org.id}`, { token, body: { is_active: false } });
      expect(off.status).toBe(200);
      expect(off.body.is_active).toBe(false);
      expect((await listAll("is_active=false")).organizations.map((o: { id: string }) => o.id)).toContain(org.id);
      expect((await listAll("is_active=true")).organizations.map((o: { id: string }) => o.id)).not.toContain(org.id);
      const on = await s.json("PUT", `${V1}/${org.id}`, { token, body: { is_active: true } });
      expect(on.body.is_active).toBe(true);
      expect((await listAll("is_active=true")).organizations.map((o: { id: string }) => o.id)).toContain(org.id);
      expect((await events(org.id)).map((e) => e.type)).toEqual(["OrganizationCreated", "OrganizationDeactivated", "OrganizationReactivated"]);
    });

    test("given a member of an organization, when the organization is deactivated, then the member's token and login stop working until it is reactivated", async () => {
      const org = await newOrg();
      const member = await registerMember(s, org, `${uniq("act")}@member.test`, "Member-Password-123!");
      expect((await s.request("GET", `${V1}/my/info`, { token: member.token })).status).toBe(200);
      expect((await s.json("PUT", `${V1}/${org.id}`, { token, body: { is_active: false } })).status).toBe(200);
      await expectProblem(await s.request("GET", `${V1}/my/info`, { token: member.token }), 401);
      const login = { email: member.email, password: "Member-Password-123!", organization_slug: org.slug };
      await expectProblem(await s.request("POST", "/api/v1/auth/login", { body: login }), 401);
      expect((await s.json("PUT", `${V1}/${org.id}`, { token, body: { is_active: true } })).status).toBe(200);
      expect((await s.request("GET", `${V1}/my/info`, { token: member.token })).status).toBe(200);
      expect((await s.json("POST", "/api/v1/auth/login", { body: login })).status).toBe(200);
    }, SLOW_MS);
  });

  describe("concurrency", () => {
    test("given 20 concurrent creates of one slug, when they race, then exactly one 201, nineteen 409 and one row", async () => {
      const tag = uniq();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => s.request("POST", V1, { token, body: { name: `Race ${tag}`, slug: `race-${tag}` } })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 201).length).toBe(1);
      expect(statuses.filter((x) => x === 409).length).toBe(19);
      for (const r of results) if (r.status === 409) await expectProblem(r, 409);
      const winner = (await results.find((r) => r.status === 201)!.json()) as { id: string };
      const listed = await listAll(`search=race-${tag}`);
      expect(listed.organizations.filter((o: { slug: string }) => o.slug === `race-${tag}`).map((o: { id: string }) => o.id)).toEqual([winner.id]);
      expect(listed.total).toBe(1);
    }, SLOW_MS);

    test("given 20 concurrent creates of different slugs, when they race, then all succeed as 20 distinct rows", async () => {
      const tag = uniq();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => create({ name: `Crowd ${i} ${tag}`, slug: `crowd-${i}-${tag}` })),
      );
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
      const ids = new Set(results.map((r) => r.body.id));
      expect(ids.size).toBe(20);
      const listed = await listAll(`search=${tag}`);
      expect(listed.total).toBe(20);
      expect(new Set(listed.organizations.map((o: { id: string }) => o.id))).toEqual(ids);
    }, SLOW_MS);
  });

  describe("events", () => {
    const checkMetadata = (e: { metadata: Record<string, any> }, orgId: string, correlationId: string) => {
      expect(e.metadata.actor).toEqual({ type: "user", id: superAdminId });
      expect(e.metadata.organization_id).toBe(orgId);
      expect(e.metadata.correlation_id).toBe(correlationId);
      expect(e.metadata.occurred_at).toMatch(ISO_UTC);
      expect(Number.isNaN(Date.parse(e.metadata.occurred_at))).toBe(false);
      expect(e.metadata.schema_version).toBe(1);
    };

    test("given create, update and delete, when the stream is read, then each change is an event with full metadata", async () => {
      const tag = uniq();
      const created = await create({ name: `Evented ${tag}`, slug: `evented-${tag}`, domain: `evented-${tag}.example.com` });
      expect(created.status).toBe(201);
      const id = created.body.id;
      let stream = await events(id);
      expect(stream.map((e) => e.type)).toEqual(["OrganizationCreated"]);
      expect(stream[0].data).toMatchObject({ organization_id: id, name: `Evented ${tag}`, slug: `evented-${tag}`, domain: `evented-${tag}.example.com`, is_active: true, is_system: false });
      checkMetadata(stream[0], id, created.headers.get("x-request-id")!);

      const correlation = `corr-${uniq()}`;
      const updated = await s.json("PUT", `${V1}/${id}`, { token, body: { name: `Evented Renamed ${tag}`, is_active: false }, headers: { "x-request-id": correlation } });
      expect(updated.status).toBe(200);
      expect(updated.headers.get("x-request-id")).toBe(correlation);
      stream = await events(id);
      expect(stream.map((e) => e.type)).toEqual(["OrganizationCreated", "OrganizationUpdated", "OrganizationDeactivated"]);
      expect(stream[1].data).toEqual({ organization_id: id, changes: { name: `Evented Renamed ${tag}` } });
      for (const e of stream.slice(1)) checkMetadata(e, id, correlation);

      // An update that changes nothing records nothing.
      const same = await s.json("PUT", `${V1}/${id}`, { token, body: { name: `Evented Renamed ${tag}`, is_active: false } });
      expect(same.status).toBe(200);
      expect((await events(id)).length).toBe(3);

      const deleted = await s.json("DELETE", `${V1}/${id}`, { token });
      expect(deleted.status).toBe(200);
      stream = await events(id);
      expect(stream.map((e) => e.type)).toEqual(["OrganizationCreated", "OrganizationUpdated", "OrganizationDeactivated", "OrganizationDeleted"]);
      checkMetadata(stream[3], id, deleted.headers.get("x-request-id")!);
      expect(stream.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n]);
    });
  });
});
