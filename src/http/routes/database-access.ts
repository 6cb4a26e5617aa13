import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, paginationQuery } from "../pagination";
import type { AccessView } from "../../../projections/database-access/queries";
import { grantAccessFor, listAccessFor, revokeAccessFor } from "../../handlers/database-access";

/**
 * A grant as the seeds show it (`id`, `database`, `granted_by`, `granted_at`,
 * `expires_at`) plus its data source, tables and status. A grant whose expiry has
 * passed is shown as expired even before its AccessExpired is recorded.
 */
export function accessJson(a: AccessView, now = Date.now()) {
  const runOut = a.status === "active" && a.expiresAt !== null && a.expiresAt.getTime() <= now;
  return {
    id: a.accessId,
    user_id: a.userId,
    organization_id: a.organizationId,
    data_source_id: a.dataSourceId,
    database: a.database,
    tables: a.tables,
    granted_by: a.grantedBy,
    granted_at: a.grantedAt.toISOString(),
    expires_at: a.expiresAt?.toISOString() ?? null,
    status: runOut ? "expired" : a.status,
    is_active: a.status === "active" && !runOut,
    revoked_at: a.revokedAt?.toISOString() ?? null,
    revoked_by: a.revokedBy,
    expired_at: a.expiredAt?.toISOString() ?? (runOut ? a.expiresAt!.toISOString() : null),
  };
}

const id = t.String({ minLength: 1, maxLength: 100 });

export function databaseAccessRoutes(deps: Deps) {
  return new Elysia({ prefix: "/users", detail: { tags: ["Database access"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/:id/database-access",
      async ({ params, query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listAccessFor(deps, principal, params.id, query.status ?? "active", page);
        const list = rows.map((r) => accessJson(r));
        return { access_list: list, count: list.length, total, page: page.page, size: page.size, pages: Math.max(1, Math.ceil(total / page.size)) };
      },
      {
        auth: { permission: "database_access.read" },
        query: t.Object({ ...paginationQuery, status: t.Optional(t.Union([t.Literal("active"), t.Literal("revoked"), t.Literal("expired"), t.Literal("all")])) }),
        detail: { summary: "A user's database access grants: usable ones by default; status=revoked|expired|all for the others" },
      },
    )
    .post(
      "/:id/database-access",
      async ({ params, body, meta, principal, set }) => {
        const access = await grantAccessFor(deps, commandContext(meta, principal), principal, params.id, body);
        set.status = 201;
        return { message: "Database access granted successfully", access: accessJson(access) };
      },
      {
        auth: { permission: "database_access.grant" },
        body: t.Object(
          {
            data_source_id: t.Optional(id),
            database: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
            tables: t.Optional(t.Union([t.Array(t.String({ minLength: 1, maxLength: 200 }), { maxItems: 500 }), t.Null()])),
            expires_at: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 64 }), t.Null()])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Grant a user access to a data source (data_source_id, or database = its name): tables (absent/null = every table), expires_at (future). A second grant for the same data source replaces the first",
        },
      },
    )
    .delete(
      "/:id/database-access/:access_id",
      async ({ params, meta, principal }) => {
        await revokeAccessFor(deps, commandContext(meta, principal), principal, params.id, params.access_id);
        return { message: "Database access revoked successfully" };
      },
      { auth: { permission: "database_access.revoke" }, detail: { summary: "Revoke a database access grant" } },
    );
}
