/**
 * The limiter under concurrency and across processes: twenty parallel reservations at
 * the edge of a budget overspend by at most one query; a reservation released or settled
 * twice changes nothing; two API processes on one PostgreSQL database share the limits
 * (rate and budget) and hear each other's cache clears; and end to end, POST /query is
 * refused with 429 + Retry-After once over the rate, and the real query shows up in the
 * usage ledger and analytics.
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, eventually } from "../api/_helpers";
import { appendQueryEvents, client } from "../api/_usage-helpers";
import { startAnthropicStub, sqlReply, type AnthropicStub } from "../support/anthropic-stub";
import { afterModelCall, beforeModelCall, LimitExceededError, release, type Reservation } from "../../src/limits/limiter";
import { postgresClient } from "../../src/db/client";
import { buildDeps } from "../../src/wiring";
import { createApp } from "../../src/app";
import { Logger } from "../../src/logger";
import type { Deps } from "../../src/deps";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
const V1 = "/api/v1";

/** Tokens a budget row holds for a user's day. */
async function budgetOf(deps: Deps, organizationId: string, userId: string, period: "day" | "month" = "day") {
  const [row] = await deps.db.query<{ spent: string; reserved: string; requests: string }>(
    "SELECT spent::text, reserved::text, requests::text FROM token_budget_usage WHERE organization_id = $1 AND user_id = $2 AND period = $3",
    [organizationId, period === "day" ? userId : organizationId, period],
  );
  return { spent: Number(row?.spent ?? 0), reserved: Number(row?.reserved ?? 0), requests: Number(row?.requests ?? 0) };
}

describe.each(serviceKinds())("limiter (%s)", (kind) => {
  let s: TestService;
  const { call, ok, problem, newOrg, addMember } = client(() => s);

  beforeAll(async () => {
    s = await startService(kind);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  test("given a budget of 10,500 tokens, when twenty 1,000-token calls race for it, then ten pass, ten get 429, and spending stays within one query of the limit", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 10_500 } }));
    const caller = { userId: member.id, organizationId: org.id };

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async () => {
        try {
          const r = await beforeModelCall(s.deps, caller, "query", { estimate: 1000 });
          await Bun.sleep(Math.random() * 20); // the model thinks
          await afterModelCall(s.deps, r, { input_tokens: 800, output_tokens: 200 });
          return "ok";
        } catch (err) {
          if (err instanceof LimitExceededError) return err.limit;
          throw err;
        }
      }),
    );
    expect(outcomes.filter((o) => o === "ok").length).toBe(10);
    expect(outcomes.filter((o) => o === "user_daily_tokens").length).toBe(10);
    const budget = await budgetOf(s.deps, org.id, member.id);
    expect(budget).toEqual({ spent: 10_000, reserved: 0, requests: 10 });
    expect(budget.spent).toBeLessThanOrEqual(10_500 + 1000);
  });

  test("given calls that use more than their estimate, when twenty race for the budget, then the overspend is at most one query", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 5_000 } }));
    const caller = { userId: member.id, organizationId: org.id };
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const r = await beforeModelCall(s.deps, caller, "query", { estimate: 900 }).catch(() => null);
        if (r) await afterModelCall(s.deps, r, { input_tokens: 900, output_tokens: 100 });
      }),
    );
    const budget = await budgetOf(s.deps, org.id, member.id);
    // Five reservations of 900 fit in 5,000; each really used 1,000.
    expect(budget.requests).toBe(5);
    expect(budget.spent).toBe(5_000);
    expect(budget.spent).toBeLessThanOrEqual(5_000 + 1_000);
  });

  test("given a reservation, when it is released, then its tokens are free again; settling or releasing twice changes nothing", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 1_000 } }));
    const caller = { userId: member.id, organizationId: org.id };
    const first: Reservation = await beforeModelCall(s.deps, caller, "query", { estimate: 1_000 });
    expect(await budgetOf(s.deps, org.id, member.id)).toEqual({ spent: 0, reserved: 1_000, requests: 0 });
    expect(await beforeModelCall(s.deps, caller, "query", { estimate: 1 }).catch((e) => e)).toBeInstanceOf(LimitExceededError);
    await release(first);
    await release(first);
    await afterModelCall(s.deps, first, { input_tokens: 500, output_tokens: 0 });
    expect(await budgetOf(s.deps, org.id, member.id)).toEqual({ spent: 0, reserved: 0, requests: 0 });
    const second = await beforeModelCall(s.deps, caller, "query", { estimate: 1_000 });
    await afterModelCall(s.deps, second, { input_tokens: 300, output_tokens: 0 });
    await afterModelCall(s.deps, second, { input_tokens: 300, output_tokens: 0 });
    expect(await budgetOf(s.deps, org.id, member.id)).toEqual({ spent: 300, reserved: 0, requests: 1 });
  });

  test("given an organization's monthly budget, when its users together pass it, then the next call of any of them is refused", async () => {
    const org = await newOrg();
    const a = await addMember(org);
    const b = await addMember(org);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { organization_monthly_tokens: 1_500 } }));
    await afterModelCall(s.deps, await beforeModelCall(s.deps, { userId: a.id, organizationId: org.id }, "query", { estimate: 700 }), { input_tokens: 700, output_tokens: 0 });
    await afterModelCall(s.deps, await beforeModelCall(s.deps, { userId: b.id, organizationId: org.id }, "chat", { estimate: 700 }), { input_tokens: 700, output_tokens: 0 });
    const refused = await beforeModelCall(s.deps, { userId: a.id, organizationId: org.id }, "query", { estimate: 700 }).catch((e) => e);
    expect(refused).toMatchObject({ limit: "organization_monthly_tokens", kind: "too_many" });
    expect(refused.extra.retryAfterSeconds).toBeGreaterThan(0);
    expect(await budgetOf(s.deps, org.id, a.id, "month")).toEqual({ spent: 1_400, reserved: 0, requests: 2 });
  });

  test("given no recorded usage yet, when a call is reserved without an estimate, then the default estimate is held; with history, the largest recent call", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    const caller = { userId: member.id, organizationId: org.id };
    const r = await beforeModelCall(s.deps, caller, "query");
    expect(r.estimate).toBe(2_000);
    await release(r);
    await appendQueryEvents(s, [
      { organizationId: org.id, userId: member.id, input: 1_200, output: 300 },
      { organizationId: org.id, userId: member.id, input: 400, output: 100 },
    ]);
    const informed = await beforeModelCall(s.deps, caller, "query");
    expect(informed.estimate).toBe(1_500);
    await release(informed);
  });

});

