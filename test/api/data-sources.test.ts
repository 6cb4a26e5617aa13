/**
 * Data sources (issue 6, item 1): the seed's bulk upload, CRUD with pagination and
 * search, name uniqueness under concurrency, passwords sealed and never shown, the
 * connectivity test against a real PostgreSQL and a closed port, the embedded demo, pools
 * closed on change and deletion, and another organization's data source answering 404.
 */
import { describe, expect, test } from "bun:test";
import postgres from "postgres";
import { serviceKinds, type TestService } from "../support/app";
import { TEST_TIMEOUT_MS, UUID, expectProblem, uniq } from "./_helpers";
import { addMember, makeOrg, twoOrgSuite, type Caller, type OrgFixture } from "./_data-access-helpers";
import { openDataSourcePassword, sealDataSourcePassword } from "../../src/handlers/data-sources";
import { SecretBox } from "../../src/crypto/secret-box";
import { randomBytes } from "node:crypto";

const LOCAL_PG = "postgres://postgres@127.0.0.1:5432/postgres";

async function localPostgresReachable(): Promise<boolean> {
  const probe = postgres(LOCAL_PG, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
}
const hasLocalPostgres = await localPostgresReachable();

/** The seed's request body, exactly as written (000 "Bulk Upload Data Sources"). */
const SEED_BULK = [
  {
    name: "Production Postgres DB",
    type: "postgresql",
    host: "prod.db.innovatecorp.com",
    port: 5432,
    database_name: "sales",
    username: "readonly_user",
    password: "ThisWillBeEncrypted",
  },
];

describe.each(serviceKinds())("data sources [%s]", (kind) => {
  let s: TestService;
  let c: Caller;
  let A: OrgFixture;
  let B: OrgFixture;
  twoOrgSuite(kind, (ready) => ({ s, c, A, B } = ready));

  const pgSource = (over: Record<string, unknown> = {}) => ({
    name: `PG ${uniq()}`,
    type: "postgresql",
    host: "db.example.test",
    port: 5432,
    database_name: "sales",
    username: "reader",
    password: "Secret-Pass-1",
    ...over,
  });

  for (const prefix of ["/api", "/api/v1"]) {
    test(`seed 000: bulk upload as written under ${prefix} registers the source, password encrypted and never shown`, async () => {
      // Given a fresh organization (the seed's name is unique per organization)
      const org = await makeOrg(c);
      // When its admin posts the seed's body
      const res = await c.call("POST", `${prefix}/datasources/bulk-upload`, org.adminToken, SEED_BULK);
      // Then the one item is registered
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(1);
      expect(res.body.created).toBe(1);
      expect(res.body.failed).toBe(0);
      const item = res.body.results[0];
      expect(item).toMatchObject({ index: 0, success: true, name: "Production Postgres DB" });
      expect(item.data_source).toMatchObject({
        name: "Production Postgres DB",
        type: "postgresql",
        host: "prod.db.innovatecorp.com",
        port: 5432,
        database_name: "sales",
        username: "readonly_user",
        ssl: false,
        has_password: true,
        organization_id: org.id,
      });
      expect(item.data_source.id).toMatch(UUID);
      expect(res.text).not.toContain("ThisWillBeEncrypted");
      expect(item.data_source).not.toHaveProperty("password");
      // And it is listed under the same prefix
      const list = await c.ok("GET", `${prefix}/datasources`, org.adminToken, undefined, 200);
      expect(list.data_sources.map((d: any) => d.id)).toEqual([item.data_source.id]);
    });
  }

  test("bulk upload: a bad item in the middle fails alone; the items around it are registered", async () => {
    const first = pgSource();
    const last = { name: `Demo ${uniq()}`, type: "embedded-demo" };
    const res = await c.call("POST", "/api/v1/datasources/bulk-upload", A.adminToken, [
      first,
      { name: `Bad ${uniq()}`, type: "postgresql", port: "not a port", unexpected: true },
      { ...pgSource(), host: null },
      { ...pgSource(), name: first.name.toUpperCase() },
      last,
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 5, created: 2, failed: 3 });
    const [r0, r1, r2, r3, r4] = res.body.results;
    expect(r0).toMatchObject({ index: 0, success: true });
    expect(r1).toMatchObject({ index: 1, success: false, status: 422 });
    expect(r1.errors.length).toBeGreaterThan(0);
    expect(r2).toMatchObject({ index: 2, success: false, status: 422 });
    expect(r2.error).toContain("host");
    expect(r3).toMatchObject({ index: 3, success: false, status: 409 });
    expect(r4).toMatchObject({ index: 4, success: true });
    expect(r4.data_source).toMatchObject({ type: "embedded-demo", host: null, port: null, database_name: null, username: null, has_password: false });
    // Only the good ones exist
    const list = await c.ok("GET", `/api/v1/datasources?size=100`, A.adminToken, undefined, 200);
    const names = list.data_sources.map((d: any) => d.name);
    expect(names).toContain(first.name);
    expect(names).toContain(last.name);
    expect(names.some((n: string) => n.startsWith("Bad "))).toBe(false);
  });

  test("bulk upload: an empty array or a non-array body is refused with 422", async () => {
    await expectProblem(await s.request("POST", "/api/v1/datasources/bulk-upload", { token: A.adminToken, body: [] }), 422);
    await expectProblem(await s.request("POST", "/api/v1/datasources/bulk-upload", { token: A.adminToken, body: { name: "x" } }), 422);
  });

  test("create, get, list with pagination and search, update, delete", async () => {
    const tag = uniq("crud");
    const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ name: `Sales ${tag}`, ssl: true }), 201);
    expect(created).toMatchObject({ name: `Sales ${tag}`, ssl: true, has_password: true, version: 1 });
    await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ name: `Finance ${tag}` }), 201);
    await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ name: `HR ${tag}`, host: "hr.internal.test" }), 201);

    const got = await c.ok("GET", `/api/v1/datasources/${created.id}`, A.adminToken, undefined, 200);
    expect(got).toEqual(created);

    const page1 = await c.ok("GET", `/api/v1/datasources?search=${tag}&size=2&page=1`, A.adminToken, undefined, 200);
    expect(page1).toMatchObject({ total: 3, page: 1, size: 2, pages: 2 });
    expect(page1.data_sources).toHaveLength(2);
    const page2 = await c.ok("GET", `/api/v1/datasources?search=${tag}&skip=2&limit=2`, A.adminToken, undefined, 200);
    expect(page2.data_sources).toHaveLength(1);
    const byHost = await c.ok("GET", `/api/v1/datasources?search=hr.internal`, A.adminToken, undefined, 200);
    expect(byHost.data_sources.map((d: any) => d.name)).toEqual([`HR ${tag}`]);

    const updated = await c.ok("PUT", `/api/v1/datasources/${created.id}`, A.adminToken, { host: "db2.example.test", password: null }, 200);
    expect(updated).toMatchObject({ host: "db2.example.test", has_password: false, version: 2 });
    // The type is fixed at registration
    await expectProblem(await s.request("PUT", `/api/v1/datasources/${created.id}`, { token: A.adminToken, body: { type: "embedded-demo" } }), 422);

    expect(await c.ok("DELETE", `/api/v1/datasources/${created.id}`, A.adminToken, undefined, 200)).toEqual({ message: "Data source deleted" });
    await expectProblem(await s.request("GET", `/api/v1/datasources/${created.id}`, { token: A.adminToken }), 404);
    // Its name is free again
    await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ name: `sales ${tag}` }), 201);
  });

  test("names are unique per organization ignoring case; another organization may use the same name", async () => {
    const name = `Warehouse ${uniq()}`;
    await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ name }), 201);
    const { body } = await expectProblem(await s.request("POST", "/api/v1/datasources", { token: A.adminToken, body: pgSource({ name: name.toLowerCase() }) }), 409);
    expect(body.detail).toContain("already exists");
    await c.ok("POST", "/api/v1/datasources", B.adminToken, pgSource({ name }), 201);
    // Renaming onto a taken name is refused too
    const other = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource(), 201);
    await expectProblem(await s.request("PUT", `/api/v1/datasources/${other.id}`, { token: A.adminToken, body: { name: name.toUpperCase() } }), 409);
  });

  test("10 concurrent registrations of one name: exactly one wins, the others get 409", async () => {
    const name = `Race ${uniq()}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => c.call("POST", "/api/v1/datasources", A.adminToken, pgSource({ name }))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((x) => x === 201)).toHaveLength(1);
    expect(statuses.filter((x) => x === 409)).toHaveLength(9);
    const list = await c.ok("GET", `/api/v1/datasources?search=${encodeURIComponent(name)}`, A.adminToken, undefined, 200);
    expect(list.total).toBe(1);
  });

  test("validation: postgresql needs host, database_name and username; embedded-demo takes no settings; unknown fields are refused", async () => {
    for (const body of [
      pgSource({ host: undefined }),
      pgSource({ database_name: "" }),
      pgSource({ username: null }),
      { name: `Demo ${uniq()}`, type: "embedded-demo", password: "x" },
      { name: `Demo ${uniq()}`, type: "embedded-demo", host: "h" },
      { ...pgSource(), extra: 1 },
      pgSource({ type: "mysql" }),
      pgSource({ port: 70000 }),
    ]) {
      await expectProblem(await s.request("POST", "/api/v1/datasources", { token: A.adminToken, body }), 422);
    }
  });

  test("passwords are sealed in the read model and the event, bound to their data source", async () => {
    const password = `Sealed-${uniq()}`;
    const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ password }), 201);
    const other = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource(), 201);
    // The read model holds a ciphertext, not the password
    const rows = await s.deps.db.query<{ id: string; password_sealed: string | null }>("SELECT id::text, password_sealed FROM data_sources WHERE id = ANY($1::uuid[])", [[created.id, other.id]]);
    const mine = rows.find((r) => r.id === created.id)!.password_sealed!;
    const theirs = rows.find((r) => r.id === other.id)!.password_sealed!;
    expect(mine).toStartWith("v1.");
    expect(mine).not.toContain(password);
    // The event carries the same ciphertext
    const [registered] = await s.deps.store.readStream(`data_source-${created.id}`);
    expect(registered.type).toBe("DataSourceRegistered");
    expect(registered.data.password_sealed).toBe(mine);
    expect(JSON.stringify({ data: registered.data, metadata: registered.metadata })).not.toContain(password);
    // It opens for its own data source only: moved to the other row, it fails
    expect(openDataSourcePassword(s.deps, A.id, created.id, mine)).toBe(password);
    expect(() => openDataSourcePassword(s.deps, A.id, other.id, mine)).toThrow();
    expect(() => openDataSourcePassword(s.deps, B.id, created.id, mine)).toThrow();
    expect(() => openDataSourcePassword(s.deps, A.id, created.id, theirs)).toThrow();
  });

  test("unit: a sealed data-source password names its key, opens under a rotated-in key set, not under another key", () => {
    const key = randomBytes(32);
    const box = new SecretBox(key);
    const sealed = sealDataSourcePassword({ secrets: box }, "org-1", "ds-1", "pw");
    expect(sealed.split(".")[1]).toBe(box.currentKeyId);
    expect(openDataSourcePassword({ secrets: new SecretBox(randomBytes(32), [key]) }, "org-1", "ds-1", sealed)).toBe("pw");
    expect(() => openDataSourcePassword({ secrets: new SecretBox(randomBytes(32)) }, "org-1", "ds-1", sealed)).toThrow();
    expect(() => openDataSourcePassword({ secrets: box }, "org-1", "ds-2", sealed)).toThrow();
  });

  test(
    "connection test against a closed port: success false with a message, no password, no 500",
    async () => {
      const password = `Closed-Port-${uniq()}`;
      const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ host: "127.0.0.1", port: 1, password }), 201);
      const res = await c.call("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken);
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(false);
      expect(typeof res.body.message).toBe("string");
      expect(res.body.message.length).toBeGreaterThan(10);
      expect(typeof res.body.latency_ms).toBe("number");
      expect(res.text).not.toContain(password);
    },
    TEST_TIMEOUT_MS,
  );

  test.if(hasLocalPostgres)(
    "connection test against the local PostgreSQL succeeds; the pool closes when the source changes and when it is deleted",
    async () => {
      // Given a uniquely named database with a small schema
      const dbName = `ll_ds_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
      const admin = postgres(LOCAL_PG, { max: 1, onnotice: () => {} });
      await admin.unsafe(`CREATE DATABASE ${dbName}`);
      try {
        const target = postgres({ host: "127.0.0.1", port: 5432, user: "postgres", database: dbName, max: 1, onnotice: () => {} });
        await target.unsafe("CREATE TABLE customers (id int primary key, name text); CREATE TABLE orders (id int primary key, customer_id int references customers(id))");
        await target.end();

        const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ host: "127.0.0.1", port: 5432, database_name: dbName, username: "postgres", password: undefined }), 201);
        const pools = s.deps.connections.size();
        // When its connectivity is tested
        const ok = await c.ok("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken, undefined, 200);
        // Then it answers, and a pool for it now exists
        expect(ok.success).toBe(true);
        expect(ok.message).toContain("success");
        expect(ok.latency_ms).toBeGreaterThanOrEqual(0);
        expect(s.deps.connections.size()).toBe(pools + 1);

        // An update closes the pool
        await c.ok("PUT", `/api/v1/datasources/${created.id}`, A.adminToken, { ssl: false, username: "postgres", port: 5432, host: "localhost" }, 200);
        expect(s.deps.connections.size()).toBe(pools);
        expect((await c.ok("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken, undefined, 200)).success).toBe(true);
        expect(s.deps.connections.size()).toBe(pools + 1);

        // A deletion closes it too
        await c.ok("DELETE", `/api/v1/datasources/${created.id}`, A.adminToken, undefined, 200);
        expect(s.deps.connections.size()).toBe(pools);
      } finally {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
        await admin.end();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "the embedded demo registers without credentials and passes the connection test; its connection closes on change and deletion",
    async () => {
      const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, { name: `Demo ${uniq()}`, type: "embedded-demo" }, 201);
      expect(created).toMatchObject({ type: "embedded-demo", host: null, port: null, database_name: null, username: null, has_password: false, ssl: false });
      const pools = s.deps.connections.size();
      const res = await c.ok("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken, undefined, 200);
      expect(res.success).toBe(true);
      expect(res.message).toContain("success");
      expect(s.deps.connections.size()).toBe(pools + 1);
      // A change closes its connection; the next use opens one with the new version
      const renamed = await c.ok("PUT", `/api/v1/datasources/${created.id}`, A.adminToken, { name: `Demo renamed ${uniq()}` }, 200);
      expect(renamed.version).toBe(2);
      expect(s.deps.connections.size()).toBe(pools);
      expect((await c.ok("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken, undefined, 200)).success).toBe(true);
      expect(s.deps.connections.size()).toBe(pools + 1);
      // A deletion closes it too
      await c.ok("DELETE", `/api/v1/datasources/${created.id}`, A.adminToken, undefined, 200);
      expect(s.deps.connections.size()).toBe(pools);
    },
    TEST_TIMEOUT_MS,
  );

  test("another organization's data source answers 404 on every endpoint and is unchanged", async () => {
    const theirs = await c.ok("POST", "/api/v1/datasources", B.adminToken, pgSource(), 201);
    const before = await s.deps.store.readStream(`data_source-${theirs.id}`);
    for (const [method, path, body] of [
      ["GET", `/api/v1/datasources/${theirs.id}`, undefined],
      ["PUT", `/api/v1/datasources/${theirs.id}`, { name: "Hijacked" }],
      ["DELETE", `/api/v1/datasources/${theirs.id}`, undefined],
      ["POST", `/api/v1/datasources/${theirs.id}/test`, undefined],
      ["GET", `/api/datasources/${theirs.id}`, undefined],
    ] as const) {
      await expectProblem(await s.request(method, path, { token: A.adminToken, body }), 404);
    }
    const list = await c.ok("GET", "/api/v1/datasources?size=1000", A.adminToken, undefined, 200);
    expect(list.data_sources.some((d: any) => d.id === theirs.id)).toBe(false);
    expect((await s.deps.store.readStream(`data_source-${theirs.id}`)).length).toBe(before.length);
  });

  test("permissions: a plain user reads data sources but cannot register, change, test or delete one", async () => {
    const member = await addMember(c, A);
    const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource(), 201);
    await c.ok("GET", `/api/v1/datasources/${created.id}`, member.token, undefined, 200);
    await expectProblem(await s.request("POST", "/api/v1/datasources", { token: member.token, body: pgSource() }), 403);
    await expectProblem(await s.request("POST", "/api/v1/datasources/bulk-upload", { token: member.token, body: [pgSource()] }), 403);
    await expectProblem(await s.request("PUT", `/api/v1/datasources/${created.id}`, { token: member.token, body: { name: "x" } }), 403);
    await expectProblem(await s.request("POST", `/api/v1/datasources/${created.id}/test`, { token: member.token }), 403);
    await expectProblem(await s.request("DELETE", `/api/v1/datasources/${created.id}`, { token: member.token }), 403);
  });

  test("a super admin registers in a named organization and must name one", async () => {
    const root = await s.superAdminToken();
    await expectProblem(await s.request("POST", "/api/v1/datasources", { token: root, body: pgSource() }), 422);
    const created = await c.ok("POST", "/api/v1/datasources", root, pgSource({ organization_id: B.id }), 201);
    expect(created.organization_id).toBe(B.id);
    await c.ok("GET", `/api/v1/datasources/${created.id}`, B.adminToken, undefined, 200);
  });

  test(
    "canary: a planted password appears in no event, no log line and no response",
    async () => {
      const canary = `Canary-${uniq()}-Pw`;
      const canary2 = `Canary2-${uniq()}-Pw`;
      // Given the canary passes through every path that handles a password
      const created = await c.ok("POST", "/api/v1/datasources", A.adminToken, pgSource({ host: "127.0.0.1", port: 1, password: canary }), 201);
      await c.ok("POST", "/api/v1/datasources/bulk-upload", A.adminToken, [pgSource({ password: canary }), { ...pgSource({ password: canary }), host: 5 }], 200);
      await c.ok("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken, undefined, 200);
      await c.ok("PUT", `/api/v1/datasources/${created.id}`, A.adminToken, { password: canary2 }, 200);
      await c.ok("POST", `/api/v1/datasources/${created.id}/test`, A.adminToken, undefined, 200);
      await c.ok("GET", `/api/v1/datasources/${created.id}`, A.adminToken, undefined, 200);
      await c.ok("GET", `/api/v1/datasources?size=1000`, A.adminToken, undefined, 200);
      await expectProblem(await s.request("POST", "/api/v1/datasources", { token: A.adminToken, body: pgSource({ name: created.name, password: canary }) }), 409);
      // Then: not in any event of the store (raw)
      const events = await s.deps.store.readAll({ fromPosition: 0n, limit: 1_000_000 });
      expect(events.length).toBeGreaterThan(10);
      const raw = events.map((e) => JSON.stringify({ data: e.data, metadata: e.metadata })).join("\n");
      expect(raw).toContain(created.id);
      expect(raw).not.toContain(canary);
      expect(raw).not.toContain(canary2);
      // nor in any log line
      expect(s.logLines.length).toBeGreaterThan(0);
      for (const line of s.logLines) {
        expect(line).not.toContain(canary);
        expect(line).not.toContain(canary2);
      }
      // nor in any response of this suite
      expect(c.texts.length).toBeGreaterThan(20);
      for (const text of c.texts) {
        expect(text).not.toContain(canary);
        expect(text).not.toContain(canary2);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
