import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { requestContext } from "../request-context";
import { MAX_DAYS } from "../../handlers/usage";
import { exportAnalyticsFor, performanceAnalyticsFor, systemPerformanceFor, systemUsageFor, usageAnalyticsFor } from "../../handlers/analytics";

const days = t.Optional(t.Numeric({ minimum: 1, maximum: MAX_DAYS }));
const organizationId = t.Optional(t.String({ maxLength: 100 }));

export function analyticsRoutes(deps: Deps) {
  return new Elysia({ prefix: "/analytics", detail: { tags: ["Analytics"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get("/usage", ({ query, principal }) => usageAnalyticsFor(deps, principal, query.days), {
      auth: { permission: "analytics.read" },
      query: t.Object({ days }),
      detail: { summary: "The caller's queries over the last `days` UTC days (default 30): success rate, by source, by data source, most used tables, by day" },
    })
    .get("/performance", ({ query, principal }) => performanceAnalyticsFor(deps, principal, query.days), {
      auth: { permission: "analytics.read" },
      query: t.Object({ days }),
      detail: { summary: "The caller's latency percentiles (p50/p95/p99 of generation and execution time) and error rate" },
    })
    .get(
      "/export",
      async ({ query, principal }) => {
        const out = await exportAnalyticsFor(deps, principal, { days: query.days, format: query.format ?? "json" });
        return new Response(out.body, { headers: { "content-type": out.contentType, "content-disposition": `attachment; filename="${out.filename}"` } });
      },
      {
        auth: { permission: "analytics.read" },
        query: t.Object({ format: t.Optional(t.Union([t.Literal("csv"), t.Literal("json")])), days }),
        detail: { summary: "The caller's query ledger of the period as CSV or JSON (with summary and performance), newest first, at most 10,000 rows" },
      },
    )
    .get("/system/usage", ({ query, principal }) => systemUsageFor(deps, principal, { days: query.days, organization_id: query.organization_id || undefined }), {
      auth: { permission: "analytics.system" },
      query: t.Object({ days, organization_id: organizationId }),
      detail: { summary: "Usage of the organization (a super admin: every organization, or organization_id): as /usage plus top users, by model, by organization" },
    })
    .get("/system/performance", ({ query, principal }) => systemPerformanceFor(deps, principal, { days: query.days, organization_id: query.organization_id || undefined }), {
      auth: { permission: "analytics.system" },
      query: t.Object({ days, organization_id: organizationId }),
      detail: { summary: "Latency percentiles and error rate of the organization (a super admin: every organization, or organization_id)" },
    });
}
