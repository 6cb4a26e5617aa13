/**
 * /audit: the audit log, read from the event stream (its index for filters and
 * statistics). /audit/access-review lives in routes/audit-review.ts and /audit/verify in
 * routes/audit-verify.ts; all are Elysia instances with the "/audit" prefix.
 */
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import {
  auditFilterFor,
  auditLogsFor,
  exportPagesFor,
  organizationStatsFor,
  rawEventPagesFor,
  rawEventsFor,
  userActivityFor,
} from "../../handlers/audit";
import { CONTENT_TYPES, encodeEntries, encodeNdjson, textStream, type ExportFormat } from "../../audit/export-stream";

const text = (maxLength: number) => t.Optional(t.String({ maxLength }));

/** The seeds send unused filters as empty strings (`user_id=&action=`): empty means absent. */
const filterQuery = {
  organization_id: text(100),
  user_id: text(100),
  action: text(500),
  resource: text(100),
  resource_id: text(200),
  status: text(20),
  start_date: text(64),
  end_date: text(64),
};

const days = t.Optional(t.Numeric({ minimum: 1, maximum: 3650 }));
const POSITION = "^[0-9]{1,19}$";

const NDJSON = "application/x-ndjson";

function streamed(body: ReadableStream<Uint8Array>, contentType: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { headers: { "content-type": contentType, "cache-control": "no-store", ...extra } });
}

export function auditRoutes(deps: Deps) {
  return new Elysia({ prefix: "/audit", detail: { tags: ["Audit"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/logs",
      async ({ query, principal }) => {
        const page = pageRequest(query, 100);
        const { entries, total } = await auditLogsFor(deps, principal, query, page);
        return { ...pageResponse("audit_logs", entries, total, page), count: entries.length };
      },
      {
        auth: { permission: "audit.read" },
        query: t.Object({ ...paginationQuery, ...filterQuery }),
        detail: {
          summary:
            "Audit log entries, newest first: user_id, action (event type, ignoring case; comma-separated; `Login*` for a prefix), resource (stream category: user, role, organization, apikey, session, login, security...), resource_id, status (success|failure), start_date, end_date (ISO 8601; a date alone is the whole UTC day); a super admin sees every organization or names organization_id. Positions are strings (64-bit).",
        },
      },
    )
    .get(
      "/user/:user_id/activity",
      async ({ params, query, principal }) => {
        const window = query.days ?? 30;
        const { userId, organizationId, since, activity } = await userActivityFor(deps, principal, params.user_id, window);
        return {
          user_id: userId,
          organization_id: organizationId,
          days: window,
          since: since.toISOString(),
          total_events: activity.totalEvents,
          failures: activity.failures,
          by_action: activity.byAction,
          by_day: activity.byDay,
          last_seen: activity.lastSeen?.toISOString() ?? null,
          last_event: activity.lastEvent && {
            id: activity.lastEvent.id,
            position: activity.lastEvent.position.toString(),
            action: activity.lastEvent.action,
            timestamp: activity.lastEvent.occurredAt.toISOString(),
          },
        };
      },
      {
        auth: { permission: "audit.read" },
        query: t.Object({ days }),
        detail: { summary: "A user's activity over the last `days` (default 30): counts by action and by UTC day, failures, when it last acted (last_seen) and its latest entry" },
      },
    )
    .get(
      "/organization/:id/stats",
      async ({ params, query, principal }) => {
        const window = query.days ?? 30;
        const { organizationId, since, stats } = await organizationStatsFor(deps, principal, params.id, window);
        return {
          organization_id: organizationId,
          days: window,
          since: since.toISOString(),
          total_events: stats.totalEvents,
          events_by_type: stats.byType,
          events_by_day: stats.byDay,
          active_users: stats.activeUsers,
          most_active_users: stats.mostActiveUsers.map((u) => ({ user_id: u.userId, events: u.events })),
          failures: stats.failures,
          failures_by_type: stats.failuresByType,
        };
      },
      {
        auth: { permission: "audit.read" },
        query: t.Object({ days }),
        detail: { summary: "An organization's audit statistics over the last `days` (default 30): events by type and by UTC day, active users (users who acted), failures" },
      },
    )
    .get(
      "/export",
      async ({ query, principal }) => {
        const format: ExportFormat = query.format ?? "csv";
        // Checked before the first byte: a bad filter is a problem+json answer, not a broken stream.
        const filter = await auditFilterFor(deps, principal, query);
        const stamp = new Date().toISOString().slice(0, 10);
        return streamed(textStream(encodeEntries(exportPagesFor(deps, filter), format)), CONTENT_TYPES[format], {
          "content-disposition": `attachment; filename="audit-logs-${stamp}.${format}"`,
        });
      },
      {
        auth: { permission: "audit.export" },
        query: t.Object({ format: t.Optional(t.Union([t.Literal("csv"), t.Literal("json"), t.Literal("ndjson")])), ...filterQuery }),
        detail: {
          summary:
            "Export audit entries, streamed in position (chronological) order: format csv (default), json ({audit_logs:[...], count}) or ndjson; the filters of /audit/logs, start_date and end_date included",
        },
      },
    )
    .get(
      "/events",
      async ({ query, principal, request }) => {
        const after = BigInt(query.after_position ?? "0");
        if ((request.headers.get("accept") ?? "").includes(NDJSON)) {
          return streamed(textStream(encodeNdjson(rawEventPagesFor(deps, principal, after, query.limit))), NDJSON);
        }
        const { events, nextPosition } = await rawEventsFor(deps, principal, after, query.limit ?? 100);
        return { events, next_position: nextPosition, count: events.length };
      },
      {
        auth: { permission: "audit.read" },
        query: t.Object({
          after_position: t.Optional(t.String({ pattern: POSITION })),
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000 })),
        }),
        detail: {
          summary:
            "Replay for auditors: raw events after a position (exclusive), in position order, redacted like every audit output; limit default 100, max 1000; next_position is the last position returned (strings: 64-bit). With `Accept: application/x-ndjson` the events are streamed one per line, up to `limit` or the head. A super admin reads every event; others their organization's.",
        },
      },
    );
}
