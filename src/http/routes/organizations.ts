import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { isUuid, pageRequest, pageResponse, paginationQuery } from "../pagination";
import { organizationJson, userJson } from "../presenters";
import { DomainError, notFound } from "../../domain/errors";
import { createOrganization, deleteOrganization, updateOrganization } from "../../handlers/organizations";
import { onboardOrganization, planOnboarding } from "../../handlers/onboarding";
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, parseIdempotencyKey, withIdempotency } from "../../handlers/idempotency";
import { getOrganization, listOrganizations } from "../../../projections/organizations/queries";
import { countUsers } from "../../../projections/users/queries";
import type { RoleRow } from "../../../projections/roles/schema";

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

const nullableText = (maxLength: number) => t.Optional(t.Union([t.String({ maxLength }), t.Null()]));
const roleName = t.String({ minLength: 1, maxLength: 100 });

/** Seed 000 "Onboard New Organization": the organization, its roles and its users in one body. */
const onboardBody = t.Object(
  {
    organization: t.Object(
      {
        name: profileFields.name,
        slug: t.Optional(profileFields.slug),
        domain: t.Optional(profileFields.domain),
        description: t.Optional(profileFields.description),
        max_users: t.Optional(profileFields.max_users),
        registration_policy: t.Optional(policy),
      },
      { additionalProperties: false },
    ),
    roles: t.Optional(
      t.Array(
        t.Object(
          {
            name: roleName,
            display_name: nullableText(200),
            description: nullableText(2000),
            permissions: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 100 }), { maxItems: 200 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 100 },
      ),
    ),
    users: t.Optional(
      t.Array(
        t.Object(
          {
            email: t.String({ minLength: 3, maxLength: 320, pattern: "^[^\\s@]+@[^\\s@]+$" }),
            password: t.String({ minLength: 1, maxLength: 1024 }),
            first_name: nullableText(100),
            last_name: nullableText(100),
            username: nullableText(100),
            is_admin: t.Optional(t.Boolean()),
            roles: t.Optional(t.Array(roleName, { maxItems: 100 })),
          },
          { additionalProperties: false },
        ),
        { maxItems: 200 },
      ),
    ),
  },
  { additionalProperties: false },
);

const roleJson = (r: RoleRow) => ({
  id: r.id,
  organization_id: r.organizationId,
  name: r.name,
  display_name: r.displayName,
  description: r.description,
  is_system: r.isSystem,
  is_active: r.isActive,
  permissions: [...r.permissions].sort(),
  created_at: r.createdAt.toISOString(),
  updated_at: r.updatedAt.toISOString(),
});

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
    .post(
      "/onboard",
      async ({ body, meta, principal, request, set }) => {
        const key = parseIdempotencyKey(request.headers.get(IDEMPOTENCY_KEY_HEADER));
        const plan = planOnboarding(body);
        const ctx = commandContext(meta, principal);
        const run = async () => {
          const done = await onboardOrganization(deps, ctx, plan);
          const users = done.userIds.map((id) => {
            const u = deps.security.users.get(id);
            if (!u) throw new DomainError("unavailable", "The organization was onboarded but is not readable yet; fetch it shortly");
            return userJson(deps, u);
          });
          return { status: 201, body: { organization: organizationJson(done.organization), roles: done.roles.map(roleJson), users } };
        };
        const result = key
          ? await withIdempotency(deps, ctx, { principalId: principal.id, key, operation: "organizations.onboard", body }, run)
          : { ...(await run()), replayed: false };
        set.status = result.status;
        if (result.replayed) set.headers[IDEMPOTENT_REPLAYED_HEADER] = "true";
        return result.body;
      },
      {
        auth: { superAdmin: true },
        body: onboardBody,
        detail: {
          summary: "Onboard an organization with its roles and users in one call (super admin); all of it or none of it becomes visible",
          description:
            "Users get the `admin` role with `is_admin`, plus the roles they name (system or this request's); a user with neither gets `user`. " +
            "An `Idempotency-Key` header (1 to 255 printable ASCII characters) makes retries safe: the same key and body return the first response; " +
            "the same key with another body is refused (422); a retry while the first is still running gets 409.",
          parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } }],
        },
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
