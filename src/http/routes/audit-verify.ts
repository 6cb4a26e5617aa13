import { Elysia } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { requestContext } from "../request-context";
import { verifyEventStore } from "../../audit/verify";

/**
 * GET /audit/verify (super admin): recomputes every stream's hash chain and names the
 * first event where it breaks. It reads the whole store, so it is for operators, not
 * dashboards; `npm run audit:verify` does the same from a shell with a progress bar.
 */
export function auditVerifyRoutes(deps: Deps) {
  return new Elysia({ prefix: "/audit", detail: { tags: ["Audit"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get("/verify", () => verifyEventStore(deps.store, { db: deps.store.name === "eventstoredb" ? undefined : deps.db }), {
      auth: { superAdmin: true },
      detail: { summary: "Verify the tamper-evident hash chains of every stream: {valid, events_checked, first_broken}" },
    });
}
