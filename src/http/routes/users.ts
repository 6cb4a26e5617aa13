import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { invalid, notFound } from "../../domain/errors";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { currentUserJson, userJson } from "../presenters";
import type { UserRow } from "../../../projections/users/schema";
import {
  assignRolesFor,
  createUserFor,
  deleteUserFor,
  findUserFor,
  listUsersFor,
  revokeRolesFor,
  updateOwnProfile,
  updateUserFor,
} from "../../handlers/user-admin";
import { findUserAsOfFor } from "../../handlers/point-in-time";
import { parseInstant } from "../../audit/point-in-time";

const email = t.String({ minLength: 3, maxLength: 320, pattern: "^[^\\s@]+@[^\\s@]+$" });
const name = t.Optional(t.Union([t.String({ maxLength: 100 }), t.Null()]));
const roleName = t.String({ minLength: 1, maxLength: 100 });
const systemRole = t.Union([t.Literal("admin"), t.Literal("manager"), t.Literal("user")]);
const id = t.String({ minLength: 1, maxLength: 100 });

const roleIdsBody = t.Object(
  {
    role_id: t.Optional(id),
    role_ids: t.Optional(t.Array(id, { minItems: 1, maxItems: 100 })),
  },
  { additionalProperties: false },
);

/** `role_id` or `role_ids` (both seeds' spellings); at least one role. */
function roleIdsOf(body: { role_id?: string; role_ids?: string[] }): string[] {
  const ids = [...(body.role_id !== undefined ? [body.role_id] : []), ...(body.role_ids ?? [])];
  if (ids.length === 0) throw invalid("/body/role_ids", "Give role_id or role_ids");
  return [...new Set(ids)];
}

export function usersRoutes(deps: Deps) {
  const user = (row: UserRow) => userJson(deps, row);
  /** Seeds read a single user both flat and under `user`. */
  const single = (row: UserRow) => {
    const u = user(row);
    return { ...u, user: u };
  };
  const me = (userId: string) => {
    const json = currentUserJson(deps, userId);
    if (!json) throw notFound("User");
    return json;
  };

  return new Elysia({ prefix: "/users", detail: { tags: ["Users"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listUsersFor(
          deps,
          principal,
          { search: query.search || undefined, isActive: query.is_active, role: query.role || undefined, organizationId: query.organization_id || undefined },
          page,
        );
        // `current_page` is seed 001's name for `page`.
        return { ...pageResponse("users", rows.map(user), total, page), current_page: page.page };
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
        detail: {
          summary: "List users: search (e-mail, username, names), is_active, role (name); super admins see every organization or pick one with organization_id",
        },
      },
    )
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const row = await createUserFor(deps, commandContext(meta, principal), principal, body);
        set.status = 201;
        return single(row);
      },
      {
        auth: { permission: "user.create" },
        body: t.Object(
          {
            email,
            password: t.String({ minLength: 1, maxLength: 1024 }),
            username: name,
            first_name: name,
            last_name: name,
            role: t.Optional(roleName),
            roles: t.Optional(t.Array(roleName, { minItems: 1, maxItems: 50 })),
            organization_id: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
            is_active: t.Optional(t.Boolean()),
            is_verified: t.Optional(t.Boolean()),
          },
          { additionalProperties: false },
        ),
        detail: { summary: "Create a user in the caller's organization (a super admin names organization_id); role `user` unless `role`/`roles` name others" },
      },
    )
    .get("/me", ({ principal }) => me(principal.userId), {
      auth: true,
      detail: { summary: "The caller's own user" },
    })
    .put(
      "/me",
      async ({ body, meta, principal }) => {
        await updateOwnProfile(deps, commandContext(meta, principal), principal, body);
        return me(principal.userId);
      },
      {
        auth: true,
        body: t.Object({ username: name, first_name: name, last_name: name }, { additionalProperties: false }),
        detail: { summary: "Update the caller's own username, first and last name" },
      },
    )
    .get(
      "/:id",
      async ({ params, query, principal }) =>
        query.as_of === undefined
          ? single(await findUserFor(deps, principal, params.id))
          : findUserAsOfFor(deps, principal, params.id, parseInstant(query.as_of, "/query/as_of")),
      {
        auth: { permission: "user.read" },
        // Open: before as_of existed this route took no query schema, so any other parameter was ignored.
        query: t.Object({ as_of: t.Optional(t.String({ maxLength: 64 })) }, { additionalProperties: true }),
        detail: {
          summary:
            "Get a user; with `as_of` (ISO 8601 time) the user as it was then, folded from its events: profile, is_active, roles with the names they had then, the permissions they gave, plus `as_of`",
        },
      },
    )
    .put(
      "/:id",
      async ({ params, body, meta, principal }) => single(await updateUserFor(deps, commandContext(meta, principal), principal, params.id, body)),
      {
        auth: { permission: "user.update" },
        body: t.Object(
          {
            email: t.Optional(email),
            username: name,
            first_name: name,
            last_name: name,
            is_active: t.Optional(t.Boolean()),
            is_verified: t.Optional(t.Boolean()),
            role: t.Optional(systemRole),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary: "Update a user: profile, is_active (false ends the user's sessions), is_verified, `role` (replaces the system role; needs role.assign)",
        },
      },
    )
    .delete(
      "/:id",
      async ({ params, meta, principal }) => {
        await deleteUserFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Deleted" };
      },
      { auth: { permission: "user.delete" }, detail: { summary: "Delete a user (not yourself, not the last admin); frees the e-mail and the seat" } },
    )
    .post(
      "/:id/roles",
      async ({ params, body, meta, principal }) => {
        const ids = roleIdsOf(body);
        const row = await assignRolesFor(deps, commandContext(meta, principal), principal, params.id, ids);
        return { message: ids.length === 1 ? "Role assigned successfully" : "Roles assigned successfully", user: user(row) };
      },
      { auth: { permission: "role.assign" }, body: roleIdsBody, detail: { summary: "Assign roles of the user's organization (role_id or role_ids)" } },
    )
    .delete(
      "/:id/roles",
      async ({ params, body, meta, principal }) => {
        const ids = roleIdsOf(body);
        const row = await revokeRolesFor(deps, commandContext(meta, principal), principal, params.id, ids);
        return { message: ids.length === 1 ? "Role revoked successfully" : "Roles revoked successfully", user: user(row) };
      },
      { auth: { permission: "role.assign" }, body: roleIdsBody, detail: { summary: "Revoke roles (role_id or role_ids); the last admin keeps admin" } },
    );
}
