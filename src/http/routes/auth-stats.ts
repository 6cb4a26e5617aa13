/** The /auth statistics routes (the rest of /auth is in routes/auth.ts). */
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { requestContext } from "../request-context";
import { MAX_DAYS } from "../../handlers/usage";
import { adminAuthStatsFor, callerStatsFor, dailyModelStatsFor, modelStatsFor, tokenBreakdownFor } from "../../handlers/auth-stats";

const days = t.Optional(t.Numeric({ minimum: 1, maximum: MAX_DAYS }));

export function authStatsRoutes(deps: Deps) {
  return new Elysia({ prefix: "/auth", detail: { tags: ["Auth"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get("/stats", ({ query, principal }) => callerStatsFor(deps, principal, query.days), {
      auth: true,
      query: t.Object({ days }),
      detail: { summary: "The caller's query and token usage over the last `days` UTC days (default 30), today and all time" },
    })
    .get("/model-stats", ({ query, principal }) => modelStatsFor(deps, principal, query.days), {
      auth: true,
      query: t.Object({ days }),
      detail: { summary: "The caller's usage per language model: requests, outcomes, tokens, average latencies" },
    })
    .get("/token-breakdown", ({ query, principal }) => tokenBreakdownFor(deps, principal, query.days), {
      auth: true,
      query: t.Object({ days }),
      detail: { summary: "The caller's tokens by type (input/output), category (question, sql, chat), model and data source" },
    })
    .get("/daily-model-stats", ({ query, principal }) => dailyModelStatsFor(deps, principal, query.days), {
      auth: true,
      query: t.Object({ days }),
      detail: { summary: "The caller's usage per UTC day and model over the last `days` days (default 30), empty days included" },
    })
    .get("/admin/stats", ({ query, principal }) => adminAuthStatsFor(deps, principal, { days: query.days, organization_id: query.organization_id || undefined }), {
      auth: { permission: "analytics.system" },
      query: t.Object({ days, organization_id: t.Optional(t.String({ maxLength: 100 })) }),
      detail: {
        summary:
          "Authentication statistics over the last `days` (default 30): logins, failed logins, lockouts, active users, registrations, per day. Admins: their organization; a super admin: every organization, or organization_id",
      },
    });
}
