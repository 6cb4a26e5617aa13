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

/**
 * Establishes the request id and start time once per request, as early as `onRequest`:
 * requests that fail before any route hook runs (unknown route, unparsable or oversized
 * body) must still carry the id in their response header and their log line.
 */
export function ensureRequestMeta(c: { request: Request; server?: { requestIP(r: Request): { address: string } | null } | null; set: { headers: Record<string, unknown> } }): RequestMeta {
  const holder = c as { meta?: RequestMeta };
  if (holder.meta) return holder.meta;
  const incoming = c.request.headers.get("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : Bun.randomUUIDv7();
  c.set.headers["x-request-id"] = requestId;
  const meta: RequestMeta = {
    requestId,
    ip: c.server?.requestIP(c.request)?.address ?? null,
    userAgent: c.request.headers.get("user-agent")?.slice(0, 512) ?? null,
    startedAt: performance.now(),
  };
  holder.meta = meta;
  return meta;
}

export const requestContext = new Elysia({ name: "request-context" })
  .onRequest((c) => {
    ensureRequestMeta(c);
  })
  .derive({ as: "global" }, (c) => ({ meta: ensureRequestMeta(c) }));

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
