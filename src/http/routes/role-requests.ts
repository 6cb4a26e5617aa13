import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { roleRequestJson } from "../presenters";
import type { RoleRequestRow } from "../../../projections/role-requests/schema";
import {
  approveRoleRequestFor,
  cancelRoleRequestFor,
  createRoleRequestFor,
  findRoleRequestFor,
  listRoleRequestsFor,
  rejectRoleRequestFor,
} from "../../handlers/role-requests";

const id = t.String({ minLength: 1, maxLength: 100 });
const text = (maxLength: number) => t.Optional(t.Union([t.String({ maxLength }), t.Null()]));
const decisionBody = t.Optional(t.Object({ notes: text(2000) }, { additionalProperties: false }));

export function roleRequestRoutes(deps: Deps) {
  const json = (row: RoleRequestRow) => roleRequestJson(deps, row);

  return new Elysia({ prefix: "/role-requests", detail: { tags: ["Role requests"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const row = await createRoleRequestFor(deps, commandContext(meta, principal), principal, body);
        set.status = 201;
        return json(row);
      },
      {
        auth: { permission: "role_request.create" },
        body: t.Object({ role_id: id, reason: text(2000) }, { additionalProperties: false }),
        detail: { summary: "Request a role of your organization (not one you hold; one pending request per role)" },
      },
    )
    .get(
      "/",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listRoleRequestsFor(deps, principal, { status: query.status, userId: query.user_id, roleId: query.role_id }, page);
        return pageResponse("role_requests", rows.map(json), total, page);
      },
      {
        auth: { permission: "role_request.read" },
        query: t.Object({
          ...paginationQuery,
          status: t.Optional(t.String({ maxLength: 20 })),
          user_id: t.Optional(t.String({ maxLength: 100 })),
          role_id: t.Optional(t.String({ maxLength: 100 })),
        }),
        detail: {
          summary:
            "List role requests: holders of role_request.approve see their organization's, everyone else their own; status (PENDING, APPROVED, REJECTED, CANCELLED, any case), user_id, role_id",
        },
      },
    )
    .get("/:id", async ({ params, principal }) => json(await findRoleRequestFor(deps, principal, params.id)), {
      auth: { permission: "role_request.read" },
      detail: { summary: "Get a role request (your own, or any of your organization's with role_request.approve)" },
    })
    .post(
      "/:id/approve",
      async ({ params, body, meta, principal }) => json(await approveRoleRequestFor(deps, commandContext(meta, principal), principal, params.id, body?.notes ?? null)),
      {
        auth: { permission: "role_request.approve" },
        body: decisionBody,
        detail: { summary: "Approve a pending request (not your own) and assign the role; you may grant only what you hold unless you are an admin" },
      },
    )
    .post(
      "/:id/reject",
      async ({ params, body, meta, principal }) => json(await rejectRoleRequestFor(deps, commandContext(meta, principal), principal, params.id, body?.notes ?? null)),
      {
        auth: { permission: "role_request.approve" },
        body: decisionBody,
        detail: { summary: "Reject a pending request (not your own)" },
      },
    )
    .post("/:id/cancel", async ({ params, meta, principal }) => json(await cancelRoleRequestFor(deps, commandContext(meta, principal), principal, params.id)), {
      auth: { permission: "role_request.create" },
      body: t.Optional(t.Object({}, { additionalProperties: false })),
      detail: { summary: "Cancel your own pending request" },
    });
}
