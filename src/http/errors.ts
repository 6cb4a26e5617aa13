/**
 * Every error becomes problem+json here, in one place: domain errors by kind, Elysia's
 * validation (422 with errors[]), parse (400), unknown routes (404), oversized bodies
 * (413). Anything unexpected is a 500 that reveals nothing but the request id.
 */
import { Elysia, ParseError, ValidationError } from "elysia";
import { DomainError, type DomainErrorKind } from "../domain/errors";
import { EventStoreUnavailableError } from "../eventstore/port";
import type { Logger } from "../logger";
import { problem, problemResponse as sendProblem, type Problem } from "./problem";
import { requestMeta } from "./request-context";

export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS: Record<DomainErrorKind, number> = {
  validation: 422,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  too_many: 429,
  unavailable: 503,
};

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Told about every 401/403 answer (the AccessDenied recorder). */
export type DeniedListener = (denied: { request: Request; route: string; status: 401 | 403; reason: string; permission: string | null; requestId: string; ip: string | null; userAgent: string | null }) => void;

export function errorsPlugin(logger: Logger, onDenied?: DeniedListener) {
  return new Elysia({ name: "errors" })
    .onParse({ as: "global" }, async ({ request, contentType }) => {
      // Our own JSON parser: it enforces the body limit even without Content-Length.
      if (!contentType?.startsWith("application/json") && !contentType?.endsWith("+json")) return;
      const bytes = await request.arrayBuffer();
      if (bytes.byteLength > MAX_BODY_BYTES) throw new HttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
      if (bytes.byteLength === 0) return {};
      try {
        return JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new HttpError(400, "Malformed JSON body");
      }
    })
    .onRequest(({ request, server, set }) => {
      // This hook runs before the request-context one: the early 413 needs its id too.
      const { requestId } = requestMeta(request, server, set);
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > MAX_BODY_BYTES) {
        set.status = 413;
        return sendProblem(problem(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`, { request_id: requestId }), { "x-request-id": requestId });
      }
    })
    .onError({ as: "global" }, ({ code, set, request, server, route, error: thrown }) => {
      // Elysia wraps whatever a parser throws in a ParseError: our 413/400 is its cause.
      const error = thrown instanceof ParseError && thrown.cause instanceof HttpError ? thrown.cause : thrown;
      const requestId = requestMeta(request, server, set).requestId;
      const withId = { request_id: requestId };
      // The status is recorded on `set` too: the access log and metrics read it there.
      const problemResponse = (p: Problem, headers: Record<string, string> = {}) => {
        set.status = p.status;
        return sendProblem(p, headers);
      };
      if (error instanceof DomainError) {
        const status = STATUS[error.kind];
        const headers: Record<string, string> = { "x-request-id": requestId ?? "" };
        if (status === 401) headers["www-authenticate"] = 'Bearer realm="ledgerline"';
        if (error.extra.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.extra.retryAfterSeconds);
        if ((status === 401 || status === 403) && onDenied) {
          const meta = requestMeta(request, server, set);
          onDenied({ request, route: route || "unmatched", status: status as 401 | 403, reason: error.message, permission: error.extra.permission ?? null, requestId, ip: meta.ip, userAgent: meta.userAgent });
        }
        return problemResponse(problem(status, error.message, { ...withId, ...(error.extra.errors && { errors: error.extra.errors }) }), headers);
      }
      if (error instanceof HttpError) return problemResponse(problem(error.status, error.message, withId), { "x-request-id": requestId ?? "" });
      if (code === "VALIDATION" && error instanceof ValidationError) {
        const errors = validationErrors(error);
        return problemResponse(problem(422, errors.map((e) => `${e.path}: ${e.message}`).join("; ") || "Invalid request", { ...withId, errors }), {
          "x-request-id": requestId ?? "",
        });
      }
      if (code === "PARSE") return problemResponse(problem(400, "Malformed request body", withId), { "x-request-id": requestId ?? "" });
      if (code === "NOT_FOUND") {
        return problemResponse(problem(404, `No route for ${request.method} ${new URL(request.url).pathname}`, withId), { "x-request-id": requestId ?? "" });
      }
      if (error instanceof EventStoreUnavailableError) {
        logger.error("event store unavailable", { request_id: requestId, error: error.message });
        return problemResponse(problem(503, "The event store is unavailable; retry shortly", withId), { "x-request-id": requestId ?? "", "retry-after": "5" });
      }
      logger.error("unhandled error", { request_id: requestId, code: String(code), error: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
      return problemResponse(problem(500, "An internal error occurred; quote the request id when reporting it", withId), { "x-request-id": requestId ?? "" });
    });
}

function validationErrors(error: ValidationError): Array<{ path: string; message: string }> {
  try {
    const seen = new Set<string>();
    const out: Array<{ path: string; message: string }> = [];
    for (const e of error.all as Array<{ path?: string; summary?: string; message?: string }>) {
      const path = e.path || "/";
      const message = e.summary ?? e.message ?? "invalid";
      const key = `${path}|${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ path: `/${error.type}${path === "/" ? "" : path}`, message });
    }
    return out;
  } catch {
    return [{ path: `/${error.type}`, message: "invalid" }];
  }
}
