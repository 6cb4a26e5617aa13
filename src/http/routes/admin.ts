/**
 * /admin. Users: the same rules as /users (handlers/user-admin.ts), for organization
 * admins in their organization and super admins everywhere, by the user.* and
 * role.assign permissions. System status, cache clearing and logs: super admin only
 * (they describe or affect the whole platform, every tenant).
 */
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { invalid } from "../../domain/errors";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { userJson } from "../presenters";
import { deleteUserFor, findUserFor, listUsersFor, updateUserFor } from "../../handlers/user-admin";
import { clearCaches, listenForCacheClears, recentLogs, systemStatus } from "../../handlers/admin";

const systemRole = t.Union([t.Literal("admin"), t.Literal("manager"), t.Literal("user")]);

export function adminRoutes(deps: Deps) {
  // Every process serving the API hears the others' cache clears.
  void listenForCacheClears(deps);
  return new Elysia({ prefix: "/admin", detail: { tags: ["Admin"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/users",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listUsersFor(
          deps,
          principal,
          { search: query.search || undefined, isActive: query.is_active, role: query.role || undefined, organizationId: query.organization_id || undefined },
          page,
        );
        return pageResponse("users", rows.map((r) => userJson(deps, r)), total, page);
      },
      {
        auth: { permission: "user.read" },
        query: t.Object({
          ...paginationQuery,
          search: t.Optional(t.String({ maxLength: 200 })),
          is_active: t.Optional(t.BooleanString()),
          role: t.Optional(t.String({ maxLength: 100 })),
          organization_id: t.Optional(t.String({ maxLength: 100 })),
        }),
        detail: { summary: "List users (as GET /users): an admin sees its organization, a super admin every organization or organization_id" },
      },
    )
    .put(
      "/users/:id/role",
      async ({ params, body, meta, principal }) => {
        // The user first: another organization's user is 404 whatever the body says.
        await findUserFor(deps, principal, params.id);
        if (body.role === undefined) throw invalid("/body/role", "Give role: admin, manager or user");
        const row = await updateUserFor(deps, commandContext(meta, principal), principal, params.id, { role: body.role });
        return { message: "Role updated", user: userJson(deps, row) };
      },
      {
        auth: { permission: "role.assign" },
        body: t.Object({ role: t.Optional(systemRole) }, { additionalProperties: false }),
        detail: { summary: "Replace the user's system role (admin, manager, user); custom roles stay; the last admin keeps admin" },
      },
    )
    .put(
      "/users/:id/status",
      async ({ params, body, meta, principal }) => {
        await findUserFor(deps, principal, params.id);
        const active = body.is_active ?? (body.status === undefined ? undefined : body.status === "active");
        if (active === undefined) throw invalid("/body/is_active", "Give is_active (true or false) or status (active or inactive)");
        if (body.is_active !== undefined && body.status !== undefined && body.is_active !== (body.status === "active")) {
          throw invalid("/body/status", "is_active and status disagree");
        }
        const row = await updateUserFor(deps, commandContext(meta, principal), principal, params.id, { is_active: active });
        return { message: active ? "User activated" : "User deactivated", user: userJson(deps, row) };
      },
      {
        auth: { permission: "user.update" },
        body: t.Object(
          { is_active: t.Optional(t.Boolean()), status: t.Optional(t.Union([t.Literal("active"), t.Literal("inactive")])) },
          { additionalProperties: false },
        ),
        detail: { summary: "Activate or deactivate a user; deactivation ends its sessions and its tokens stop at once" },
      },
    )
    .delete(
      "/users/:id",
      async ({ params, meta, principal }) => {
        await deleteUserFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Deleted" };
      },
      { auth: { permission: "user.delete" }, detail: { summary: "Delete a user (not yourself, not the last admin)" } },
    )
    .get("/system/status", () => systemStatus(deps), {
      auth: { superAdmin: true },
      detail: { summary: "Event store (reachable, head), read database, every projection's checkpoint and lag (events, ms), LLM provider, uptime, memory, version" },
    })
    .post("/system/cache/clear", ({ principal }) => clearCaches(deps, principal.id), {
      auth: { superAdmin: true },
      detail: { summary: "Clear this process's caches (verified tokens, introspected schemas) and tell every other API process to clear theirs" },
    })
    .get("/logs", ({ query }) => recentLogs(deps, { level: query.level, limit: query.limit ?? 100 }), {
      auth: { superAdmin: true },
      query: t.Object({
        level: t.Optional(t.Union([t.Literal("debug"), t.Literal("info"), t.Literal("warn"), t.Literal("error")])),
        limit: t.Optional(t.Numeric({ minimum: 1, maximum: 1000 })),
      }),
      detail: { summary: "Recent structured log lines of this process, newest first, at `level` or above; secrets redacted" },
    });
}