describe.each(serviceKinds())("limits end to end through POST /query (%s)", (kind) => {
  let s: TestService;
  let stub: AnthropicStub;
  const { call, ok, problem, newOrg, addMember } = client(() => s);

  beforeAll(async () => {
    stub = await startAnthropicStub();
    s = await startService(kind, { anthropicApiKey: "sk-ant-test-key-0123456789", anthropicBaseUrl: stub.url, anthropicModel: "claude-stub-1" });
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
    await stub?.stop();
  }, HOOK_TIMEOUT_MS);

  test("given one query per minute, when a member asks twice, then the second is 429 with Retry-After before the model is called, and the first is in the ledger with its tokens", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    const demo = ok(await call("POST", `${V1}/datasources`, { token: org.adminToken, body: { name: "Demo", type: "embedded-demo" } }), 201);
    ok(await call("POST", `${V1}/users/${member.id}/database-access`, { token: org.adminToken, body: { data_source_id: demo.id } }), 201);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { query_requests_per_minute: 1 } }));
    stub.reset();
    stub.enqueue(sqlReply("SELECT count(*) AS n FROM customers", "How many customers.", { usage: { input_tokens: 640, output_tokens: 32 } }));
    stub.enqueue(sqlReply("SELECT count(*) AS n FROM orders", "How many orders.", { usage: { input_tokens: 1, output_tokens: 1 } }));

    const first = ok(await call("POST", `${V1}/query`, { token: member.token, body: { question: "How many customers are there?", data_source_id: demo.id } }));
    expect(first.usage).toEqual({ input_tokens: 640, output_tokens: 32 });
    const second = await call("POST", "/api/query", { token: member.token, body: { question: "How many orders are there?", data_source_id: demo.id } });
    problem(second, 429);
    const retryAfter = Number(second.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(stub.messageRequests.length).toBe(1);

    await s.deps.projector.waitFor(await s.deps.store.headPosition());
    const usage = ok(await call("GET", `${V1}/analytics/usage`, { token: member.token }));
    expect(usage).toMatchObject({ total_queries: 1, successful_queries: 1, tokens: { input_tokens: 640, output_tokens: 32, total_tokens: 672 }, by_source: [{ source: "question", queries: 1 }] });
    expect(usage.by_data_source).toMatchObject([{ data_source_id: demo.id, queries: 1 }]);
    expect(usage.most_used_tables).toEqual([{ table: "customers", queries: 1 }]);
    expect(ok(await call("GET", `${V1}/tokens/limits`, { token: member.token })).usage.user_daily_tokens).toMatchObject({ spent: 672, reserved: 0, requests: 1 });
    const metrics = await (await s.request("GET", "/metrics")).text();
    expect(metrics).toMatch(/ledgerline_queries_total\{outcome="executed",source="question"\} 1/);
    expect(metrics).toMatch(/ledgerline_model_tokens_total\{model="claude-stub-1",direction="input"\} 640/);
    expect(metrics).toMatch(/ledgerline_rate_limited_requests_total\{kind="query",limit="rate"\} 1/);
  }, 120_000);
});

