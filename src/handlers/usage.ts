/**
 * Token usage and limits on behalf of a caller (the /tokens routes), and the shared
 * shapes the stats and analytics handlers answer with.
 *
 * - Usage figures come from the usage ledger (projections/usage), always filtered by the
 *   caller's organization and, for personal views, the caller.
 * - Limits are the organization's TokenLimitsSet configuration (src/limits/config.ts);
 *   where a user stands against them comes from the limiter's own tables, which count
 *   calls in flight (reserved) as well as settled ones (spent).
 * - A super admin addresses any tenant with `organization_id`; anyone else only its own
 *   organization (another one answers 404).
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { invalid } from "../domain/errors";
import type { TokenLimits } from "../domain/token-limits";
import { readLimits, setLimits } from "../limits/config";
import { limitStatus, type LimitStatus } from "../limits/limiter";
import { dayStart } from "../limits/periods";
import { usageBy, usageTotals, type UsageScope, type UsageSums } from "../../projections/usage/queries";
import { addressableOrganization, type Acting } from "./tenancy";

export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 366;

/** The period of the last `days` whole UTC days, today included. */
export function periodOf(days: number | undefined, now = new Date()): { days: number; fromDay: string; toDay: string } {
  const n = days ?? DEFAULT_DAYS;
  if (!Number.isInteger(n) || n < 1 || n > MAX_DAYS) throw invalid("/query/days", `days must be an integer from 1 to ${MAX_DAYS}`);
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (n - 1)));
  return { days: n, fromDay: dayStart(from), toDay: dayStart(now) };
}

/** Every UTC day of a period, oldest first: series are shown with their empty days. */
export function daysOf(period: { fromDay: string; toDay: string }): string[] {
  const out: string[] = [];
  for (let d = new Date(`${period.fromDay}T00:00:00Z`); dayStart(d) <= period.toDay; d = new Date(d.getTime() + 86_400_000)) out.push(dayStart(d));
  return out;
}

const ratio = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);
const avg = (sum: number, count: number) => (count > 0 ? Math.round((sum / count) * 100) / 100 : null);

/** The ledger's sums as the API shows them. */
export function usageJson(s: UsageSums) {
  return {
    requests: s.requests,
    successful: s.succeeded,
    rejected: s.rejected,
    failed: s.failed,
    success_rate: ratio(s.succeeded, s.requests),
    error_rate: ratio(s.failed, s.requests),
    input_tokens: s.input_tokens,
    output_tokens: s.output_tokens,
    total_tokens: s.input_tokens + s.output_tokens,
    avg_generation_ms: avg(s.generation_ms_sum, s.generation_count),
    avg_execution_ms: avg(s.execution_ms_sum, s.execution_count),
  };
}

export function periodJson(p: { days: number; fromDay: string; toDay: string }) {
  return { days: p.days, start_date: p.fromDay, end_date: p.toDay };
}

/** The caller's own usage scope. */
export function ownScope(acting: Acting, fromDay: string): UsageScope {
  return { organizationId: acting.organizationId, userId: acting.userId, fromDay };
}

/** The organization a limits request is about: `organization_id` for a super admin, else the caller's own. */
async function limitsOrganization(deps: Deps, acting: Acting, requested?: string): Promise<string> {
  if (requested) return addressableOrganization(deps, acting, requested);
  return acting.organizationId;
}

// ------------------------------------------------------------------------- /tokens

export async function tokenUsageFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  const scope = ownScope(acting, period.fromDay);
  const [totals, bySource, byModel, byDay, today] = await Promise.all([
    usageTotals(deps.db, scope),
    usageBy<{ source: string }>(deps.db, scope, "source"),
    usageBy<{ provider: string; model: string }>(deps.db, scope, "model"),
    usageBy<{ day: string }>(deps.db, scope, "day"),
    usageTotals(deps.db, ownScope(acting, period.toDay)),
  ]);
  const daily = new Map(byDay.map((d) => [d.day, d]));
  return {
    user_id: acting.userId,
    organization_id: acting.organizationId,
    period: periodJson(period),
    ...usageJson(totals),
    today: usageJson(today),
    by_source: bySource.map((s) => ({ source: s.source, ...usageJson(s) })),
    by_model: byModel.map((m) => ({ provider: m.provider, model: m.model, ...usageJson(m) })),
    daily: daysOf(period).map((date) => {
      const d = daily.get(date);
      return { date, requests: d?.requests ?? 0, input_tokens: d?.input_tokens ?? 0, output_tokens: d?.output_tokens ?? 0, total_tokens: (d?.input_tokens ?? 0) + (d?.output_tokens ?? 0) };
    }),
  };
}

