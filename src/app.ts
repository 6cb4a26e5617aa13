/**
 * createApp(deps): the whole HTTP surface. Feature routes are mounted under /api/v1 and,
 * hidden from the OpenAPI document, under /api (the seeds' unversioned paths).
 * Tests drive it with app.handle(new Request("http://localhost/...")).
 */
import { Elysia } from "elysia";
import type { Deps } from "./deps";
import { errorsPlugin } from "./http/errors";
import { principalOfRequest } from "./http/auth";
import { knownRequestMeta, requestContext } from "./http/request-context";
import { docsPlugin } from "./http/docs";
import { metricsPlugin } from "./http/metrics";
import { systemRoutes } from "./http/routes/system";
import { authRoutes } from "./http/routes/auth";
import { organizationRoutes } from "./http/routes/organizations";
import { usersRoutes } from "./http/routes/users";
import { rolesRoutes } from "./http/routes/roles";
import { permissionsRoutes } from "./http/routes/permissions";
import { roleRequestRoutes } from "./http/routes/role-requests";
import { locationRoutes } from "./http/routes/locations";
import { apiKeysRoutes } from "./http/routes/api-keys";
import { dataSourceRoutes } from "./http/routes/data-sources";
import { databaseAccessRoutes } from "./http/routes/database-access";
import { schemaRoutes } from "./http/routes/schema";
import { auditReviewRoutes } from "./http/routes/audit-review";
import { auditVerifyRoutes } from "./http/routes/audit-verify";
import { auditRoutes } from "./http/routes/audit";
import { authStatsRoutes } from "./http/routes/auth-stats";
import { tokensRoutes } from "./http/routes/tokens";
import { analyticsRoutes } from "./http/routes/analytics";
import { adminRoutes } from "./http/routes/admin";
import { queryRoutes } from "./http/routes/query";
import { chatRoutes } from "./http/routes/chat";

function features(deps: Deps, prefix: string) {
  return new Elysia({ prefix })
    .use(systemRoutes(deps))
    .use(authRoutes(deps))
    .use(authStatsRoutes(deps))
    .use(organizationRoutes(deps))
    .use(usersRoutes(deps))
    .use(rolesRoutes(deps))
    .use(permissionsRoutes(deps))
    .use(roleRequestRoutes(deps))
    .use(locationRoutes(deps))
    .use(apiKeysRoutes(deps))
    .use(dataSourceRoutes(deps))
    .use(databaseAccessRoutes(deps))
    .use(schemaRoutes(deps))
    .use(queryRoutes(deps))
    .use(chatRoutes(deps))
    .use(tokensRoutes(deps))
    .use(analyticsRoutes(deps))
    .use(adminRoutes(deps))
    .use(auditRoutes(deps))
    .use(auditReviewRoutes(deps))
    .use(auditVerifyRoutes(deps));
}

/** The path of an absolute request URL, without building a URL object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

export function createApp(deps: Deps) {
  const collect = async () => {
    const head = await deps.store.headPosition().catch(() => 0n);
    for (const p of deps.projector.status()) {
      deps.metrics.setGauge("ledgerline_projection_lag_events", "Events appended but not yet applied, per projection", { projection: p.name }, head > p.position ? Number(head - p.position) : 0);
    }
    deps.metrics.setGauge("ledgerline_event_store_head_position", "Global position of the newest event", {}, Number(head));
  };

  return new Elysia({ normalize: false })
    .use(
      errorsPlugin(deps.logger, (denied) => {
        const principal = principalOfRequest(denied.request);
        deps.accessDenied.record({
          method: denied.request.method,
          route: denied.route,
          status: denied.status,
          reason: denied.reason,
          permission: denied.permission,
          principal: principal ? { type: principal.type, id: principal.id, organizationId: principal.organizationId } : null,
          ip: denied.ip,
          userAgent: denied.userAgent,
          requestId: denied.requestId,
        });
      }),
    )
    .use(requestContext)
    // Destructured (see requestMeta): the whole context would make Elysia parse cookies,
    // query and headers on every request.
    .onAfterResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const meta = knownRequestMeta(request);
      const status = responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200;
      const seconds = meta ? (performance.now() - meta.startedAt) / 1000 : 0;
      const template = route || "unmatched";
      deps.metrics.observeRequest(request.method, template, status, seconds);
      deps.logger.info("request", {
        request_id: meta?.requestId,
        method: request.method,
        route: template,
        path: pathOf(request.url),
        status,
        duration_ms: Math.round(seconds * 100_000) / 100,
      });
    })
    .use(docsPlugin({ title: "Ledgerline API", version: deps.config.version, description: "Identity, access control and governed analytics, event-sourced." }))
    .use(metricsPlugin(deps.metrics, collect))
    .use(systemRoutes(deps))
    .use(features(deps, "/api/v1"))
    .use(features(deps, "/api"));
}

export type App = ReturnType<typeof createApp>;
