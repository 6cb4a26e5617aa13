/**
 * /audit/access-review: who held a role or a data source at a moment. The other /audit
 * routes live in routes/audit.ts; both are Elysia instances with the "/audit" prefix.
 */
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { parseInstant } from "../../audit/point-in-time";
import { accessReviewFor, holdingJson, reviewTargetOf } from "../../handlers/access-review";

export function auditReviewRoutes(deps: Deps) {
  return new Elysia({ prefix: "/audit", detail: { tags: ["Audit"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/access-review",
      async ({ query, principal }) => {
        const target = reviewTargetOf(query);
        const at = query.at === undefined ? new Date() : parseInstant(query.at, "/query/at");
        const page = pageRequest(query);
        const review = await accessReviewFor(deps, principal, target, at, page);
        const list = review.page.map((h) => holdingJson(h, review.target));
        return { ...pageResponse("access_list", list, review.total, page), count: list.length, at: review.at, ...review.target };
      },
      {
        auth: { permission: "audit.read" },
        query: t.Object({
          ...paginationQuery,
          at: t.Optional(t.String({ maxLength: 64 })),
          role_id: t.Optional(t.String({ maxLength: 100 })),
          data_source_id: t.Optional(t.String({ maxLength: 100 })),
        }),
        detail: {
          summary:
            "Who held a role (role_id) or access to a data source (data_source_id) at a moment (`at`, ISO 8601, default now): since when, granted by whom, by which event. Folded from the event stream; exactly one of role_id and data_source_id",
        },
      },
    );
}
