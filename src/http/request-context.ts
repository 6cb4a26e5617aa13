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

type Server = { requestIP(r: Request): { address: string } | null } | null | undefined;

const metas = new WeakMap<Request, RequestMeta>();

/**
 * Establishes the request id and start time once per request, as early as `onRequest`:
 * requests that fail before any route hook runs (unknown route, unparsable or oversized
 * body) must still carry the id in their response header and their log line.
 *
 * Hooks call it with destructured arguments, never the whole context: Elysia infers from
 * a hook's parameters what to prepare, and a context passed on whole makes it parse
 * cookies, query and a headers object for every request of every route.
 */
export function requestMeta(request: Request, server: Server, set: { headers: Record<string, unknown> }): RequestMeta {
  const known = metas.get(request);
  if (known) return known;
  const incoming = request.headers.get("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : Bun.randomUUIDv7();
  set.headers["x-request-id"] = requestId;
  // ip and user agent only matter to commands (event metadata): looked up on first use.
  let ip: string | null | undefined;
  let userAgent: string | null | undefined;
  const meta: RequestMeta = {
    requestId,
    get ip() {
      if (ip === undefined) ip = server?.requestIP(request)?.address ?? null;
      return ip;
    },
    get userAgent() {
      if (userAgent === undefined) userAgent = request.headers.get("user-agent")?.slice(0, 512) ?? null;
      return userAgent;
    },
    startedAt: performance.now(),
  };
  metas.set(request, meta);
  return meta;
}

/** The meta of a request whose onRequest hook ran; undefined otherwise. */
export function knownRequestMeta(request: Request): RequestMeta | undefined {
  return metas.get(request);
}

export const requestContext = new Elysia({ name: "request-context" })
  .onRequest(({ request, server, set }) => {
    requestMeta(request, server, set);
  })
  .derive({ as: "global" }, ({ request, server, set }) => ({ meta: requestMeta(request, server, set) }));

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
