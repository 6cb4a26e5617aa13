import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { notFound } from "../../domain/errors";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { isUuid, pageRequest, pageResponse, paginationQuery } from "../pagination";
import { createPermission, deletePermission, updatePermission } from "../../handlers/permissions";
import { getPermission, listPermissions, type PermissionFilter } from "../../../projections/permissions/queries";
import type { PermissionRow } from "../../../projections/permissions/schema";

export function permissionJson(p: PermissionRow) {
  return {
    id: p.id,
    name: p.name,
    resource: p.resource,
    action: p.action,
    description: p.description,
    is_system: p.isSystem,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

const part = t.String({ minLength: 1, maxLength: 64 });
const filterQuery = {
  search: t.Optional(t.String({ maxLength: 200 })),
  resource: t.Optional(t.String({ maxLength: 64 })),
  action: t.Optional(t.String({ maxLength: 64 })),
};

/** Empty query values (seed 002 sends `?search=&resource=&action=`) filter nothing. */
function filterOf(q: { search?: string; resource?: string; action?: string }): PermissionFilter {
  return {
    search: q.search?.trim() || undefined,
    resource: q.resource?.trim().toLowerCase() || undefined,
    action: q.action?.trim().toLowerCase() || undefined,
  };
}

export function permissionsRoutes(deps: Deps) {
  const db = deps.db.drizzle;
  const mustFind = async (id: string) => {
    const row = isUuid(id) ? await getPermission(db, id.toLowerCase()) : null;
    if (!row) throw notFound("Permission");
    return row;
  };
  /** A single permission both flat and under `permission`, as roles and users are. */
  const single = (row: PermissionRow) => {
    const p = permissionJson(row);
    return { ...p, permission: p };
  };

  return new Elysia({ prefix: "/permissions", detail: { tags: ["Permissions"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/",
      async ({ query }) => {
        const page = pageRequest(query, 100);
        const { rows, total } = await listPermissions(db, filterOf(query), page);
        return pageResponse("permissions", rows.map(permissionJson), total, page);
      },
      {
        auth: true,
        query: t.Object({ ...paginationQuery, ...filterQuery }),
        detail: { summary: "The permission catalog: search (name, resource, action, description), resource, action" },
      },
    )
    .get(
      "/grouped",
      async ({ query }) => {
        const { rows, total } = await listPermissions(db, filterOf(query));
        const permissions: Record<string, ReturnType<typeof permissionJson>[]> = {};
        for (const row of rows) (permissions[row.resource] ??= []).push(permissionJson(row));
        const resources = Object.keys(permissions).sort();
        return { permissions, resources, total };
      },
      {
        auth: true,
        query: t.Object(filterQuery),
        detail: { summary: "The permission catalog grouped by resource: `permissions` maps each resource to its permissions; same filters as the list" },
      },
    )
    .get("/:id", async ({ params }) => single(await mustFind(params.id)), {
      auth: true,
      detail: { summary: "Get a permission" },
    })
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const row = await createPermission(deps, commandContext(meta, principal), body);
        set.status = 201;
        return single(row);
      },
      {
        auth: { superAdmin: true },
        body: t.Object(
          {
            name: t.Optional(t.String({ minLength: 1, maxLength: 130 })),
            resource: t.Optional(part),
            action: t.Optional(part),
            description: t.Optional(t.Union([t.String({ maxLength: 2000 }), t.Null()])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary: "Create a custom permission (super admin): `name` as resource.action or resource:action, or resource and action; (resource, action) is unique (409)",
        },
      },
    )
    .put(
      "/:id",
      async ({ params, body, meta, principal }) => {
        await mustFind(params.id);
        return single(await updatePermission(deps, commandContext(meta, principal), params.id, body));
      },
      {
        auth: { superAdmin: true },
        body: t.Object(
          {
            name: t.Optional(t.String({ minLength: 1, maxLength: 130 })),
            resource: t.Optional(part),
            action: t.Optional(part),
            description: t.Optional(t.Union([t.String({ maxLength: 2000 }), t.Null()])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary: "Update a custom permission (super admin): rename (roles holding it follow) or describe; system permissions are immutable (422)",
        },
      },
    )
    .delete(
      "/:id",
      async ({ params, meta, principal }) => {
        await mustFind(params.id);
        const { rolesChanged } = await deletePermission(deps, commandContext(meta, principal), params.id);
        return { message: "Permission deleted successfully", roles_changed: rolesChanged };
      },
      {
        auth: { superAdmin: true },
        detail: { summary: "Delete a custom permission (super admin); it is removed from every role holding it. System permissions are immutable (422)" },
      },
    );
}