export function limitStatusJson(status: LimitStatus) {
  return {
    within_limits: status.within_limits,
    user_daily_tokens: status.user_daily_tokens,
    organization_monthly_tokens: status.organization_monthly_tokens,
    query_requests_per_minute: status.query_requests_per_minute,
    chat_requests_per_minute: status.chat_requests_per_minute,
  };
}

export async function tokenLimitsFor(deps: Deps, acting: Acting, requestedOrganization?: string) {
  const organizationId = await limitsOrganization(deps, acting, requestedOrganization);
  const configured = await readLimits(deps, organizationId);
  // Usage against the limits is the caller's own (its day) and its organization's (the month).
  const status = await limitStatus(deps, { organizationId, userId: organizationId === acting.organizationId ? acting.userId : organizationId }, configured.limits);
  return {
    organization_id: organizationId,
    limits: configured.limits,
    configured: configured.configured,
    updated_at: configured.updatedAt,
    updated_by: configured.updatedBy,
    usage: limitStatusJson(status),
  };
}

export interface SetLimitsInput extends Partial<TokenLimits> {
  /** Both per-minute limits at once (an alias). */
  requests_per_minute?: number | null;
  organization_id?: string;
}

export async function setTokenLimitsFor(deps: Deps, ctx: CommandContext, acting: Acting, input: SetLimitsInput) {
  const { organization_id, requests_per_minute, ...changes } = input;
  if (acting.isSuperAdmin && !organization_id) throw invalid("/body/organization_id", "A super admin names the organization whose limits to set");
  const organizationId = await limitsOrganization(deps, acting, organization_id);
  if (requests_per_minute !== undefined) {
    changes.query_requests_per_minute ??= requests_per_minute;
    changes.chat_requests_per_minute ??= requests_per_minute;
  }
  if (Object.keys(changes).length === 0) throw invalid("/body", "Give at least one limit to set");
  const position = await setLimits(deps, ctx, organizationId, changes);
  await settle(deps, position);
  return tokenLimitsFor(deps, acting, organization_id);
}

export async function rateLimitCheckFor(deps: Deps, acting: Acting) {
  const status = await limitStatus(deps, acting);
  return { user_id: acting.userId, organization_id: acting.organizationId, checked_at: new Date().toISOString(), ...limitStatusJson(status) };
}

export async function tokenDashboardFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  const scope = ownScope(acting, period.fromDay);
  const [usage, status, byModel, byDay] = await Promise.all([
    usageTotals(deps.db, scope),
    limitStatus(deps, acting),
    usageBy<{ provider: string; model: string }>(deps.db, scope, "model", 5),
    usageBy<{ day: string }>(deps.db, scope, "day"),
  ]);
  const daily = new Map(byDay.map((d) => [d.day, d.input_tokens + d.output_tokens]));
  const percent = (b: { used: number; limit: number | null }) => (b.limit ? Math.round((b.used / b.limit) * 10_000) / 100 : null);
  return {
    user_id: acting.userId,
    organization_id: acting.organizationId,
    period: periodJson(period),
    summary: usageJson(usage),
    today: {
      tokens_used: status.user_daily_tokens.used,
      limit: status.user_daily_tokens.limit,
      remaining: status.user_daily_tokens.remaining,
      percent_used: percent(status.user_daily_tokens),
    },
    organization_month: {
      tokens_used: status.organization_monthly_tokens.used,
      limit: status.organization_monthly_tokens.limit,
      remaining: status.organization_monthly_tokens.remaining,
      percent_used: percent(status.organization_monthly_tokens),
    },
    rate_limits: { query: status.query_requests_per_minute, chat: status.chat_requests_per_minute },
    within_limits: status.within_limits,
    top_models: byModel.map((m) => ({ provider: m.provider, model: m.model, requests: m.requests, total_tokens: m.input_tokens + m.output_tokens })),
    daily_tokens: daysOf(period).map((date) => ({ date, total_tokens: daily.get(date) ?? 0 })),
  };
}
