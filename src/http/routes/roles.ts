import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { invalid } from "../../domain/errors";
import { parsePermissionName } from "../../domain/permission";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { changeRolePermissionsFor, createRoleFor, deleteRoleFor, findRoleFor, listRolesFor, updateRoleFor } from "../../handlers/roles";
import { userCountsOf } from "../../../projections/roles/queries";
import { permissionsByNames } from "../../../projections/permissions/queries";
import type { RoleRow } from "../../../projections/roles/schema";

const roleName = t.String({ minLength: 1, maxLength: 100 });
const nullableText = (maxLength: number) => t.Optional(t.Union([t.String({ maxLength }), t.Null()]));
/** A permission id or name (`resource.action` / `resource:action`). */
const permissionRef = t.String({ minLength: 1, maxLength: 140 });
const permissionRefs = t.Array(permissionRef, { maxItems: 500 });

const permissionIdsBody = t.Object(
  {
    permission_ids: t.Optional(permissionRefs),
    /** The same list under the name POST /roles uses. */
    permissions: t.Optional(permissionRefs),
  },
  { additionalProperties: false },
);

/** `permission_ids` (seed 002) or `permissions`; at least one permission. */
function permissionRefsOf(body: { permission_ids?: string[]; permissions?: string[] }): { refs: string[]; path: string } {
  const refs = [...(body.permission_ids ?? []), ...(body.permissions ?? [])];
  if (refs.length === 0) throw invalid("/body/permission_ids", "Give permission_ids: permission ids or names");
  return { refs, path: body.permission_ids !== undefined ? "/body/permission_ids" : "/body/permissions" };
}

export type RoleJson = Awaited<ReturnType<typeof presentRoles>>[number];

/**
 * Roles as the API shows them: permissions both as objects (id, name, resource, action)
 * and as names, and how many users hold each role.
 */
export async function presentRoles(deps: Deps, rows: readonly RoleRow[]) {
  const db = deps.db.drizzle;
  const names = [...new Set(rows.flatMap((r) => r.permissions))];
  const [catalog, counts] = await Promise.all([permissionsByNames(db, names), userCountsOf(db, rows)]);
  const byName = new Map(catalog.map((p) => [p.name, p]));
  return rows.map((r) => {
    const held = [...r.permissions].sort();
    return {
      id: r.id,
      name: r.name,
      display_name: r.displayName,
      description: r.description,
      is_system: r.isSystem,
      is_active: r.isActive,
      organization_id: r.organizationId,
      permissions: held.map((name) => {
        const p = byName.get(name);
        // A name the catalog no longer knows (a grant racing a deletion) still shows.
        const parsed = p ?? parsePermissionName(name);
        return { id: p?.id ?? null, name, resource: parsed?.resource ?? null, action: parsed?.action ?? null };
      }),
      permission_names: held,
      user_count: counts.get(r.id) ?? 0,
      created_at: r.createdAt.toISOString(),
      updated_at: r.updatedAt.toISOString(),
    };
  });
}

export function rolesRoutes(deps: Deps) {
  /** Like users: a single role both flat and under `role`. */
  const single = async (row: RoleRow) => {
    const [r] = await presentRoles(deps, [row]);
    return { ...r, role: r };
  };

  return new Elysia({ prefix: "/roles", detail: { tags: ["Roles"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/",
      async ({ query, principal }) => {
        const page = pageRequest(query, 100);
        const { rows, total } = await listRolesFor(
          deps,
          principal,
          { search: query.search || undefined, isActive: query.is_active, organizationId: query.organization_id || undefined },
          page,
        );
        return pageResponse("roles", await presentRoles(deps, rows), total, page);
      },
      {
        auth: { permission: "role.read" },
        query: t.Object({
          ...paginationQuery,
          search: t.Optional(t.String({ maxLength: 200 })),
          is_active: t.Optional(t.BooleanString()),
          organization_id: t.Optional(t.String({ maxLength: 100 })),
        }),
        detail: {
          summary: "List the organization's roles: search (name, display name, description), is_active; super admins see every organization or pick one with organization_id",
        },
      },
    )
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const row = await createRoleFor(deps, commandContext(meta, principal), principal, {
          ...body,
          permissions: [...(body.permissions ?? []), ...(body.permission_ids ?? [])],
        });
        set.status = 201;
        return single(row);
      },
      {
        auth: { permission: "role.create" },
        body: t.Object(
          {
            name: roleName,
            display_name: nullableText(200),
            description: nullableText(2000),
            is_active: t.Optional(t.Boolean()),
            permissions: t.Optional(permissionRefs),
            permission_ids: t.Optional(permissionRefs),
            organization_id: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary: "Create a role (name unique in the organization, exact match); `permissions` by id or name; only permissions the caller holds (super admins: any but platform ones)",
        },
      },
    )
    .get("/:id", async ({ params, principal }) => single(await findRoleFor(deps, principal, params.id)), {
      auth: { permission: "role.read" },
      detail: { summary: "Get a role" },
    })
    .put(
      "/:id",
      async ({ params, body, meta, principal }) => {
        const { permission_ids, ...rest } = body;
        const permissions = body.permissions !== undefined || permission_ids !== undefined ? [...(body.permissions ?? []), ...(permission_ids ?? [])] : undefined;
        return single(await updateRoleFor(deps, commandContext(meta, principal), principal, params.id, { ...rest, permissions }));
      },
      {
        auth: { permission: "role.update" },
        body: t.Object(
          {
            name: t.Optional(roleName),
            display_name: nullableText(200),
            description: nullableText(2000),
            is_active: t.Optional(t.Boolean()),
            permissions: t.Optional(permissionRefs),
            permission_ids: t.Optional(permissionRefs),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Update a role: name (not of system roles), display_name, description, is_active (an inactive role grants nothing; admin stays active), `permissions` replaces the set",
        },
      },
    )
    .delete(
      "/:id",
      async ({ params, meta, principal }) => {
        const { revoked } = await deleteRoleFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Role deleted successfully", revoked_from_users: revoked };
      },
      { auth: { permission: "role.delete" }, detail: { summary: "Delete a custom role: revoked from its holders first, then its name is free again" } },
    )
    .post(
      "/:id/permissions",
      async ({ params, body, meta, principal }) => {
        const { refs, path } = permissionRefsOf(body);
        return single(await changeRolePermissionsFor(deps, commandContext(meta, principal), principal, params.id, refs, "add", path));
      },
      {
        auth: { permission: "role.update" },
        body: permissionIdsBody,
        detail: { summary: "Add permissions to a role (`permission_ids`: ids or names); only permissions the caller holds" },
      },
    )
    .delete(
      "/:id/permissions",
      async ({ params, body, meta, principal }) => {
        const { refs, path } = permissionRefsOf(body);
        return single(await changeRolePermissionsFor(deps, commandContext(meta, principal), principal, params.id, refs, "remove", path));
      },
      {
        auth: { permission: "role.update" },
        body: permissionIdsBody,
        detail: { summary: "Remove permissions from a role (`permission_ids`: ids or names); effective on the holders' next request" },
      },
    );
}
