/**
 * Analytics over the usage ledger (the /analytics routes).
 *
 * - Personal views (usage, performance, export) cover the caller's own queries.
 * - System views cover an organization: its admins (analytics.system) see their own;
 *   a super admin every organization, or one named by `organization_id` (404 for one it
 *   cannot address).
 * - Percentiles are continuous (interpolated) over the period's per-query rows.
 */
import type { Deps } from "../deps";
import { csvCell } from "../audit/csv";
import { ledgerEntries, mostUsedTables, performance, usageBy, usageByDataSource, usageTotals, type LedgerEntry, type UsageScope } from "../../projections/usage/queries";
import { daysOf, ownScope, periodJson, periodOf, usageJson } from "./usage";
import { listScope, type Acting } from "./tenancy";

const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);

async function usageReport(deps: Deps, scope: UsageScope, period: ReturnType<typeof periodOf>) {
  const [totals, bySource, byDataSource, tables, byDay] = await Promise.all([
    usageTotals(deps.db, scope),
    usageBy<{ source: string }>(deps.db, scope, "source"),
    usageByDataSource(deps.db, scope),
    mostUsedTables(deps.db, scope),
    usageBy<{ day: string }>(deps.db, scope, "day"),
  ]);
  const days = new Map(byDay.map((d) => [d.day, d]));
  const u = usageJson(totals);
  return {
    period: periodJson(period),
    total_queries: u.requests,
    successful_queries: u.successful,
    rejected_queries: u.rejected,
    failed_queries: u.failed,
    success_rate: u.success_rate,
    tokens: { input_tokens: u.input_tokens, output_tokens: u.output_tokens, total_tokens: u.total_tokens },
    by_source: bySource.map((s) => ({ source: s.source, queries: s.requests, success_rate: rate(s.succeeded, s.requests) })),
    by_data_source: byDataSource.map((d) => ({ ...d, success_rate: rate(d.succeeded, d.queries) })),
    most_used_tables: tables,
    by_day: daysOf(period).map((date) => {
      const d = days.get(date);
      return {
        date,
        queries: d?.requests ?? 0,
        successful: d?.succeeded ?? 0,
        rejected: d?.rejected ?? 0,
        failed: d?.failed ?? 0,
        total_tokens: (d?.input_tokens ?? 0) + (d?.output_tokens ?? 0),
      };
    }),
  };
}

async function performanceReport(deps: Deps, scope: UsageScope, period: ReturnType<typeof periodOf>) {
  const p = await performance(deps.db, scope);
  return {
    period: periodJson(period),
    total_queries: p.queries,
    executed: p.executed,
    rejected: p.rejected,
    failed: p.failed,
    error_rate: rate(p.failed, p.queries),
    rejection_rate: rate(p.rejected, p.queries),
    generation_ms: p.generation_ms,
    execution_ms: p.execution_ms,
    failures_by_stage: p.failures_by_stage,
  };
}

export async function usageAnalyticsFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  return { user_id: acting.userId, organization_id: acting.organizationId, ...(await usageReport(deps, ownScope(acting, period.fromDay), period)) };
}

export async function performanceAnalyticsFor(deps: Deps, acting: Acting, days?: number) {
  const period = periodOf(days);
  return { user_id: acting.userId, organization_id: acting.organizationId, ...(await performanceReport(deps, ownScope(acting, period.fromDay), period)) };
}

export async function systemUsageFor(deps: Deps, acting: Acting, input: { days?: number; organization_id?: string }) {
  const period = periodOf(input.days);
  const organizationId = await listScope(deps, acting, input.organization_id);
  const scope: UsageScope = { organizationId, fromDay: period.fromDay };
  const [report, byUser, byOrganization, byModel] = await Promise.all([
    usageReport(deps, scope, period),
    usageBy<{ user_id: string }>(deps.db, scope, "user", 20),
    organizationId ? Promise.resolve([]) : usageBy<{ organization_id: string }>(deps.db, scope, "organization", 50),
    usageBy<{ provider: string; model: string }>(deps.db, scope, "model"),
  ]);
  return {
    organization_id: organizationId ?? null,
    ...report,
    active_users: byUser.length,
    top_users: byUser.map((u) => ({ user_id: u.user_id, email: deps.security.users.get(u.user_id)?.email ?? null, queries: u.requests, total_tokens: u.input_tokens + u.output_tokens })),
    by_model: byModel.map((m) => ({ provider: m.provider, model: m.model, ...usageJson(m) })),
    ...(organizationId ? {} : { by_organization: byOrganization.map((o) => ({ organization_id: o.organization_id, queries: o.requests, total_tokens: o.input_tokens + o.output_tokens })) }),
  };
}

export async function systemPerformanceFor(deps: Deps, acting: Acting, input: { days?: number; organization_id?: string }) {
  const period = periodOf(input.days);
  const organizationId = await listScope(deps, acting, input.organization_id);
  return { organization_id: organizationId ?? null, ...(await performanceReport(deps, { organizationId, fromDay: period.fromDay }, period)) };
}

export const EXPORT_COLUMNS = [
  "query_id",
  "occurred_at",
  "source",
  "outcome",
  "stage",
  "data_source_id",
  "chat_session_id",
  "provider",
  "model",
  "input_tokens",
  "output_tokens",
  "generation_ms",
  "execution_ms",
  "row_count",
  "tables",
  "attempts",
] as const satisfies ReadonlyArray<keyof LedgerEntry>;

/** Most rows one export carries; the period narrows it further. */
export const EXPORT_LIMIT = 10_000;

export async function exportAnalyticsFor(deps: Deps, acting: Acting, input: { days?: number; format: "csv" | "json" }): Promise<{ contentType: string; body: string; filename: string }> {
  const period = periodOf(input.days);
  const rows = await ledgerEntries(deps.db, ownScope(acting, period.fromDay), EXPORT_LIMIT);
  const filename = `analytics-${period.fromDay}-${period.toDay}.${input.format}`;
  if (input.format === "json") {
    const [summary, perf] = await Promise.all([usageReport(deps, ownScope(acting, period.fromDay), period), performanceReport(deps, ownScope(acting, period.fromDay), period)]);
    const body = JSON.stringify({
      user_id: acting.userId,
      organization_id: acting.organizationId,
      exported_at: new Date().toISOString(),
      period: periodJson(period),
      summary: { ...summary, period: undefined },
      performance: { ...perf, period: undefined },
      queries: rows.map((r) => Object.fromEntries(EXPORT_COLUMNS.map((c) => [c, r[c]]))),
      count: rows.length,
    });
    return { contentType: "application/json", body, filename };
  }
  const lines = [EXPORT_COLUMNS.join(",")];
  for (const r of rows) lines.push(EXPORT_COLUMNS.map((c) => csvCell(c === "tables" ? r.tables.join(" ") : r[c])).join(","));
  return { contentType: "text/csv; charset=utf-8", body: lines.join("\r\n") + "\r\n", filename };
}
