/**
 * /analytics over HTTP: seed 003's analytics endpoints as written under /api and /api/v1,
 * with figures (counts, success rate, sources, data sources, tables, days, latency
 * percentiles, error rate) computed from exactly the query events the test appended;
 * CSV and JSON export; system views scoped to the admin's organization, or every
 * organization / one named for a super admin; refusals (403 without analytics.system,
 * 404 for another organization).
 */
import { beforeAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS } from "./_helpers";
import { appendQueryEvents } from "./_usage-helpers";
import { apiSuite, type Member, type Tenant } from "./_tenant";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
const V1 = "/api/v1";
const DS_A = "00000000-0000-7000-8000-00000000000a";
const DS_B = "00000000-0000-7000-8000-00000000000b";

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return Math.round((sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)) * 100) / 100;
}

describe.each(serviceKinds())("analytics (%s)", (kind) => {
  let s: TestService;
  let root: string;
  let org: Tenant;
  let other: Tenant;
  let member: Member;
  let colleague: Member;
  const generation = [120, 80, 300, 95, 410, 60, 150, 220, 90, 1000];
  const execution = [5, 12, 7, 30, 9, 11];
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  beforeAll(async () => {
    org = await tenant();
    other = await tenant();
    member = await addMember(org);
    colleague = await addMember(org);
    const yesterday = new Date(Date.now() - 86_400_000);
    await appendQueryEvents(s, [
      // Six executed (two yesterday), two rejected, two failed: ten model calls of the member.
      ...execution.map((ms, i) => ({
        organizationId: org.id,
        userId: member.id,
        generationMs: generation[i],
        executionMs: ms,
        dataSourceId: i < 4 ? DS_A : DS_B,
        tables: i % 2 === 0 ? ["orders", "customers"] : ["orders"],
        source: (i === 5 ? "chat" : "question") as "chat" | "question",
        input: 100,
        output: 10,
        at: i < 2 ? yesterday : undefined,
      })),
      { type: "QueryRejected", organizationId: org.id, userId: member.id, generationMs: generation[6], dataSourceId: DS_A, tables: ["secret"], input: 50, output: 5 },
      { type: "QueryRejected", organizationId: org.id, userId: member.id, generationMs: generation[7], dataSourceId: DS_A, tables: [], input: 50, output: 5 },
      { type: "QueryFailed", stage: "execution", organizationId: org.id, userId: member.id, generationMs: generation[8], executionMs: null, dataSourceId: DS_B, tables: ["orders"], input: 70, output: 7 },
      { type: "QueryFailed", stage: "generation", organizationId: org.id, userId: member.id, generationMs: generation[9], executionMs: null, dataSourceId: DS_B, tables: [], input: 0, output: 0 },
      // Direct SQL: no model, no generation latency.
      { organizationId: org.id, userId: member.id, source: "sql", provider: "none", model: "none", generationMs: 0, executionMs: 20, input: 0, output: 0, dataSourceId: DS_A, tables: ["orders"] },
      // A colleague and another organization: not the member's.
      { organizationId: org.id, userId: colleague.id, input: 1000, output: 100, tables: ["products"] },
      { organizationId: other.id, userId: other.adminId, input: 5000, output: 500, tables: ["invoices"] },
    ]);
  }, HOOK_TIMEOUT_MS);

  describe.each(["/api/v1", "/api"])("seed 003 examples under %s", (prefix) => {
    test("given the member's eleven queries, when it reads its usage, then counts, sources, data sources, tables and days equal them", async () => {
      const u = ok(await call("GET", `${prefix}/analytics/usage`, { token: member.token }));
      expect(u).toMatchObject({ user_id: member.id, total_queries: 11, successful_queries: 7, rejected_queries: 2, failed_queries: 2, success_rate: 0.6364 });
      expect(u.tokens).toEqual({ input_tokens: 770, output_tokens: 77, total_tokens: 847 });
      expect(u.by_source).toEqual([
        { source: "question", queries: 9, success_rate: 0.5556 },
        { source: "chat", queries: 1, success_rate: 1 },
        { source: "sql", queries: 1, success_rate: 1 },
      ]);
      expect(u.by_data_source).toEqual([
        { data_source_id: DS_A, queries: 7, succeeded: 5, rejected: 2, failed: 0, success_rate: 0.7143 },
        { data_source_id: DS_B, queries: 4, succeeded: 2, rejected: 0, failed: 2, success_rate: 0.5 },
      ]);
      expect(u.most_used_tables).toEqual([
        { table: "orders", queries: 8 },
        { table: "customers", queries: 3 },
        { table: "secret", queries: 1 },
      ]);
      expect(u.by_day).toHaveLength(30);
      expect(u.by_day.at(-1)).toMatchObject({ queries: 9, successful: 5, rejected: 2, failed: 2 });
      expect(u.by_day.at(-2)).toMatchObject({ queries: 2, successful: 2, total_tokens: 220 });
    });

    test("given the member's queries, when it reads its performance, then the percentiles are those of its latencies and the error rate its failures", async () => {
      const p = ok(await call("GET", `${prefix}/analytics/performance`, { token: member.token }));
      const executions = [...execution, 20];
      expect(p).toMatchObject({ total_queries: 11, executed: 7, rejected: 2, failed: 2, error_rate: 0.1818, rejection_rate: 0.1818 });
      expect(p.generation_ms).toEqual({
        count: 10,
        avg: generation.reduce((a, b) => a + b) / 10,
        p50: percentile(generation, 0.5),
        p95: percentile(generation, 0.95),
        p99: percentile(generation, 0.99),
        max: 1000,
      });
      expect(p.execution_ms).toMatchObject({ count: 7, p50: percentile(executions, 0.5), p95: percentile(executions, 0.95), max: 30 });
      expect(p.failures_by_stage).toEqual([
        { stage: "execution", count: 1 },
        { stage: "generation", count: 1 },
      ]);
    });

    test("given the member's queries, when it exports them as CSV and as JSON, then each holds its eleven rows and nothing of others", async () => {
      const csv = await s.request("GET", `${prefix}/analytics/export?format=csv`, { token: member.token });
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toStartWith("text/csv");
      expect(csv.headers.get("content-disposition")).toMatch(/attachment; filename="analytics-.*\.csv"/);
      const lines = (await csv.text()).trim().split("\r\n");
      expect(lines[0]).toBe("query_id,occurred_at,source,outcome,stage,data_source_id,chat_session_id,provider,model,input_tokens,output_tokens,generation_ms,execution_ms,row_count,tables,attempts");
      expect(lines.length).toBe(12);
      expect(lines.join("\n")).not.toContain("products");

      const json = ok(await call("GET", `${prefix}/analytics/export?format=json`, { token: member.token }));
      expect(json).toMatchObject({ user_id: member.id, count: 11, summary: { total_queries: 11 }, performance: { failed: 2 } });
      expect(json.queries.reduce((n: number, q: any) => n + q.input_tokens + q.output_tokens, 0)).toBe(847);
      const byDefault = ok(await call("GET", `${prefix}/analytics/export`, { token: member.token }));
      expect(byDefault.count).toBe(11);
    });

    test("given an organization admin, when it reads the system views, then they cover its organization only", async () => {
      const u = ok(await call("GET", `${prefix}/analytics/system/usage`, { token: org.adminToken }));
      expect(u).toMatchObject({ organization_id: org.id, total_queries: 12, tokens: { total_tokens: 847 + 1100 }, active_users: 2 });
      expect(u.top_users.map((t: any) => [t.user_id, t.queries, t.total_tokens])).toEqual([
        [colleague.id, 1, 1100],
        [member.id, 11, 847],
      ]);
      expect(u.most_used_tables.map((t: any) => t.table)).not.toContain("invoices");
      expect(u.by_organization).toBeUndefined();
      const p = ok(await call("GET", `${prefix}/analytics/system/performance`, { token: org.adminToken }));
      expect(p).toMatchObject({ organization_id: org.id, total_queries: 12, failed: 2 });
    });
  });

  test("given a super admin, when it reads the system usage, then it sees every organization, or the one it names", async () => {
    const all = ok(await call("GET", `${V1}/analytics/system/usage`, { token: root }));
    expect(all.organization_id).toBeNull();
    expect(all.total_queries).toBe(13);
    expect(Object.fromEntries(all.by_organization.map((o: any) => [o.organization_id, o.total_tokens]))).toEqual({ [org.id]: 1947, [other.id]: 5500 });
    const one = ok(await call("GET", `${V1}/analytics/system/usage?organization_id=${other.id}`, { token: root }));
    expect(one).toMatchObject({ organization_id: other.id, total_queries: 1, tokens: { total_tokens: 5500 } });
    const perf = ok(await call("GET", `${V1}/analytics/system/performance?organization_id=${org.id}&days=7`, { token: root }));
    expect(perf).toMatchObject({ organization_id: org.id, total_queries: 12, period: { days: 7 } });
  });

  test("given a member without analytics.system, or an admin naming another organization, when the system views are read, then 403 and 404", async () => {
    problem(await call("GET", `${V1}/analytics/system/usage`, { token: member.token }), 403);
    problem(await call("GET", `${V1}/analytics/system/performance`, { token: member.token }), 403);
    problem(await call("GET", `${V1}/analytics/system/usage?organization_id=${other.id}`, { token: org.adminToken }), 404);
    problem(await call("GET", `${V1}/analytics/usage?days=0`, { token: member.token }), 422);
    problem(await call("GET", `${V1}/analytics/export?format=xml`, { token: member.token }), 422);
    problem(await call("GET", `${V1}/analytics/usage`), 401);
  });

  test("given a one-day period, when the member reads its usage, then yesterday's queries are left out", async () => {
    const u = ok(await call("GET", `${V1}/analytics/usage?days=1`, { token: member.token }));
    expect(u).toMatchObject({ total_queries: 9, period: { days: 1 } });
    expect(u.by_day).toHaveLength(1);
  });
});
