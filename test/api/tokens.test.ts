/**
 * /tokens over HTTP: seed 003's token endpoints as written under /api and /api/v1, with
 * figures equal to the tokens of the query events the test appended; limits set by
 * admins (TokenLimitsSet), refused to members, validated, tenant-scoped; and the limits
 * enforced by the limiter with 429 + Retry-After, recovering after the window.
 */
import { afterAll, describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { TEST_TIMEOUT_MS } from "./_helpers";
import { appendQueryEvents } from "./_usage-helpers";
import { apiSuite } from "./_tenant";
import { afterModelCall, beforeModelCall, LimitExceededError, setLimiterClock } from "../../src/limits/limiter";
import { DEFAULT_TOKEN_LIMITS } from "../../src/domain/token-limits";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);
const V1 = "/api/v1";

describe.each(serviceKinds())("tokens (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  // The limiter's clock is keyed by the service's deps: whether this runs before or after the close does not matter.
  afterAll(() => setLimiterClock(s.deps, null));

  describe.each(["/api/v1", "/api"])("seed 003 examples under %s", (prefix) => {
    test("given a member's query events, when every /tokens call of seed 003 is made as written, then each answers with exactly those tokens", async () => {
      const org = await tenant({ members: [{}, {}] });
      const [member, other] = org.members;
      await appendQueryEvents(s, [
        { organizationId: org.id, userId: member.id, input: 1200, output: 300, source: "question", model: "claude-a" },
        { organizationId: org.id, userId: member.id, input: 800, output: 100, source: "chat", model: "claude-b" },
        { organizationId: org.id, userId: member.id, type: "QueryFailed", input: 50, output: 0, source: "question", model: "claude-a" },
        // Someone else's spending is not the member's.
        { organizationId: org.id, userId: other.id, input: 9999, output: 9999 },
      ]);

      const usage = ok(await call("GET", `${prefix}/tokens/usage`, { token: member.token }));
      expect(usage).toMatchObject({ user_id: member.id, organization_id: org.id, requests: 3, successful: 2, failed: 1, input_tokens: 2050, output_tokens: 400, total_tokens: 2450 });
      expect(usage.today).toMatchObject({ requests: 3, total_tokens: 2450 });
      expect(Object.fromEntries(usage.by_source.map((b: any) => [b.source, b.total_tokens]))).toEqual({ question: 1550, chat: 900 });
      expect(Object.fromEntries(usage.by_model.map((b: any) => [b.model, b.total_tokens]))).toEqual({ "claude-a": 1550, "claude-b": 900 });
      expect(usage.daily).toHaveLength(30);
      expect(usage.daily.at(-1)).toMatchObject({ requests: 3, total_tokens: 2450 });

      const limits = ok(await call("GET", `${prefix}/tokens/limits`, { token: member.token }));
      expect(limits).toMatchObject({ organization_id: org.id, configured: false, limits: DEFAULT_TOKEN_LIMITS });
      expect(limits.usage.user_daily_tokens).toMatchObject({ limit: DEFAULT_TOKEN_LIMITS.user_daily_tokens });

      const check = ok(await call("GET", `${prefix}/tokens/rate-limit-check`, { token: member.token }));
      expect(check).toMatchObject({ within_limits: true, user_id: member.id, query_requests_per_minute: { limit: DEFAULT_TOKEN_LIMITS.query_requests_per_minute, used: 0 } });

      const dashboard = ok(await call("GET", `${prefix}/tokens/dashboard`, { token: member.token }));
      expect(dashboard.summary).toMatchObject({ requests: 3, total_tokens: 2450 });
      expect(dashboard.top_models.map((m: any) => [m.model, m.total_tokens])).toEqual([
        ["claude-a", 1550],
        ["claude-b", 900],
      ]);
      expect(dashboard.daily_tokens.at(-1)).toEqual({ date: new Date().toISOString().slice(0, 10), total_tokens: 2450 });
      expect(dashboard.within_limits).toBe(true);

      const set = ok(await call("PUT", `${prefix}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 5000, organization_monthly_tokens: 100000, requests_per_minute: 30 } }));
      expect(set).toMatchObject({ configured: true, limits: { user_daily_tokens: 5000, organization_monthly_tokens: 100000, query_requests_per_minute: 30, chat_requests_per_minute: 30 } });
      expect(ok(await call("GET", `${prefix}/tokens/limits`, { token: member.token })).limits.user_daily_tokens).toBe(5000);
    });
  });

  describe("limits configuration", () => {
    test("given an admin, when it sets limits, then one TokenLimitsSet with the whole configuration is recorded and setting the same again records nothing", async () => {
      const org = await tenant();
      ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { query_requests_per_minute: 5 } }));
      ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { query_requests_per_minute: 5 } }));
      const cleared = ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { organization_monthly_tokens: null } }));
      expect(cleared.limits).toEqual({ ...DEFAULT_TOKEN_LIMITS, query_requests_per_minute: 5, organization_monthly_tokens: null });
      const events = await s.deps.store.readStream(`token_limits-${org.id}`);
      expect(events.map((e) => e.type)).toEqual(["TokenLimitsSet", "TokenLimitsSet"]);
      expect(events[0].data).toMatchObject({ organization_id: org.id, ...DEFAULT_TOKEN_LIMITS, query_requests_per_minute: 5, previous: DEFAULT_TOKEN_LIMITS });
      expect(events[0].metadata).toMatchObject({ organization_id: org.id, actor: { type: "user", id: org.adminId } });
    });

    test("given bad limits, when an admin puts them, then 422 and nothing is recorded", async () => {
      const org = await tenant();
      problem(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: -1 } }), 422);
      problem(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 1.5 } }), 422);
      problem(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { daily: 10 } }), 422);
      problem(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: {} }), 422);
      expect(await s.deps.store.readStream(`token_limits-${org.id}`)).toEqual([]);
    });

    test("given a member without tokens.manage, when it puts limits, then 403; an admin naming another organization gets 404; a super admin must name one", async () => {
      const org = await tenant();
      const other = await tenant();
      const member = await addMember(org);
      problem(await call("PUT", `${V1}/tokens/limits`, { token: member.token, body: { user_daily_tokens: 1 } }), 403);
      problem(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 1, organization_id: other.id } }), 404);
      problem(await call("GET", `${V1}/tokens/limits?organization_id=${other.id}`, { token: org.adminToken }), 404);
      problem(await call("PUT", `${V1}/tokens/limits`, { token: root, body: { user_daily_tokens: 1 } }), 422);
      expect(await s.deps.store.readStream(`token_limits-${other.id}`)).toEqual([]);

      const byRoot = ok(await call("PUT", `${V1}/tokens/limits`, { token: root, body: { user_daily_tokens: 777, organization_id: other.id } }));
      expect(byRoot).toMatchObject({ organization_id: other.id, limits: { user_daily_tokens: 777 } });
      expect(ok(await call("GET", `${V1}/tokens/limits`, { token: other.adminToken })).limits.user_daily_tokens).toBe(777);
      expect(ok(await call("GET", `${V1}/tokens/limits`, { token: org.adminToken })).limits.user_daily_tokens).toBe(DEFAULT_TOKEN_LIMITS.user_daily_tokens);
    });

    test("given no credentials, when a /tokens route is called, then 401", async () => {
      problem(await call("GET", `${V1}/tokens/usage`), 401);
      problem(await call("GET", `${V1}/tokens/dashboard`), 401);
    });
  });

  describe("enforcement", () => {
    test("given 2 queries per minute, when a third comes in the same minute, then 429 with Retry-After, and the next minute it passes again", async () => {
      const org = await tenant();
      const member = await addMember(org);
      ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { query_requests_per_minute: 2 } }));
      let now = new Date("2031-03-04T10:00:05Z");
      setLimiterClock(s.deps, () => now);
      try {
        const caller = { userId: member.id, organizationId: org.id };
        for (let i = 0; i < 2; i++) await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "query", { estimate: 10 }), { input_tokens: 5, output_tokens: 5 });
        const refused = await beforeModelCall(s.deps, caller, "query", { estimate: 10 }).catch((e) => e);
        expect(refused).toBeInstanceOf(LimitExceededError);
        expect(refused).toMatchObject({ kind: "too_many", limit: "rate", extra: { retryAfterSeconds: 55 } });
        // Chat has its own counter.
        await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "chat", { estimate: 10 }), { input_tokens: 1, output_tokens: 1 });

        const check = ok(await call("GET", `${V1}/tokens/rate-limit-check`, { token: member.token }));
        expect(check).toMatchObject({ within_limits: false, query_requests_per_minute: { limit: 2, used: 2, remaining: 0, resets_in_seconds: 55 }, chat_requests_per_minute: { used: 1 } });

        now = new Date("2031-03-04T10:01:00Z");
        const again = await beforeModelCall(s.deps, caller, "query", { estimate: 10 });
        await afterModelCall(s.deps, again, { input_tokens: 5, output_tokens: 5 });
        expect(ok(await call("GET", `${V1}/tokens/rate-limit-check`, { token: member.token })).query_requests_per_minute).toMatchObject({ used: 1, remaining: 1 });
        // The old window's counter is gone: the table does not grow with time.
        const rows = await s.deps.db.query<{ n: number }>("SELECT count(*)::int AS n FROM rate_limit_counters WHERE user_id = $1 AND kind = 'query'", [member.id]);
        expect(rows[0].n).toBe(1);
      } finally {
        setLimiterClock(s.deps, null);
      }
    });

    test("given a daily budget, when calls would pass it, then 429 until the next UTC day, and the limits view shows what was spent", async () => {
      const org = await tenant();
      const member = await addMember(org);
      ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { user_daily_tokens: 1000 } }));
      let now = new Date("2031-05-06T23:59:30Z");
      setLimiterClock(s.deps, () => now);
      try {
        const caller = { userId: member.id, organizationId: org.id };
        await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "query", { estimate: 400 }), { input_tokens: 300, output_tokens: 150 });
        await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "query", { estimate: 400 }), { input_tokens: 300, output_tokens: 150 });
        const refused = await beforeModelCall(s.deps, caller, "query", { estimate: 400 }).catch((e) => e);
        expect(refused).toMatchObject({ limit: "user_daily_tokens", extra: { retryAfterSeconds: 30 } });
        const view = ok(await call("GET", `${V1}/tokens/limits`, { token: member.token }));
        expect(view.usage.user_daily_tokens).toMatchObject({ limit: 1000, spent: 900, reserved: 0, used: 900, remaining: 100, requests: 2, period_start: "2031-05-06" });
        expect(view.usage.organization_monthly_tokens).toMatchObject({ spent: 900, period_start: "2031-05-01" });

        now = new Date("2031-05-07T00:00:01Z");
        await afterModelCall(s.deps, await beforeModelCall(s.deps, caller, "query", { estimate: 400 }), { input_tokens: 1, output_tokens: 1 });
        expect(ok(await call("GET", `${V1}/tokens/limits`, { token: member.token })).usage.organization_monthly_tokens).toMatchObject({ spent: 902, requests: 3 });
      } finally {
        setLimiterClock(s.deps, null);
      }
    });

    test("given a rate limit of 0, when a call is attempted, then it is refused and /metrics counts the refusal", async () => {
      const org = await tenant();
      const member = await addMember(org);
      ok(await call("PUT", `${V1}/tokens/limits`, { token: org.adminToken, body: { chat_requests_per_minute: 0 } }));
      const refused = await beforeModelCall(s.deps, { userId: member.id, organizationId: org.id }, "chat").catch((e) => e);
      expect(refused).toMatchObject({ limit: "rate" });
      const metrics = await (await s.request("GET", "/metrics")).text();
      expect(metrics).toMatch(/ledgerline_rate_limited_requests_total\{kind="chat",limit="rate"\} [1-9]/);
    });
  });
});
