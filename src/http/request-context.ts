/**
 * Per-request facts every route and event needs: the request id (echoed in the
 * `x-request-id` header and the logs), the client's ip and user agent.
 */
import { Elysia } from "elysia";
import type { CommandContext } from "../eventstore/context";
import type { Principal } from "./auth";

export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  startedAt: number;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

export const requestContext = new Elysia({ name: "request-context" }).derive({ as: "global" }, ({ request, server, set }) => {
  const incoming = request.headers.get("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : Bun.randomUUIDv7();
  set.headers["x-request-id"] = requestId;
  const meta: RequestMeta = {
    requestId,
    ip: server?.requestIP(request)?.address ?? null,
    userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? null,
    startedAt: performance.now(),
  };
  return { meta };
});

export function commandContext(meta: RequestMeta, principal: Principal | null): CommandContext {
  return {
    actor: principal ? { type: principal.type, id: principal.id } : { type: "anonymous", id: null },
    organizationId: principal?.organizationId ?? null,
    correlationId: meta.requestId,
    causationId: null,
    ip: meta.ip,
    userAgent: meta.userAgent,
    now: new Date(),
  };
}
