/**
 * Schema browsing (issue 6, item 4): seed 003's four endpoints under /api and /api/v1 on
 * the embedded demo database; filtering to the caller's granted tables (relationships
 * only between granted tables); no grant → 403 and nothing of the schema; another
 * organization's data source → 404; unknown table → 404; the default data source; and
 * expiry enforced at the next use, recorded exactly once under concurrent requests while
 * the projector is stopped.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, expectProblem } from "./_helpers";
import { addMember, registerDemo, twoOrgSuite, type Caller, type OrgFixture } from "./_data-access-helpers";

const DEMO_TABLES = ["categories", "customers", "order_items", "orders", "products"];

describe.each(serviceKinds())("schema [%s]", (kind) => {
  let s: TestService;
  let c: Caller;
  let A: OrgFixture;
  let B: OrgFixture;
  let demo: any;
  let demoB: any;
  twoOrgSuite(kind, (ready) => ({ s, c, A, B } = ready));

  beforeAll(async () => {
    demo = await registerDemo(c, A);
    demoB = await registerDemo(c, B);
  }, HOOK_TIMEOUT_MS);

  const grant = (userId: string, body: Record<string, unknown>) => c.ok("POST", `/api/v1/users/${userId}/database-access`, A.adminToken, body, 201);
  const accessExpiredCount = async (userId: string) => (await s.deps.store.readStream(`database_access-${userId}`)).filter((e) => e.type === "AccessExpired").length;

  for (const prefix of ["/api", "/api/v1"]) {
    test(
      `seed 003: the four schema endpoints under ${prefix} for a user with a full grant`,
      async () => {
        const member = await addMember(c, A);
        await grant(member.id, { data_source_id: demo.id });
        const q = `?data_source_id=${demo.id}`;

        const full = await c.ok("GET", `${prefix}/schema${q}`, member.token, undefined, 200);
        expect(full).toMatchObject({ data_source_id: demo.id, data_source_name: demo.name, restricted: false });
        expect(full.tables.map((t: any) => t.name).sort()).toEqual(DEMO_TABLES);
        expect(full.table_count).toBe(5);
        const orders = full.tables.find((t: any) => t.name === "orders");
        expect(orders.columns.length).toBeGreaterThan(1);
        expect(orders.primary_key.length).toBeGreaterThan(0);

        const tables = await c.ok("GET", `${prefix}/schema/tables${q}`, member.token, undefined, 200);
        expect([...tables.tables].sort()).toEqual(DEMO_TABLES);
        expect(tables.count).toBe(5);

        const one = await c.ok("GET", `${prefix}/schema/tables/orders${q}`, member.token, undefined, 200);
        expect(one).toMatchObject({ data_source_id: demo.id, name: "orders" });
        expect(one.columns.map((col: any) => col.name)).toContain("customer_id");

        const rel = await c.ok("GET", `${prefix}/schema/relationships${q}`, member.token, undefined, 200);
        expect(rel.count).toBe(rel.relationships.length);
        const pairs = rel.relationships.map((r: any) => `${r.from_table}->${r.to_table}`);
        expect(pairs).toContain("orders->customers");
        expect(pairs).toContain("order_items->orders");
      },
      TEST_TIMEOUT_MS,
    );
  }

  test(
    "a table-level grant shows only its tables, and relationships only between them",
    async () => {
      const member = await addMember(c, A);
      await grant(member.id, { data_source_id: demo.id, tables: ["orders", "customers"] });
      const q = `?data_source_id=${demo.id}`;
      const full = await c.ok("GET", `/api/v1/schema${q}`, member.token, undefined, 200);
      expect(full.restricted).toBe(true);
      expect(full.tables.map((t: any) => t.name).sort()).toEqual(["customers", "orders"]);
      for (const r of full.relationships) {
        expect(["customers", "orders"]).toContain(r.from_table);
        expect(["customers", "orders"]).toContain(r.to_table);
      }
      expect(full.relationships.map((r: any) => `${r.from_table}->${r.to_table}`)).toEqual(["orders->customers"]);
      for (const t of full.tables) for (const fk of t.foreign_keys) expect(["customers", "orders"]).toContain(fk.to_table);
      // Nothing of the other tables leaks anywhere in the answers
      const texts = [
        JSON.stringify(full),
        (await c.call("GET", `/api/v1/schema/tables${q}`, member.token)).text,
        (await c.call("GET", `/api/v1/schema/relationships${q}`, member.token)).text,
      ];
      for (const text of texts) for (const hidden of ["order_items", "products", "categories"]) expect(text).not.toContain(hidden);
      // An ungranted table is as unknown as a made-up one
      await expectProblem(await s.request("GET", `/api/v1/schema/tables/products${q}`, { token: member.token }), 404);
      await expectProblem(await s.request("GET", `/api/v1/schema/tables/no_such_table${q}`, { token: member.token }), 404);
      expect((await c.ok("GET", `/api/v1/schema/tables/ORDERS${q}`, member.token, undefined, 200)).name).toBe("orders");
    },
    TEST_TIMEOUT_MS,
  );

  test("no grant: 403 on every endpoint, and nothing of the schema in the answer", async () => {
    const member = await addMember(c, A);
    const q = `?data_source_id=${demo.id}`;
    for (const path of [`/api/v1/schema${q}`, `/api/v1/schema/tables${q}`, `/api/v1/schema/tables/orders${q}`, `/api/v1/schema/tables/no_such_table${q}`, `/api/v1/schema/relationships${q}`]) {
      const { text, body } = await expectProblem(await s.request("GET", path, { token: member.token }), 403);
      expect(body.detail).toContain("no access grant");
      for (const table of DEMO_TABLES) expect(text).not.toContain(table);
    }
  });

  test("another organization's data source: 404 on every endpoint, for its admin and its users alike", async () => {
    const member = await addMember(c, A);
    await grant(member.id, { data_source_id: demo.id });
    const q = `?data_source_id=${demoB.id}`;
    for (const token of [A.adminToken, member.token]) {
      for (const path of [`/api/v1/schema${q}`, `/api/v1/schema/tables${q}`, `/api/v1/schema/tables/orders${q}`, `/api/v1/schema/relationships${q}`, `/api/schema${q}`]) {
        await expectProblem(await s.request("GET", path, { token }), 404);
      }
    }
    await expectProblem(await s.request("GET", `/api/v1/schema?data_source_id=${Bun.randomUUIDv7()}`, { token: A.adminToken }), 404);
  });

  test(
    "administrators browse without a grant (to choose what to grant); a super admin too",
    async () => {
      const full = await c.ok("GET", `/api/v1/schema?data_source_id=${demo.id}`, A.adminToken, undefined, 200);
      expect(full.tables.map((t: any) => t.name).sort()).toEqual(DEMO_TABLES);
      expect(full.restricted).toBe(false);
      const root = await s.superAdminToken();
      const tables = await c.ok("GET", `/api/v1/schema/tables?data_source_id=${demo.id}`, root, undefined, 200);
      expect([...tables.tables].sort()).toEqual(DEMO_TABLES);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "without data_source_id: the one accessible data source is used; none or several → 422 naming the parameter",
    async () => {
      const member = await addMember(c, A);
      const none = await expectProblem(await s.request("GET", "/api/v1/schema/tables", { token: member.token }), 422);
      expect(none.body.errors[0].path).toBe("/query/data_source_id");
      await grant(member.id, { data_source_id: demo.id, tables: ["customers"] });
      const one = await c.ok("GET", "/api/v1/schema/tables", member.token, undefined, 200);
      expect(one).toMatchObject({ data_source_id: demo.id, tables: ["customers"] });
      const second = await registerDemo(c, A);
      await grant(member.id, { data_source_id: second.id });
      const several = await expectProblem(await s.request("GET", "/api/v1/schema", { token: member.token }), 422);
      expect(several.body.detail).toContain("data_source_id");
      expect(several.body.errors[0].path).toBe("/query/data_source_id");
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "expiry: the next request after expires_at is 403, and 5 concurrent ones record exactly one AccessExpired, with the projector stopped",
    async () => {
      const member = await addMember(c, A);
      const q = `?data_source_id=${demo.id}`;
      // Warm the schema cache, so the request inside the grant's short life is quick
      await c.ok("GET", `/api/v1/schema/tables${q}`, A.adminToken, undefined, 200);
      const expiresAt = new Date(Date.now() + 2000);
      await grant(member.id, { data_source_id: demo.id, expires_at: expiresAt.toISOString() });
      // Before expiry: allowed
      expect((await c.ok("GET", `/api/v1/schema/tables${q}`, member.token, undefined, 200)).count).toBe(5);

      // When the grant has run out and the projector is not running (the check must not depend on it)
      await Bun.sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 100);
      await s.deps.projector.stop();
      let answers: Response[];
      try {
        answers = await Promise.all(Array.from({ length: 5 }, () => s.request("GET", `/api/v1/schema${q}`, { token: member.token })));
        // Then every request is refused, and the expiry is recorded once
        for (const res of answers) {
          const { body, text } = await expectProblem(res, 403);
          expect(body.detail).toContain("expired");
          for (const table of DEMO_TABLES) expect(text).not.toContain(table);
        }
        expect(await accessExpiredCount(member.id)).toBe(1);
      } finally {
        s.deps.projector.start();
      }
      // Later uses stay refused without recording it again
      await expectProblem(await s.request("GET", `/api/v1/schema/tables${q}`, { token: member.token }), 403);
      expect(await accessExpiredCount(member.id)).toBe(1);
      const [expired] = (await s.deps.store.readStream(`database_access-${member.id}`)).filter((e) => e.type === "AccessExpired");
      expect(expired.data).toEqual({ access_id: expect.any(String), user_id: member.id, data_source_id: demo.id, expired_at: expiresAt.toISOString() });
      // The list shows it expired
      await s.deps.projector.waitFor(await s.deps.store.headPosition());
      const list = await c.ok("GET", `/api/v1/users/${member.id}/database-access?status=expired`, A.adminToken, undefined, 200);
      expect(list.access_list.map((a: any) => a.status)).toEqual(["expired"]);
    },
    TEST_TIMEOUT_MS,
  );
});