describe.skipIf(!process.env.DATABASE_URL)("two API processes on one PostgreSQL database", () => {
  let s: TestService;
  let other: { deps: Deps; app: ReturnType<typeof createApp>; lines: string[] };
  const { call, ok, newOrg, addMember } = client(() => s);

  beforeAll(async () => {
    s = await startService("postgres");
    const lines: string[] = [];
    const db = postgresClient(s.database.url!, { max: 10 });
    const deps = await buildDeps(s.deps.config, db, { logger: new Logger("debug", (l) => lines.push(l)) });
    deps.projector.start();
    await deps.security.start();
    other = { deps, app: createApp(deps), lines };
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    if (other) {
      await other.deps.apiKeyUsage.stop();
      await other.deps.accessDenied.stop();
      await other.deps.projector.stop();
      await other.deps.security.stop();
      await other.deps.store.close();
      await other.deps.db.close();
    }
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  test("given limits set through one process, when a member calls through both, then the rate and the budget are shared", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { query_requests_per_minute: 3, user_daily_tokens: 100_000 } }));
    const caller = { userId: member.id, organizationId: org.id };
    await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "query", { estimate: 10 }), { input_tokens: 10, output_tokens: 0 });
    await afterModelCall(other.deps, await beforeModelCall(other.deps, caller, "query", { estimate: 10 }), { input_tokens: 10, output_tokens: 0 });
    await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "query", { estimate: 10 }), { input_tokens: 10, output_tokens: 0 });
    expect(await beforeModelCall(other.deps, caller, "query", { estimate: 10 }).catch((e) => e)).toMatchObject({ limit: "rate" });
    expect(await beforeModelCall(s.deps, caller, "query", { estimate: 10 }).catch((e) => e)).toMatchObject({ limit: "rate" });
  });

  test("given a budget of ten calls, when twenty race through two processes, then exactly ten pass", async () => {
    const org = await newOrg();
    const member = await addMember(org);
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 10_000 } }));
    const caller = { userId: member.id, organizationId: org.id };
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const deps = i % 2 === 0 ? s.deps : other.deps;
        const r = await beforeModelCall(deps, caller, "query", { estimate: 1000 }).catch((e) => e);
        if (r instanceof LimitExceededError) return "refused";
        if (r instanceof Error) throw r;
        await afterModelCall(deps, r, { input_tokens: 1000, output_tokens: 0 });
        return "ok";
      }),
    );
    expect(outcomes.filter((o) => o === "ok").length).toBe(10);
    expect(await budgetOf(s.deps, org.id, member.id)).toEqual({ spent: 10_000, reserved: 0, requests: 10 });
  });

  test("given limits changed through one process, when the other reads them, then it sees the change at once", async () => {
    const org = await newOrg();
    ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { chat_requests_per_minute: 7 } }));
    const res = await other.app.handle(new Request(`http://localhost${V1}/tokens/limits`, { headers: { authorization: `Bearer ${org.adminToken}` } }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { limits: { chat_requests_per_minute: number } }).limits.chat_requests_per_minute).toBe(7);
  });

  test("given a cache clear in one process, when it is posted, then the other process clears its caches too", async () => {
    const root = await s.superAdminToken();
    const cleared = ok(await call("POST", `${V1}/admin/system/cache/clear`, { token: root }));
    expect(cleared).toMatchObject({ cleared: ["verified_tokens", "schemas"], other_processes_notified: true });
    await eventually(() => expect(other.lines.some((l) => l.includes("caches cleared on request of another process"))).toBe(true), 500);
    // This process's own clear is not repeated when its notification comes back.
    await Bun.sleep(100);
    expect(s.logLines.some((l) => l.includes("caches cleared on request of another process"))).toBe(false);
  });
});
