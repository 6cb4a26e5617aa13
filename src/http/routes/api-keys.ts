/**
 * /apikeys: create (the secret is in this one response only), list, get, rotate, revoke.
 * Seed 004 reads `apiKeyId` and `apiKey`; the snake_case `id` and `api_key` say the same.
 * Who sees which keys: src/handlers/api-keys.ts.
 */
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import type { ApiKeyListing } from "../../../projections/api-keys/queries";
import {
  MAX_GRACE_SECONDS,
  createApiKeyFor,
  findApiKeyFor,
  listApiKeysFor,
  revokeApiKeyFor,
  rotateApiKeyFor,
} from "../../handlers/api-keys";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * A key as everyone may see it: never the secret, never its hash. `status` is what the
 * key does now: active, expired, rotated (its grace period, if any, in grace_until),
 * revoked, or suspended (its creator or organization is inactive or gone).
 */
export function apiKeyJson(deps: Deps, k: ApiKeyListing, now = Date.now()) {
  let status: string = k.status;
  if (k.status === "active") {
    const creator = deps.security.users.get(k.createdBy);
    if (k.expiresAt && k.expiresAt.getTime() <= now) status = "expired";
    else if (!creator || !creator.isActive || !deps.security.organizationUsable(k.organizationId)) status = "suspended";
  }
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    status,
    organization_id: k.organizationId,
    created_by: k.createdBy,
    created_at: k.createdAt.toISOString(),
    updated_at: k.updatedAt.toISOString(),
    expires_at: iso(k.expiresAt),
    last_used_at: iso(k.lastUsedAt),
    grace_until: iso(k.graceUntil),
    rotated_to: k.rotatedTo,
    revoked_at: iso(k.revokedAt),
  };
}

/** The one response that carries a secret, under each name the seeds and clients use. */
function issuedJson(deps: Deps, key: ApiKeyListing, secret: string) {
  return {
    ...apiKeyJson(deps, key),
    api_key: secret,
    key: secret,
    apiKeyId: key.id,
    apiKey: secret,
    message: "Store this key now: it is not shown again",
  };
}

const id = t.String({ minLength: 1, maxLength: 100 });

export function apiKeysRoutes(deps: Deps) {
  return new Elysia({ prefix: "/apikeys", detail: { tags: ["API keys"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const { key, secret } = await createApiKeyFor(deps, commandContext(meta, principal), principal, body);
        set.status = 201;
        set.headers["cache-control"] = "no-store";
        return issuedJson(deps, key, secret);
      },
      {
        auth: { permission: "apikey.create" },
        body: t.Object(
          {
            name: t.String({ minLength: 1, maxLength: 100 }),
            scopes: t.Array(t.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 100 }),
            expires_at: t.Optional(t.Union([t.String({ maxLength: 40 }), t.Null()])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Create an API key: scopes (permission names, `resource.action` or `resource:action`) must be held by the caller; optional expires_at (ISO time in the future). The secret is returned once.",
        },
      },
    )
    .get(
      "/",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listApiKeysFor(deps, principal, { status: query.status, organizationId: query.organization_id || undefined }, page);
        const now = Date.now();
        return pageResponse("api_keys", rows.map((k) => apiKeyJson(deps, k, now)), total, page);
      },
      {
        auth: { permission: "apikey.read" },
        query: t.Object({
          ...paginationQuery,
          status: t.Optional(t.Union([t.Literal("active"), t.Literal("rotated"), t.Literal("revoked")])),
          organization_id: t.Optional(t.String({ maxLength: 100 })),
        }),
        detail: {
          summary:
            "List API keys (never secrets): an organization admin sees its organization's keys, anyone else the keys it created, a super admin every organization's (or one with organization_id)",
        },
      },
    )
    .get("/:id", async ({ params, principal }) => apiKeyJson(deps, await findApiKeyFor(deps, principal, params.id)), {
      auth: { permission: "apikey.read" },
      params: t.Object({ id }),
      detail: { summary: "Get an API key (never its secret)" },
    })
    .post(
      "/rotate/:id",
      async ({ params, body, meta, principal, set }) => {
        const { key, secret, previous } = await rotateApiKeyFor(deps, commandContext(meta, principal), principal, params.id, {
          gracePeriodSeconds: body?.grace_period_seconds,
        });
        set.headers["cache-control"] = "no-store";
        return { ...issuedJson(deps, key, secret), rotated_from: previous.id, previous_key: apiKeyJson(deps, previous) };
      },
      {
        auth: { permission: "apikey.rotate" },
        params: t.Object({ id }),
        body: t.Optional(
          t.Object({ grace_period_seconds: t.Optional(t.Integer({ minimum: 0, maximum: MAX_GRACE_SECONDS })) }, { additionalProperties: false }),
        ),
        detail: {
          summary:
            "Rotate an API key: a new key with the same name, scopes and expiry (its secret returned once); the old key stops at once, or after grace_period_seconds",
        },
      },
    )
    .post(
      "/revoke/:id",
      async ({ params, meta, principal }) => {
        await revokeApiKeyFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Revoked" };
      },
      {
        auth: { permission: "apikey.revoke" },
        params: t.Object({ id }),
        detail: { summary: "Revoke an API key: it stops working at once" },
      },
    );
}
