/**
 * /auth statistics over HTTP: seed 003's stats endpoints as written under /api and
 * /api/v1; the caller's figures equal the tokens of the query events the test appended
 * (and nobody else's); admin stats count the logins, failed logins, lockouts, active
 * users and registrations that happened, scoped to the admin's organization, every
 * organization or a named one for a super admin.
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { TEST_TIMEOUT_MS } from "./_helpers";
import { appendQueryEvents } from "./_usage-helpers";
import { apiSuite, PASSWORD } from "./_tenant";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
const V1 = "/api/v1";
const today = () => new Date().toISOString().slice(0, 10);

describe.each(serviceKinds())("auth stats (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  describe.each(["/api/v1", "/api"])("seed 003 examples under %s", (prefix) => {
    test("given a member's query events, when it reads stats, model-stats, token-breakdown and daily-model-stats?days=30, then each holds exactly its tokens", async () => {
      const org = await tenant({ members: [{}, {}] });
      const [member, colleague] = org.members;
      await appendQueryEvents(s, [
        { organizationId: org.id, userId: member.id, model: "claude-a", input: 1000, output: 200, source: "question", generationMs: 100, executionMs: 10 },
        { organizationId: org.id, userId: member.id, model: "claude-a", input: 500, output: 100, source: "chat", generationMs: 300, executionMs: 30 },
        { organizationId: org.id, userId: member.id, model: "claude-b", input: 300, output: 0, type: "QueryRejected", generationMs: 200 },
        { organizationId: org.id, userId: colleague.id, model: "claude-a", input: 7777, output: 7777 },
      ]);

      const stats = ok(await call("GET", `${prefix}/auth/stats`, { token: member.token }));
      expect(stats).toMatchObject({
        user_id: member.id,
        organization_id: org.id,
        total_queries: 3,
        successful_queries: 2,
        rejected_queries: 1,
        failed_queries: 0,
        total_input_tokens: 1800,
        total_output_tokens: 300,
        total_tokens: 2100,
        avg_generation_ms: 200,
        avg_execution_ms: 20,
        queries_today: 3,
        tokens_today: 2100,
        all_time: { total_queries: 3, total_tokens: 2100 },
        last_login_date: today(),
      });
      expect(stats.first_query_at <= stats.last_query_at).toBe(true);

      const models = ok(await call("GET", `${prefix}/auth/model-stats`, { token: member.token }));
      expect(models).toMatchObject({ total_models: 2, total_tokens: 2100 });
      expect(models.models.map((m: any) => [m.model, m.requests, m.total_tokens, m.token_share_percent])).toEqual([
        ["claude-a", 2, 1800, 85.71],
        ["claude-b", 1, 300, 14.29],
      ]);

      const breakdown = ok(await call("GET", `${prefix}/auth/token-breakdown`, { token: member.token }));
      expect(breakdown.total).toEqual({ input_tokens: 1800, output_tokens: 300, total_tokens: 2100, requests: 3 });
      expect(breakdown.by_type).toEqual({ input: { tokens: 1800, percent: 85.71 }, output: { tokens: 300, percent: 14.29 } });
      expect(Object.fromEntries(breakdown.by_category.map((c: any) => [c.category, c.total_tokens]))).toEqual({ question: 1500, chat: 600 });

      const daily = ok(await call("GET", `${prefix}/auth/daily-model-stats?days=30`, { token: member.token }));
      expect(daily).toMatchObject({ days: 30, period: { days: 30, end_date: today() } });
      expect(daily.daily_stats).toHaveLength(30);
      const last = daily.daily_stats.at(-1);
      expect(last).toMatchObject({ date: today(), requests: 3, total_tokens: 2100 });
      expect(last.models.map((m: any) => [m.model, m.total_tokens])).toEqual([
        ["claude-a", 1800],
        ["claude-b", 300],
      ]);
      expect(daily.daily_stats.slice(0, -1).every((d: any) => d.requests === 0 && d.models.length === 0)).toBe(true);
    });

    test("given logins, failed logins, a lockout and registrations, when an admin reads admin/stats, then each is counted for its organization only", async () => {
      const org = await tenant();
      const other = await tenant();
      const member = await addMember(org); // one registration and one login
      const locked = await addMember(org); // one registration and one login
      ok(await call("POST", `${prefix}/auth/login`, { body: { email: member.email, password: PASSWORD, organization_id: org.id } }));
      for (let i = 0; i < 5; i++) {
        problem(await call("POST", `${prefix}/auth/login`, { body: { email: locked.email, password: "Wrong-Password-999!", organization_id: org.id } }), 401);
      }
      await s.deps.projector.waitFor(await s.deps.store.headPosition());

      const st = ok(await call("GET", `${prefix}/auth/admin/stats`, { token: org.adminToken }));
      // The admin registered (with its organization) and got tokens at once: that is a session, not a login.
      expect(st).toMatchObject({
        organization_id: org.id,
        successful_logins: 3,
        failed_logins: 5,
        lockouts: 1,
        active_users: 2,
        registrations: 3,
        total_users: 3,
        active_accounts: 3,
        login_success_rate: 0.375,
      });
      expect(st.daily.at(-1)).toMatchObject({ date: today(), logins: 3, failed_logins: 5, lockouts: 1, registrations: 3, active_users: 2 });

      const theirs = ok(await call("GET", `${prefix}/auth/admin/stats?days=7`, { token: other.adminToken }));
      expect(theirs).toMatchObject({ organization_id: other.id, successful_logins: 0, failed_logins: 0, registrations: 1, period: { days: 7 } });

      const named = ok(await call("GET", `${prefix}/auth/admin/stats?organization_id=${org.id}`, { token: root }));
      expect(named).toMatchObject({ organization_id: org.id, successful_logins: 3, lockouts: 1 });
      const everything = ok(await call("GET", `${prefix}/auth/admin/stats`, { token: root }));
      expect(everything.organization_id).toBeNull();
      expect(everything.successful_logins).toBeGreaterThanOrEqual(3);
      expect(everything.registrations).toBeGreaterThanOrEqual(4);

      problem(await call("GET", `${prefix}/auth/admin/stats`, { token: member.token }), 403);
      problem(await call("GET", `${prefix}/auth/admin/stats?organization_id=${other.id}`, { token: org.adminToken }), 404);
    });
  });

  test("given a caller without usage, when it reads its stats, then every figure is zero and nothing fails", async () => {
    const org = await tenant();
    const stats = ok(await call("GET", `${V1}/auth/stats`, { token: org.adminToken }));
    expect(stats).toMatchObject({ total_queries: 0, total_tokens: 0, success_rate: 0, avg_generation_ms: null, first_query_at: null });
    expect(ok(await call("GET", `${V1}/auth/model-stats`, { token: org.adminToken })).models).toEqual([]);
    problem(await call("GET", `${V1}/auth/daily-model-stats?days=400`, { token: org.adminToken }), 422);
    problem(await call("GET", `${V1}/auth/stats`), 401);
  });
});
