/**
 * The /auth statistics: the caller's own query and token usage (stats, model-stats,
 * token-breakdown, daily-model-stats) from the usage ledger, and authentication
 * activity for admins (admin/stats) from projections/auth-activity.
 *
 * Admin stats: an organization's admins see their organization; a super admin every
 * organization, or one named by `organization_id`.
 */
import type { Deps } from "../deps";
import { countUsers } from "../../projections/users/queries";
import { authActivityByDay, authActivityTotals, lastLoginDay } from "../../projections/auth-activity/queries";
import { usageBy, usageSpan, usageTotals, usageByDataSource } from "../../projections/usage/queries";
import { daysOf, ownScope, periodJson, periodOf, usageJson } from "./usage";
import { listScope, type Acting } from "./tenancy";
import { SYSTEM_ORGANIZATION_ID } from "./organizations";

const share = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0);

export async function callerStatsFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  const scope = ownScope(acting, period.fromDay);
  const [totals, allTime, today, span, lastLogin] = await Promise.all([
    usageTotals(deps.db, scope),
    usageTotals(deps.db, ownScope(acting, "1970-01-01")),
    usageTotals(deps.db, ownScope(acting, period.toDay)),
    usageSpan(deps.db, { organizationId: acting.organizationId, userId: acting.userId }),
    lastLoginDay(deps.db, acting.organizationId, acting.userId),
  ]);
  const u = usageJson(totals);
  return {
    user_id: acting.userId,
    organization_id: acting.organizationId,
    period: periodJson(period),
    total_queries: u.requests,
    successful_queries: u.successful,
    rejected_queries: u.rejected,
    failed_queries: u.failed,
    success_rate: u.success_rate,
    total_input_tokens: u.input_tokens,
    total_output_tokens: u.output_tokens,
    total_tokens: u.total_tokens,
    avg_generation_ms: u.avg_generation_ms,
    avg_execution_ms: u.avg_execution_ms,
    queries_today: today.requests,
    tokens_today: today.input_tokens + today.output_tokens,
    all_time: { total_queries: allTime.requests, total_tokens: allTime.input_tokens + allTime.output_tokens },
    first_query_at: span.first,
    last_query_at: span.last,
    last_login_date: lastLogin,
  };
}

export async function modelStatsFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  const rows = await usageBy<{ provider: string; model: string }>(deps.db, ownScope(acting, period.fromDay), "model");
  const tokens = rows.reduce((n, r) => n + r.input_tokens + r.output_tokens, 0);
  return {
    user_id: acting.userId,
    period: periodJson(period),
    models: rows.map((r) => {
      const u = usageJson(r);
      return { provider: r.provider, model: r.model, ...u, token_share_percent: share(u.total_tokens, tokens) };
    }),
    total_models: rows.length,
    total_tokens: tokens,
  };
}

export async function tokenBreakdownFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  const scope = ownScope(acting, period.fromDay);
  const [totals, bySource, byModel, byDataSource] = await Promise.all([
    usageTotals(deps.db, scope),
    usageBy<{ source: string }>(deps.db, scope, "source"),
    usageBy<{ provider: string; model: string }>(deps.db, scope, "model"),
    usageByDataSource(deps.db, scope),
  ]);
  const total = totals.input_tokens + totals.output_tokens;
  const part = (r: { input_tokens: number; output_tokens: number; requests: number }) => ({
    requests: r.requests,
    input_tokens: r.input_tokens,
    output_tokens: r.output_tokens,
    total_tokens: r.input_tokens + r.output_tokens,
    percent: share(r.input_tokens + r.output_tokens, total),
  });
  return {
    user_id: acting.userId,
    period: periodJson(period),
    total: { input_tokens: totals.input_tokens, output_tokens: totals.output_tokens, total_tokens: total, requests: totals.requests },
    by_type: {
      input: { tokens: totals.input_tokens, percent: share(totals.input_tokens, total) },
      output: { tokens: totals.output_tokens, percent: share(totals.output_tokens, total) },
    },
    by_category: bySource.map((s) => ({ category: s.source, ...part(s) })),
    by_model: byModel.map((m) => ({ provider: m.provider, model: m.model, ...part(m) })),
    by_data_source: byDataSource.map((d) => ({ data_source_id: d.data_source_id, queries: d.queries })),
  };
}

export async function dailyModelStatsFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  const rows = await usageBy<{ day: string; provider: string; model: string }>(deps.db, ownScope(acting, period.fromDay), "day_model", 100_000);
  const byDay = new Map<string, typeof rows>();
  for (const r of rows) byDay.set(r.day, [...(byDay.get(r.day) ?? []), r]);
  return {
    user_id: acting.userId,
    period: periodJson(period),
    days: period.days,
    daily_stats: daysOf(period).map((date) => {
      const models = byDay.get(date) ?? [];
      return {
        date,
        requests: models.reduce((n, m) => n + m.requests, 0),
        total_tokens: models.reduce((n, m) => n + m.input_tokens + m.output_tokens, 0),
        models: models.map((m) => ({ provider: m.provider, model: m.model, ...usageJson(m) })),
      };
    }),
  };
}

/** GET /auth/admin/stats: logins, failures, lockouts, active users, registrations over the period. */
export async function adminAuthStatsFor(deps: Deps, acting: Acting, input: { days?: number; organization_id?: string }) {
  const period = periodOf(input.days);
  const organizationId = await listScope(deps, acting, input.organization_id);
  const scope = { organizationId, fromDay: period.fromDay };
  const [totals, byDay, users] = await Promise.all([authActivityTotals(deps.db, scope), authActivityByDay(deps.db, scope), userCounts(deps, organizationId)]);
  const days = new Map(byDay.map((d) => [d.date, d]));
  const attempts = totals.logins + totals.failures;
  return {
    organization_id: organizationId ?? null,
    period: periodJson(period),
    total_logins: totals.logins,
    successful_logins: totals.logins,
    failed_logins: totals.failures,
    login_success_rate: attempts > 0 ? Math.round((totals.logins / attempts) * 10_000) / 10_000 : 0,
    lockouts: totals.lockouts,
    active_users: totals.active_users,
    registrations: totals.registrations,
    total_users: users.total,
    active_accounts: users.active,
    daily: daysOf(period).map((date) => {
      const d = days.get(date);
      return { date, logins: d?.logins ?? 0, failed_logins: d?.failures ?? 0, lockouts: d?.lockouts ?? 0, registrations: d?.registrations ?? 0, active_users: d?.active_users ?? 0 };
    }),
  };
}

/** Users of one organization, or of every tenant (the platform's own organization is not a tenant). */
async function userCounts(deps: Deps, organizationId: string | undefined): Promise<{ total: number; active: number }> {
  if (organizationId) return countUsers(deps.db.drizzle, organizationId);
  let total = 0;
  let active = 0;
  for (const u of deps.security.users.values()) {
    if (u.organizationId === SYSTEM_ORGANIZATION_ID) continue;
    total++;
    if (u.isActive) active++;
  }
  return { total, active };
}
