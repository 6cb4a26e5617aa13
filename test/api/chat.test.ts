/**
 * Chat over HTTP (issue 6, item 9): seed 000's flow as written (onboard Innovate Corp,
 * log in, bulk-upload its unreachable production database, grant it, start a session,
 * post the seed's message, read the history) under /api and /api/v1 — the unreachable
 * database answers with an assistant error, not a 500; seed 003's chat endpoints on the
 * embedded demo database with the model behind a local stub: the earlier turns go to the
 * model as context (text and SQL, never rows), answers keep at most 5 preview rows,
 * POST /sessions/{id}/query answers in the query shape; sessions are their owner's only
 * (another user's session is 404 everywhere); deletion; GET /status.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { startAnthropicStub, sqlReply, type AnthropicStub } from "../support/anthropic-stub";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, UUID_V7, expectProblem } from "./_helpers";
import { addMember, caller, makeOrg, registerDemo, type Caller, type OrgFixture } from "./_data-access-helpers";
import { eventsOfType, grant, queryEvents, registerUnreachable } from "./_query-helpers";

const PREFIXES = ["/api", "/api/v1"];

const SEED_ONBOARD = {
  organization: { name: "Innovate Corp", domain: "innovatecorp.com" },
  roles: [
    { name: "Data Analyst", description: "Can view dashboards and run queries." },
    { name: "Project Manager", description: "Manages projects and users." },
  ],
  users: [
    { email: "admin@innovatecorp.com", password: "StrongPassword123!", first_name: "Org", last_name: "Admin", is_admin: true },
    { email: "analyst@innovatecorp.com", password: "AnotherPassword456!", first_name: "Data", last_name: "Person", is_admin: false, roles: ["Data Analyst"] },
  ],
};
const SEED_LOGIN = { email: "admin@innovatecorp.com", password: "StrongPassword123!", organization: "innovatecorp.com" };
const SEED_BULK = [
  { name: "Production Postgres DB", type: "postgresql", host: "prod.db.innovatecorp.com", port: 5432, database_name: "sales", username: "readonly_user", password: "ThisWillBeEncrypted" },
];
const SEED_SESSION = { title: "Q3 Product Sales Analysis" };
const SEED_MESSAGE = { query: "Show me the top 5 selling products last month." };

describe.each(serviceKinds())("chat [%s]", (kind) => {
  let s: TestService;
  let c: Caller;
  let stub: AnthropicStub;
  let A: OrgFixture;
  let B: OrgFixture;
  let demo: any;
  let member: { id: string; token: string };
  let other: { id: string; token: string };

  beforeAll(async () => {
    stub = await startAnthropicStub();
    s = await startService(kind, { anthropicApiKey: "sk-ant-chat-test-key-0123456789", anthropicBaseUrl: stub.url, anthropicModel: "claude-stub-1" });
    c = caller(s);
    A = await makeOrg(c);
    B = await makeOrg(c);
    demo = await registerDemo(c, A);
    member = await addMember(c, A);
    other = await addMember(c, A);
    await grant(c, A, member.id, { data_source_id: demo.id });
    await grant(c, A, other.id, { data_source_id: demo.id });
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
    await stub?.stop();
  }, HOOK_TIMEOUT_MS);

  test(
    "seed 000 as written: a message to the organization's unreachable database gets an assistant error message, not a 500 (under /api and /api/v1)",
    async () => {
      // Given the seed's organization, its admin logged in, its production database uploaded and granted
      const root = await s.superAdminToken();
      await c.ok("POST", "/api/organizations/onboard", root, SEED_ONBOARD, 201);
      const login = await c.ok("POST", "/api/auth/login", undefined, SEED_LOGIN, 200);
      const jwt = login.access_token as string;
      const userId = login.user.id as string;
      const bulk = await c.call("POST", "/api/datasources/bulk-upload", jwt, SEED_BULK);
      expect(bulk.status).toBeLessThan(300);
      const dataSourceId = bulk.body.results[0].data_source.id as string;
      await c.ok("POST", `/api/users/${userId}/database-access`, jwt, { data_source_id: dataSourceId }, 201);

      for (const prefix of PREFIXES) {
        stub.reset();
        // When the admin starts the seed's session and posts the seed's message
        const session = await c.ok("POST", `${prefix}/chat/sessions`, jwt, SEED_SESSION, 201);
        expect(session).toMatchObject({ title: "Q3 Product Sales Analysis", data_source_id: dataSourceId, message_count: 0 });
        expect(session.id).toMatch(UUID_V7);
        const posted = await c.call("POST", `${prefix}/chat/sessions/${session.id}/messages`, jwt, SEED_MESSAGE);

        // Then both messages are stored, the assistant's carrying a clear error
        expect({ status: posted.status, text: posted.text.slice(0, 300) }).toMatchObject({ status: 201 });
        expect(posted.body.user_message).toMatchObject({ role: "user", content: SEED_MESSAGE.query, error: null });
        expect(posted.body.assistant_message.role).toBe("assistant");
        expect(posted.body.assistant_message.error).toContain("could not be reached");
        expect(posted.body.assistant_message.error).toContain("Production Postgres DB");
        expect(posted.text).not.toContain("ThisWillBeEncrypted");
        // The model was never asked: there was no schema to give it
        expect(stub.messageRequests.length).toBe(0);

        // And the seed's history read shows them
        const history = await c.ok("GET", `${prefix}/chat/sessions/${session.id}/messages`, jwt, undefined, 200);
        expect(history.messages.map((m: any) => m.role)).toEqual(["user", "assistant"]);
        expect(history.messages[1].error).toContain("could not be reached");
        expect(history.total).toBe(2);

        // And the failed query is recorded, tied to the session
        const failed = await queryEvents(s, posted.body.assistant_message.query_id);
        expect(failed.map((e) => e.type)).toEqual(["QueryFailed"]);
        expect(failed[0].data).toMatchObject({ source: "chat", chat_session_id: session.id, stage: "connection", data_source_id: dataSourceId });
      }
    },
    TEST_TIMEOUT_MS * 2,
  );

  for (const prefix of PREFIXES) {
    test(
      `seed 003 under ${prefix}: create, list, get, post messages with context, query, read messages, delete`,
      async () => {
        stub.reset();
        // Given a session on the demo database
        const session = await c.ok("POST", `${prefix}/chat/sessions`, member.token, { title: "Sales questions", data_source_id: demo.id }, 201);
        expect(session).toMatchObject({ title: "Sales questions", data_source_id: demo.id, user_id: member.id, organization_id: A.id, message_count: 0, messages: [] });

        // When the member asks a first question
        const firstSql = "SELECT name, unit_price FROM products ORDER BY unit_price DESC, name LIMIT 8";
        stub.enqueue(sqlReply(firstSql, "The most expensive products.", { usage: { input_tokens: 200, output_tokens: 30 } }));
        const first = await c.ok("POST", `${prefix}/chat/sessions/${session.id}/messages`, member.token, { query: "Which products cost the most?" }, 201);

        // Then the answer carries the SQL and a preview of at most 5 rows
        expect(first.user_message).toMatchObject({ role: "user", content: "Which products cost the most?", sql: null, preview_rows: [] });
        expect(first.assistant_message).toMatchObject({ role: "assistant", sql: firstSql, columns: ["name", "unit_price"], row_count: 8, error: null });
        expect(first.assistant_message.content).toContain("The most expensive products.");
        expect(first.assistant_message.preview_rows.length).toBe(5);
        expect(first.message_count).toBe(2);

        // When a second question follows (aliases `content` of the body)
        const secondSql = "SELECT count(*) AS n FROM products";
        stub.enqueue(sqlReply(secondSql, "How many products there are.", { usage: { input_tokens: 250, output_tokens: 20 } }));
        const second = await c.ok("POST", `${prefix}/chat/sessions/${session.id}/messages`, member.token, { content: "And how many are there?" }, 201);
        expect(second.assistant_message.sql).toBe(secondSql);

        // Then the model saw the first turn (question and SQL) as context, and no result rows
        expect(stub.messageRequests.length).toBe(2);
        const contextRequest = stub.messageRequests[1];
        expect(contextRequest.raw).toContain("Which products cost the most?");
        expect(contextRequest.raw).toContain(firstSql);
        expect(contextRequest.raw).toContain("And how many are there?");
        const previewName = String(first.assistant_message.preview_rows[0].name);
        expect(contextRequest.raw).not.toContain(previewName);
        expect(contextRequest.body.messages.map((m: any) => m.role)).toEqual(["user", "assistant", "user"]);

        // When asking through POST /sessions/{id}/query
        stub.enqueue(sqlReply("SELECT name FROM categories ORDER BY name", "The categories.", { usage: { input_tokens: 50, output_tokens: 5 } }));
        const q = await c.ok("POST", `${prefix}/chat/sessions/${session.id}/query`, member.token, { query: "List the categories" }, 200);
        expect(q).toMatchObject({ session_id: session.id, sql: "SELECT name FROM categories ORDER BY name", model: "claude-stub-1", usage: { input_tokens: 50, output_tokens: 5 }, source: "chat" });
        expect(q.rows.length).toBe(q.row_count);
        expect(q.user_message_id).toMatch(UUID_V7);
        expect(q.assistant_message_id).toMatch(UUID_V7);
        const [qEvent] = await queryEvents(s, q.query_id);
        expect(qEvent.data).toMatchObject({ source: "chat", chat_session_id: session.id, usage: { input_tokens: 50, output_tokens: 5 } });

        // Then the session shows six messages in order, with their count
        const detail = await c.ok("GET", `${prefix}/chat/sessions/${session.id}`, member.token, undefined, 200);
        expect(detail.message_count).toBe(6);
        expect(detail.messages.map((m: any) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user", "assistant"]);
        expect(detail.messages[5].id).toBe(q.assistant_message_id);
        const messages = await c.ok("GET", `${prefix}/chat/sessions/${session.id}/messages?page=2&size=4`, member.token, undefined, 200);
        expect(messages).toMatchObject({ total: 6, page: 2, size: 4, pages: 2 });
        expect(messages.messages.map((m: any) => m.content)).toEqual([detail.messages[4].content, detail.messages[5].content]);

        // And the session is listed for its owner only
        const mine = await c.ok("GET", `${prefix}/chat/sessions`, member.token, undefined, 200);
        expect(mine.sessions.map((x: any) => x.id)).toContain(session.id);
        const theirs = await c.ok("GET", `${prefix}/chat/sessions?skip=0&limit=50`, other.token, undefined, 200);
        expect(theirs.sessions.map((x: any) => x.id)).not.toContain(session.id);

        // When it is deleted, it is gone, and the events stay
        await c.ok("DELETE", `${prefix}/chat/sessions/${session.id}`, member.token, undefined, 200);
        await expectProblem(await s.request("GET", `${prefix}/chat/sessions/${session.id}`, { token: member.token }), 404);
        await expectProblem(await s.request("GET", `${prefix}/chat/sessions/${session.id}/messages`, { token: member.token }), 404);
        await expectProblem(await s.request("POST", `${prefix}/chat/sessions/${session.id}/messages`, { token: member.token, body: { query: "Still there?" } }), 404);
        expect((await c.ok("GET", `${prefix}/chat/sessions`, member.token, undefined, 200)).sessions.map((x: any) => x.id)).not.toContain(session.id);
        const stored = await s.deps.store.readStream(`chat_session-${session.id}`);
        expect(stored.map((e) => e.type)).toEqual(["ChatSessionStarted", ...Array(6).fill("ChatMessagePosted"), "ChatSessionDeleted"]);
        expect(stored.at(-1)!.data).toEqual({ session_id: session.id, deleted_by: member.id });
      },
      TEST_TIMEOUT_MS * 2,
    );
  }

  test("another user's session is 404 for every route, and nothing is recorded on it", async () => {
    stub.reset();
    const session = await c.ok("POST", "/api/v1/chat/sessions", member.token, { title: "Private", data_source_id: demo.id }, 201);
    const base = `/api/v1/chat/sessions/${session.id}`;
    for (const token of [other.token, B.adminToken]) {
      await expectProblem(await s.request("GET", base, { token }), 404);
      await expectProblem(await s.request("GET", `${base}/messages`, { token }), 404);
      await expectProblem(await s.request("POST", `${base}/messages`, { token, body: { query: "Peek" } }), 404);
      await expectProblem(await s.request("POST", `${base}/query`, { token, body: { query: "Peek" } }), 404);
      await expectProblem(await s.request("DELETE", base, { token }), 404);
    }
    expect(stub.messageRequests.length).toBe(0);
    expect((await s.deps.store.readStream(`chat_session-${session.id}`)).map((e) => e.type)).toEqual(["ChatSessionStarted"]);
    await expectProblem(await s.request("GET", "/api/v1/chat/sessions/not-a-uuid", { token: member.token }), 404);
  });

  test("another organization's data source cannot start a session (404); a message needs a text (422)", async () => {
    const demoB = await registerDemo(c, B);
    await expectProblem(await s.request("POST", "/api/v1/chat/sessions", { token: member.token, body: { title: "x", data_source_id: demoB.id } }), 404);
    const session = await c.ok("POST", "/api/v1/chat/sessions", member.token, { title: "Empty", data_source_id: demo.id }, 201);
    await expectProblem(await s.request("POST", `/api/v1/chat/sessions/${session.id}/messages`, { token: member.token, body: {} }), 422);
    await expectProblem(await s.request("POST", `/api/v1/chat/sessions/${session.id}/messages`, { token: member.token, body: { query: "a", content: "b" } }), 422);
    await expectProblem(await s.request("POST", `/api/v1/chat/sessions/${session.id}/messages`, { token: member.token, body: { query: "a", extra: 1 } }), 422);
  });

  test("a session without a data source, for a user with several, answers that it needs one", async () => {
    const user = await addMember(c, A);
    await grant(c, A, user.id, { data_source_id: demo.id });
    const down = await registerUnreachable(c, A);
    await grant(c, A, user.id, { data_source_id: down.id });
    const session = await c.ok("POST", "/api/v1/chat/sessions", user.token, { title: "Which one?" }, 201);
    expect(session.data_source_id).toBeNull();
    const posted = await c.ok("POST", `/api/v1/chat/sessions/${session.id}/messages`, user.token, { message: "How many customers?" }, 201);
    expect(posted.assistant_message.error).toContain("data source");
    expect(posted.assistant_message.query_id).toBeNull();
  });

  test("GET /chat/status: provider, model, key configured (never the key), and the reachability of each accessible data source", async () => {
    const user = await addMember(c, A);
    await grant(c, A, user.id, { data_source_id: demo.id });
    const down = await registerUnreachable(c, A);
    await grant(c, A, user.id, { data_source_id: down.id });
    for (const prefix of PREFIXES) {
      const r = await c.call("GET", `${prefix}/chat/status`, user.token);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ provider: "anthropic", model: "claude-stub-1", key_configured: true });
      expect(r.text).not.toContain("sk-ant-chat-test-key");
      expect(r.text).not.toContain("Unreachable-Canary-1");
      const byId = Object.fromEntries(r.body.data_sources.map((d: any) => [d.id, d]));
      expect(Object.keys(byId).sort()).toEqual([demo.id, down.id].sort());
      expect(byId[demo.id]).toMatchObject({ name: demo.name, type: "embedded-demo", reachable: true });
      expect(byId[down.id]).toMatchObject({ type: "postgresql", reachable: false });
    }
  });

  test("chat needs chat.use: an API key scoped to query.execute only is refused (403); no credentials 401", async () => {
    const key = await c.ok("POST", "/api/v1/apikeys", member.token, { name: "query only", scopes: ["query.execute"] }, 201);
    const r = await s.request("GET", "/api/v1/chat/sessions", { headers: { "x-api-key": key.api_key } });
    await expectProblem(r, 403);
    await expectProblem(await s.request("POST", "/api/v1/chat/sessions", { headers: { "x-api-key": key.api_key }, body: { title: "no" } }), 403);
    await expectProblem(await s.request("GET", "/api/v1/chat/sessions"), 401);
    // The same key may still query
    const ok = await c.call("POST", "/api/v1/query/validate", undefined, { sql: "SELECT 1" }, { "x-api-key": key.api_key });
    expect(ok.status).toBe(200);
  });

  test("ChatMessagePosted keeps at most 5 preview rows, and no event holds a row beyond them", async () => {
    stub.reset();
    // Given a session whose answer has 20 rows
    const session = await c.ok("POST", "/api/v1/chat/sessions", member.token, { title: "Rows", data_source_id: demo.id }, 201);
    stub.enqueue(sqlReply("SELECT email FROM customers ORDER BY email LIMIT 20", "Customer e-mails."));

    // When it is asked through the query endpoint (which answers with every row)
    const q = await c.ok("POST", `/api/v1/chat/sessions/${session.id}/query`, member.token, { query: "List customer e-mails" }, 200);
    expect(q.rows.length).toBe(20);

    // Then the transcript keeps the first 5 rows only
    const posted = (await s.deps.store.readStream(`chat_session-${session.id}`)).filter((e) => e.type === "ChatMessagePosted");
    expect(posted[1].data).toMatchObject({ role: "assistant", row_count: 20, preview_rows: q.rows.slice(0, 5) });

    // And none of the other 15 e-mails is in any event
    const all = JSON.stringify((await eventsOfType(s, "QueryExecuted", "QueryRejected", "QueryFailed", "ChatMessagePosted", "ChatSessionStarted")).map((e) => e.data));
    for (const row of q.rows.slice(5)) expect(all).not.toContain(String(row.email));
    expect(all).toContain(String(q.rows[0].email));
  });
});
