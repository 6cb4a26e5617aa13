/**
 * Governed queries over HTTP (issue 6, item 8): seed 003's query endpoints under /api and
 * /api/v1 (ask, validate, history, delete from history); the built-in translator on the
 * embedded demo database; the Anthropic translator through a local stub (usage in the
 * answer and the event, only granted tables and no password in the prompt); direct SQL
 * through the guard and the grants (refusals recorded, the table unchanged); access (no
 * grant 403, expired grant 403, another organization's data source 404); row caps;
 * an unreachable database (503, QueryFailed); history pagination, filters and hiding
 * (the event stays, another user's query 404); and that no event carries result rows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { startAnthropicStub, sqlReply, type AnthropicStub } from "../support/anthropic-stub";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, UUID_V7, expectProblem, uniq } from "./_helpers";
import { addMember, caller, makeOrg, registerDemo, type Caller, type OrgFixture } from "./_data-access-helpers";
import { createSalesDatabase, eventsOfType, grant, queryEvents, registerPostgres, registerUnreachable, type SalesDatabase } from "./_query-helpers";

const SEED_QUESTION = "Show me the top 5 selling products last month";
const PREFIXES = ["/api", "/api/v1"];

describe.each(serviceKinds())("query [%s]", (kind) => {
  let s: TestService;
  let c: Caller;
  let A: OrgFixture;
  let B: OrgFixture;
  let demo: any;
  let demoB: any;
  let sales: SalesDatabase;
  let salesDs: any;
  /** A user with the demo database and the sales database's `orders` only. */
  let analyst: { id: string; token: string };
  /** The organization admin, granted the whole sales database (admins hold query.sql). */
  let adminGrantedSales = false;
  const canaryPassword = `Canary-Password-${uniq()}`;

  beforeAll(async () => {
    s = await startService(kind);
    c = caller(s);
    A = await makeOrg(c);
    B = await makeOrg(c);
    demo = await registerDemo(c, A);
    demoB = await registerDemo(c, B);
    sales = await createSalesDatabase();
    salesDs = await registerPostgres(c, A, sales, canaryPassword);
    analyst = await addMember(c, A);
    await grant(c, A, analyst.id, { data_source_id: demo.id });
    await grant(c, A, analyst.id, { data_source_id: salesDs.id, tables: ["orders"] });
    await grant(c, A, A.adminId, { data_source_id: salesDs.id });
    adminGrantedSales = true;
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
    await sales?.drop();
  }, HOOK_TIMEOUT_MS);

  for (const prefix of PREFIXES) {
    test(
      `seed 003: POST ${prefix}/query answers "${SEED_QUESTION}" with the built-in translator, and records QueryExecuted`,
      async () => {
        // When the analyst asks the seed's question about the demo database
        const r = await c.call("POST", `${prefix}/query`, analyst.token, { question: SEED_QUESTION, data_source_id: demo.id });

        // Then SQL was written, checked and run
        expect({ status: r.status, text: r.text.slice(0, 500) }).toMatchObject({ status: 200 });
        const a = r.body;
        expect(a.query_id).toMatch(UUID_V7);
        expect(a.question).toBe(SEED_QUESTION);
        expect(a.sql).toMatch(/select/i);
        expect(typeof a.explanation).toBe("string");
        expect(a.columns.length).toBeGreaterThan(0);
        expect(a.rows.length).toBeGreaterThan(0);
        expect(a.rows.length).toBeLessThanOrEqual(5);
        expect(a.row_count).toBe(a.rows.length);
        expect(a.truncated).toBe(false);
        expect(typeof a.execution_ms).toBe("number");
        expect(a).toMatchObject({ provider: "builtin", model: "builtin-translator", usage: { input_tokens: 0, output_tokens: 0 }, data_source_id: demo.id });
        expect(a.tables).toContain("products");

        // And the outcome is one event on the query's stream, without the rows
        const events = await queryEvents(s, a.query_id);
        expect(events.map((e) => e.type)).toEqual(["QueryExecuted"]);
        expect(events[0].data).toMatchObject({
          query_id: a.query_id,
          user_id: analyst.id,
          organization_id: A.id,
          data_source_id: demo.id,
          chat_session_id: null,
          source: "question",
          question: SEED_QUESTION,
          sql: a.sql,
          row_count: a.row_count,
          truncated: false,
          provider: "builtin",
          model: "builtin-translator",
          usage: { input_tokens: 0, output_tokens: 0 },
          attempts: 1,
        });
        expect(events[0].data).not.toHaveProperty("rows");
        expect(events[0].metadata).toMatchObject({ actor: { type: "user", id: analyst.id }, organization_id: A.id });
      },
      TEST_TIMEOUT_MS,
    );

    test(`POST ${prefix}/query accepts the seed alias "query" for the question`, async () => {
      const r = await c.call("POST", `${prefix}/query`, analyst.token, { query: SEED_QUESTION, data_source_id: demo.id });
      expect(r.status).toBe(200);
      expect(r.body.question).toBe(SEED_QUESTION);
      expect(r.body.rows.length).toBeGreaterThan(0);
    });

    test(`seed 003: POST ${prefix}/query/validate checks SQL without running it`, async () => {
      const ok = await c.ok("POST", `${prefix}/query/validate`, analyst.token, { sql: "SELECT product, sum(amount) FROM orders GROUP BY product" }, 200);
      expect(ok).toEqual({ valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] });

      const bad = await c.ok("POST", `${prefix}/query/validate`, analyst.token, { sql: "DELETE FROM orders" }, 200);
      expect(bad.valid).toBe(false);
      expect(bad.statement_type).toBe("DeleteStmt");
      expect(bad.errors.length).toBeGreaterThan(0);

      // With a data source, the caller's table grants count too
      const notGranted = await c.ok("POST", `${prefix}/query/validate`, analyst.token, { sql: "SELECT note FROM secret_notes", data_source_id: salesDs.id }, 200);
      expect(notGranted.valid).toBe(false);
      expect(notGranted.tables).toEqual(["secret_notes"]);
      expect(notGranted.errors.join(" ")).toContain("secret_notes");
      const granted = await c.ok("POST", `${prefix}/query/validate`, analyst.token, { sql: "SELECT count(*) FROM orders", data_source_id: salesDs.id }, 200);
      expect(granted.valid).toBe(true);
    });

    test(`seed 003: GET ${prefix}/query/history lists the caller's own queries newest first, and DELETE ${prefix}/query/history/{id} hides one`, async () => {
      // Given a user with three queries of their own, and another user with one
      const user = await addMember(c, A);
      await grant(c, A, user.id, { data_source_id: demo.id });
      const other = await addMember(c, A);
      await grant(c, A, other.id, { data_source_id: demo.id });
      const ids: string[] = [];
      for (const q of [SEED_QUESTION, "How many orders are there?", SEED_QUESTION]) {
        const r = await c.call("POST", `${prefix}/query`, user.token, { question: q, data_source_id: demo.id });
        expect(r.status === 200 || r.status === 422).toBe(true);
        ids.push((await eventsOfType(s, "QueryExecuted", "QueryRejected")).filter((e) => e.data.user_id === user.id).at(-1)!.data.query_id as string);
      }
      const otherQuery = await c.ok("POST", `${prefix}/query`, other.token, { question: SEED_QUESTION, data_source_id: demo.id }, 200);

      // When the user reads their history
      const all = await c.ok("GET", `${prefix}/query/history`, user.token, undefined, 200);
      expect(all).toMatchObject({ total: 3, page: 1, pages: 1 });
      expect(all.queries.map((q: any) => q.query_id)).toEqual([...ids].reverse());
      expect(all.queries[0]).toMatchObject({ data_source_id: demo.id, source: "question", question: SEED_QUESTION, chat_session_id: null });
      expect(all.queries.some((q: any) => q.query_id === otherQuery.query_id)).toBe(false);

      // Both pagination styles
      const page2 = await c.ok("GET", `${prefix}/query/history?page=2&size=2`, user.token, undefined, 200);
      expect(page2).toMatchObject({ total: 3, page: 2, size: 2, pages: 2 });
      expect(page2.queries.map((q: any) => q.query_id)).toEqual([ids[0]]);
      const skipped = await c.ok("GET", `${prefix}/query/history?skip=1&limit=1`, user.token, undefined, 200);
      expect(skipped.queries.map((q: any) => q.query_id)).toEqual([ids[1]]);

      // The data source filter
      expect((await c.ok("GET", `${prefix}/query/history?data_source_id=${demo.id}`, user.token, undefined, 200)).total).toBe(3);
      expect((await c.ok("GET", `${prefix}/query/history?data_source_id=${salesDs.id}`, user.token, undefined, 200)).total).toBe(0);

      // Another user's query cannot be hidden: 404, and it stays in its owner's history
      await expectProblem(await s.request("DELETE", `${prefix}/query/history/${otherQuery.query_id}`, { token: user.token }), 404);
      expect((await c.ok("GET", `${prefix}/query/history`, other.token, undefined, 200)).total).toBe(1);

      // When the user deletes one of theirs, it leaves the history, but its event stays
      const del = await c.ok("DELETE", `${prefix}/query/history/${ids[1]}`, user.token, undefined, 200);
      expect(del.query_id).toBe(ids[1]);
      const after = await c.ok("GET", `${prefix}/query/history`, user.token, undefined, 200);
      expect(after.total).toBe(2);
      expect(after.queries.map((q: any) => q.query_id)).toEqual([ids[2], ids[0]]);
      const events = await queryEvents(s, ids[1]);
      expect(events.map((e) => e.type)).toEqual([events[0].type, "QueryHidden"]);
      expect(["QueryExecuted", "QueryRejected"]).toContain(events[0].type);
      expect(events[1].data).toEqual({ query_id: ids[1], user_id: user.id, hidden_by: user.id });

      // Deleting it again, or an unknown id, is 404
      await expectProblem(await s.request("DELETE", `${prefix}/query/history/${ids[1]}`, { token: user.token }), 404);
      await expectProblem(await s.request("DELETE", `${prefix}/query/history/${Bun.randomUUIDv7()}`, { token: user.token }), 404);
      await expectProblem(await s.request("DELETE", `${prefix}/query/history/not-a-uuid`, { token: user.token }), 404);
    }, TEST_TIMEOUT_MS);
  }

  test("POST /query/sql runs the caller's SQL on a real PostgreSQL data source", async () => {
    expect(adminGrantedSales).toBe(true);
    const a = await c.ok("POST", "/api/v1/query/sql", A.adminToken, { sql: "SELECT product, amount FROM orders WHERE id <= 3 ORDER BY id", data_source_id: salesDs.id }, 200);
    expect(a.columns).toEqual(["product", "amount"]);
    expect(a.rows.length).toBe(3);
    expect(a.row_count).toBe(3);
    expect(a).toMatchObject({ source: "sql", question: null, tables: ["orders"], provider: "none", model: "none", usage: { input_tokens: 0, output_tokens: 0 }, attempts: 0 });
    const [event] = await queryEvents(s, a.query_id);
    expect(event.type).toBe("QueryExecuted");
    expect(event.data).toMatchObject({ source: "sql", question: null, sql: "SELECT product, amount FROM orders WHERE id <= 3 ORDER BY id", row_count: 3, generation_ms: 0 });
  });

  test("POST /query/sql needs query.sql: an ordinary user gets 403", async () => {
    await expectProblem(await s.request("POST", "/api/v1/query/sql", { token: analyst.token, body: { sql: "SELECT 1 AS one", data_source_id: demo.id } }), 403);
  });

  test("guard refusal: DELETE FROM orders is 422 with the reasons, recorded as QueryRejected, and the table is unchanged", async () => {
    // Given the table's size
    const before = await sales.ordersCount();
    const rejectedBefore = (await eventsOfType(s, "QueryRejected")).length;

    // When the admin sends a DELETE
    const r = await s.request("POST", "/api/v1/query/sql", { token: A.adminToken, body: { sql: "DELETE FROM orders", data_source_id: salesDs.id } });

    // Then it is refused with the guard's reasons
    const { body } = await expectProblem(r, 422);
    expect(body.detail).toMatch(/only SELECT/i);
    expect(body.errors.length).toBeGreaterThan(0);

    // And recorded, and nothing changed
    const rejected = await eventsOfType(s, "QueryRejected");
    expect(rejected.length).toBe(rejectedBefore + 1);
    expect(rejected.at(-1)!.data).toMatchObject({ user_id: A.adminId, source: "sql", sql: "DELETE FROM orders", data_source_id: salesDs.id });
    expect((rejected.at(-1)!.data.reasons as string[]).length).toBeGreaterThan(0);
    expect(await sales.ordersCount()).toBe(before);
  });

  test("guard refusal: a table outside the caller's table-level grant is 422 and QueryRejected", async () => {
    // Given a custom role with query.sql, and a user holding it with a grant on `orders` only
    const role = await c.ok("POST", "/api/v1/roles", A.adminToken, { name: `sql-${uniq()}`, permissions: ["query.execute", "query.sql"] }, 201);
    const user = await addMember(c, A);
    const assigned = await c.call("POST", `/api/v1/users/${user.id}/roles`, A.adminToken, { role_id: role.id });
    expect(assigned.status).toBeLessThan(300);
    await grant(c, A, user.id, { data_source_id: salesDs.id, tables: ["orders"] });
    const login = { access_token: user.token };

    // When it reads the table it was not granted
    const r = await s.request("POST", "/api/v1/query/sql", { token: login.access_token, body: { sql: "SELECT note FROM secret_notes", data_source_id: salesDs.id } });

    // Then: refused and recorded, and the note is nowhere in the answer
    const { body, text } = await expectProblem(r, 422);
    expect(body.detail).toContain("secret_notes");
    expect(text).not.toContain("eagle");
    const last = (await eventsOfType(s, "QueryRejected")).at(-1)!;
    expect(last.data).toMatchObject({ user_id: user.id, sql: "SELECT note FROM secret_notes", tables: ["secret_notes"] });

    // While the granted table works
    const ok = await c.ok("POST", "/api/v1/query/sql", login.access_token, { sql: "SELECT count(*) AS n FROM orders", data_source_id: salesDs.id }, 200);
    expect(Number(ok.rows[0].n)).toBe(20);
  });

  test("access: no grant is 403, another organization's data source is 404, and nothing is recorded", async () => {
    const stranger = await addMember(c, A);
    const before = (await eventsOfType(s, "QueryExecuted", "QueryRejected", "QueryFailed")).length;
    const noGrant = await expectProblem(await s.request("POST", "/api/v1/query", { token: stranger.token, body: { question: SEED_QUESTION, data_source_id: demo.id } }), 403);
    expect(noGrant.body.detail).toContain("no access grant");
    await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question: SEED_QUESTION, data_source_id: demoB.id } }), 404);
    await expectProblem(await s.request("POST", "/api/v1/query/validate", { token: analyst.token, body: { sql: "SELECT 1", data_source_id: demoB.id } }), 404);
    await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question: SEED_QUESTION, data_source_id: Bun.randomUUIDv7() } }), 404);
    expect((await eventsOfType(s, "QueryExecuted", "QueryRejected", "QueryFailed")).length).toBe(before);
  });

  test(
    "access: an expired grant is 403 at the next query",
    async () => {
      const user = await addMember(c, A);
      const expiresAt = new Date(Date.now() + 1500);
      await grant(c, A, user.id, { data_source_id: demo.id, expires_at: expiresAt.toISOString() });
      // Before expiry: answered
      await c.ok("POST", "/api/v1/query", user.token, { question: SEED_QUESTION, data_source_id: demo.id }, 200);
      await Bun.sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 100);
      // After: refused, naming the expiry
      const { body } = await expectProblem(await s.request("POST", "/api/v1/query", { token: user.token, body: { question: SEED_QUESTION, data_source_id: demo.id } }), 403);
      expect(body.detail).toContain("expired");
    },
    TEST_TIMEOUT_MS,
  );

  test("limits: max_rows caps the rows and sets truncated; more than 10000 is refused", async () => {
    const a = await c.ok("POST", "/api/v1/query/sql", A.adminToken, { sql: "SELECT id FROM orders ORDER BY id", data_source_id: salesDs.id, max_rows: 5 }, 200);
    expect(a.rows.map((r: any) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(a.row_count).toBe(5);
    expect(a.truncated).toBe(true);
    const [event] = await queryEvents(s, a.query_id);
    expect(event.data).toMatchObject({ row_count: 5, truncated: true });

    await expectProblem(await s.request("POST", "/api/v1/query/sql", { token: A.adminToken, body: { sql: "SELECT 1 AS one", data_source_id: salesDs.id, max_rows: 10_001 } }), 422);
  });

  test("execution error: a statement timeout is 422 with the database's message, recorded as QueryFailed at stage execution", async () => {
    const r = await s.request("POST", "/api/v1/query/sql", { token: A.adminToken, body: { sql: "SELECT count(*) FROM orders a, orders b, orders c, orders d, orders e, orders f", data_source_id: salesDs.id, timeout_ms: 50 } });
    const { body } = await expectProblem(r, 422);
    expect(body.detail).toContain("statement timeout");
    const failed = (await eventsOfType(s, "QueryFailed")).at(-1)!;
    expect(failed.data).toMatchObject({ user_id: A.adminId, source: "sql", stage: "execution" });
    expect(failed.data.error as string).toContain("statement timeout");
  });

  test("unreachable database: POST /query is 503 with a clear message, recorded as QueryFailed at stage connection", async () => {
    const down = await registerUnreachable(c, A);
    await grant(c, A, analyst.id, { data_source_id: down.id });
    const r = await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question: SEED_QUESTION, data_source_id: down.id } });
    const { body, text } = await expectProblem(r, 503);
    expect(body.detail).toContain("could not be reached");
    expect(text).not.toContain("Unreachable-Canary-1");
    const failed = (await eventsOfType(s, "QueryFailed")).at(-1)!;
    expect(failed.data).toMatchObject({ user_id: analyst.id, data_source_id: down.id, stage: "connection", sql: null, execution_ms: null });
    expect(JSON.stringify(failed.data)).not.toContain("Unreachable-Canary-1");
  });

  test("a question the built-in translator cannot answer is 422 with its plain message, recorded as QueryRejected with that message", async () => {
    const question = "What will the weather be like in Paris tomorrow?";
    const { body } = await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question, data_source_id: demo.id } }), 422);
    expect(body.detail.length).toBeGreaterThan(20);
    const rejected = (await eventsOfType(s, "QueryRejected")).at(-1)!;
    expect(rejected.data).toMatchObject({ user_id: analyst.id, question, sql: null, reasons: [body.detail], provider: "builtin", source: "question" });
  });

  test("bad input: a blank or missing question, unknown fields and a missing data source are 422", async () => {
    await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { data_source_id: demo.id } }), 422);
    await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question: "   ", data_source_id: demo.id } }), 422);
    await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question: SEED_QUESTION, data_source_id: demo.id, drop: true } }), 422);
    // The analyst holds several grants: the data source must be named
    const { body } = await expectProblem(await s.request("POST", "/api/v1/query", { token: analyst.token, body: { question: SEED_QUESTION } }), 422);
    expect(body.detail).toContain("data_source_id");
  });

  test("no event ever carries result rows: a value found only in the rows is in the answer but in no Query* event", async () => {
    const a = await c.ok("POST", "/api/v1/query/sql", A.adminToken, { sql: "SELECT product FROM orders WHERE id = 7", data_source_id: salesDs.id }, 200);
    expect(a.rows).toEqual([{ product: sales.rowCanary }]);
    const all = await eventsOfType(s, "QueryExecuted", "QueryRejected", "QueryFailed", "QueryHidden");
    expect(all.length).toBeGreaterThan(0);
    for (const e of all) expect(JSON.stringify(e.data)).not.toContain(sales.rowCanary);
  });

  describe("with an Anthropic API key (local stub)", () => {
    let sa: TestService;
    let ca: Caller;
    let stub: AnthropicStub;
    let O: OrgFixture;
    let ds: any;
    let member: { id: string; token: string };

    beforeAll(async () => {
      stub = await startAnthropicStub();
      sa = await startService(kind, { anthropicApiKey: "sk-ant-test-key-0123456789", anthropicBaseUrl: stub.url, anthropicModel: "claude-stub-1" });
      ca = caller(sa);
      O = await makeOrg(ca);
      ds = await registerPostgres(ca, O, sales, canaryPassword);
      member = await addMember(ca, O);
      await grant(ca, O, member.id, { data_source_id: ds.id, tables: ["orders"] });
    }, HOOK_TIMEOUT_MS);

    afterAll(async () => {
      await sa?.close();
      await stub?.stop();
    }, HOOK_TIMEOUT_MS);

    test("a question is answered via the model: usage in the answer and in QueryExecuted; the prompt holds only granted tables and no password", async () => {
      // Given the model's scripted answer
      stub.reset();
      const sql = "SELECT product, sum(amount) AS total FROM orders GROUP BY product ORDER BY total DESC LIMIT 5";
      stub.enqueue(sqlReply(sql, "The five products with the highest order totals.", { usage: { input_tokens: 321, output_tokens: 45 } }));

      // When the member asks
      const a = await ca.ok("POST", "/api/v1/query", member.token, { question: SEED_QUESTION, data_source_id: ds.id }, 200);

      // Then the model's SQL ran, and its tokens are reported
      expect(a).toMatchObject({ sql, explanation: "The five products with the highest order totals.", provider: "anthropic", model: "claude-stub-1", usage: { input_tokens: 321, output_tokens: 45 }, attempts: 1, tables: ["orders"] });
      expect(a.rows.length).toBe(5);
      const [event] = await queryEvents(sa, a.query_id);
      expect(event.data).toMatchObject({ source: "question", provider: "anthropic", model: "claude-stub-1", usage: { input_tokens: 321, output_tokens: 45 }, attempts: 1 });

      // And the model saw the granted table only, and no secret
      expect(stub.messageRequests.length).toBe(1);
      const raw = stub.messageRequests[0].raw;
      expect(raw).toContain("orders");
      expect(raw).toContain(SEED_QUESTION);
      expect(raw).not.toContain("secret_notes");
      expect(raw).not.toContain(canaryPassword);
      expect(raw).not.toContain(sales.rowCanary);
    });

    test("a model that writes SQL over a table not granted is asked once more, then refused: 422 and QueryRejected with both attempts' tokens", async () => {
      stub.reset();
      stub.enqueue(
        sqlReply("SELECT note FROM secret_notes", "Notes.", { usage: { input_tokens: 100, output_tokens: 10 } }),
        sqlReply("SELECT * FROM secret_notes", "Notes again.", { usage: { input_tokens: 120, output_tokens: 12 } }),
      );
      const { body, text } = await expectProblem(await sa.request("POST", "/api/v1/query", { token: member.token, body: { question: "Show me the secret notes", data_source_id: ds.id } }), 422);
      expect(body.detail).toContain("secret_notes");
      expect(text).not.toContain("eagle");
      expect(stub.messageRequests.length).toBe(2);
      const rejected = (await eventsOfType(sa, "QueryRejected")).at(-1)!;
      expect(rejected.data).toMatchObject({ source: "question", sql: "SELECT * FROM secret_notes", attempts: 2, usage: { input_tokens: 220, output_tokens: 22 }, provider: "anthropic" });
    });

    test("the provider failing is 503 with Retry-After, recorded as QueryFailed at stage generation", async () => {
      stub.reset();
      stub.responder = () => ({ status: 529, body: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } });
      try {
        const r = await sa.request("POST", "/api/v1/query", { token: member.token, body: { question: SEED_QUESTION, data_source_id: ds.id } });
        await expectProblem(r, 503);
        expect(r.headers.get("retry-after")).not.toBeNull();
      } finally {
        stub.responder = () => ({ status: 500, body: { type: "error", error: { type: "api_error", message: "no scripted reply" } } });
      }
      const failed = (await eventsOfType(sa, "QueryFailed")).at(-1)!;
      expect(failed.data).toMatchObject({ stage: "generation", sql: null, provider: "anthropic", user_id: member.id });
    });
  });
});
