import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { isUuid, pageRequest, pageResponse, paginationQuery } from "../pagination";
import { organizationJson } from "../presenters";
import { notFound } from "../../domain/errors";
import { createOrganization, deleteOrganization, updateOrganization } from "../../handlers/organizations";
import { getOrganization, listOrganizations } from "../../../projections/organizations/queries";
import { countUsers } from "../../../projections/users/queries";

const SLUG = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$";
const DOMAIN = "^(?=.{3,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}$";
const policy = t.Union([t.Literal("domain"), t.Literal("open"), t.Literal("closed")]);

const profileFields = {
  name: t.String({ minLength: 1, maxLength: 200 }),
  slug: t.String({ pattern: SLUG, description: "lower-case letters, digits and dashes" }),
  domain: t.Union([t.String({ pattern: DOMAIN }), t.Null()]),
  description: t.Union([t.String({ maxLength: 2000 }), t.Null()]),
  max_users: t.Union([t.Integer({ minimum: 1, maximum: 10_000_000 }), t.Null()]),
  registration_policy: policy,
  is_active: t.Boolean(),
};

/** Every field optional: the update body, and the create body once `name` is made required. */
const optionalProfile = {
  name: t.Optional(profileFields.name),
  slug: t.Optional(profileFields.slug),
  domain: t.Optional(profileFields.domain),
  description: t.Optional(profileFields.description),
  max_users: t.Optional(profileFields.max_users),
  registration_policy: t.Optional(policy),
  is_active: t.Optional(t.Boolean()),
};

export function organizationRoutes(deps: Deps) {
  const db = deps.db.drizzle;
  const mustFind = async (id: string) => {
    const org = isUuid(id) ? await getOrganization(db, id) : null;
    if (!org || org.isSystem) throw notFound("Organization");
    return org;
  };

  return new Elysia({ prefix: "/organizations", detail: { tags: ["Organizations"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const org = await createOrganization(deps, commandContext(meta, principal), body);
        set.status = 201;
        return organizationJson(org);
      },
      {
        auth: { superAdmin: true },
        body: t.Object({ ...optionalProfile, name: profileFields.name }, { additionalProperties: false }),
        detail: { summary: "Create an organization (super admin)" },
      },
    )
    .get(
      "/",
      async ({ query }) => {
        const page = pageRequest(query);
        const { rows, total } = await listOrganizations(db, { isActive: query.is_active, search: query.search || undefined }, page);
        return pageResponse("organizations", rows.map(organizationJson), total, page);
      },
      {
        auth: { superAdmin: true },
        query: t.Object({ ...paginationQuery, is_active: t.Optional(t.BooleanString()), search: t.Optional(t.String({ maxLength: 200 })) }),
        detail: { summary: "List organizations (super admin)" },
      },
    )
    .get(
      "/my/info",
      async ({ principal }) => {
        const org = await getOrganization(db, principal.organizationId);
        if (!org) throw notFound("Organization");
        const counts = await countUsers(db, org.id);
        return { ...organizationJson(org), user_count: counts.total, active_user_count: counts.active };
      },
      { auth: true, detail: { summary: "The caller's own organization, with counts" } },
    )
    .get("/:id", async ({ params }) => organizationJson(await mustFind(params.id)), {
      auth: { superAdmin: true },
      detail: { summary: "Get an organization (super admin)" },
    })
    .put(
      "/:id",
      async ({ params, body, meta, principal }) => {
        await mustFind(params.id);
        return organizationJson(await updateOrganization(deps, commandContext(meta, principal), params.id, body));
      },
      {
        auth: { superAdmin: true },
        body: t.Object(optionalProfile, { additionalProperties: false }),
        detail: { summary: "Update an organization (super admin)" },
      },
    )
    .delete(
      "/:id",
      async ({ params, meta, principal }) => {
        await mustFind(params.id);
        await deleteOrganization(deps, commandContext(meta, principal), params.id);
        return { message: "Organization deleted" };
      },
      { auth: { superAdmin: true }, detail: { summary: "Delete an organization (super admin)" } },
    );
}
