/**
 * `Idempotency-Key` for any POST: the first request with a key runs; a retry with the
 * same key and the same request gets the first response again (same status, same body)
 * without anything being done again; the same key with another request is refused (422);
 * a retry while the first is still running gets 409 "in progress".
 *
 * Keys are scoped to the principal: the stream is `idempotency-<sha256(principal id +
 * key)>` (principal ids are fixed-length UUIDs, so the concatenation is unambiguous), and
 * the key itself is never stored. The request is remembered by a keyed hash (HMAC with a
 * key derived from DATA_ENCRYPTION_KEY), not a plain hash: request bodies can hold
 * passwords, and a fast unkeyed hash of a known body would let a reader of the event
 * store test password guesses. Only a response goes into the store, and values under
 * secret-looking names are redacted from the kept copy (defence in depth: responses that
 * use this must hold no secret anyway).
 *
 * A request that fails (throws) gives its key back, so a retry runs it again: the
 * operations that use this leave nothing behind when they fail (e.g. onboarding
 * compensates). Usage from a route:
 *
 *   const key = parseIdempotencyKey(request.headers.get(IDEMPOTENCY_KEY_HEADER));
 *   const result = await withIdempotency(deps, ctx, { principalId, key, operation, body }, run);
 */
import { createHash, createHmac } from "node:crypto";
import type { Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { idempotency } from "../domain/idempotency";
import { DomainError, invalid } from "../domain/errors";

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Set on a replayed response. */
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";

/** How long an attempt holds its key: past this, a process is presumed dead and a retry may run. */
export const DEFAULT_LEASE_MS = 10 * 60_000;
/** How long a completed response is kept for replay. */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60_000;

const PRINTABLE = /^[\x20-\x7E]{1,255}$/;
const SECRET_NAME = /password|secret|token|api_?key|private_?key/i;

/** null when the header is absent; a 422 naming the header when it is not 1..255 printable ASCII characters. */
export function parseIdempotencyKey(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (!PRINTABLE.test(raw) || raw.trim() === "") {
    throw invalid("/headers/idempotency-key", "Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  return raw;
}

export function idempotencyStreamId(principalId: string, key: string): string {
  return stream.idempotency(createHash("sha256").update(principalId + key, "utf8").digest("hex"));
}

/** JSON with object keys sorted: two bodies that differ only in key order are the same request. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function requestFingerprint(deps: Pick<Deps, "config">, operation: string, body: unknown): string {
  const key = createHash("sha256").update("ledgerline:idempotency-request:v1\0").update(deps.config.dataEncryptionKey).digest();
  return createHmac("sha256", key).update(canonicalJson({ operation, body })).digest("hex");
}

/** A copy of the response to keep: values under secret-looking names replaced. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_NAME.test(k) && v !== null ? "[redacted]" : redactSecrets(v)]),
  );
}

export interface IdempotentRequest {
  /** Who asked: the key is theirs alone. */
  principalId: string;
  key: string;
  /** Names the endpoint (e.g. "organizations.onboard"): one key on two endpoints is two different requests. */
  operation: string;
  /** The validated request body. */
  body: unknown;
}

export interface IdempotentResponse {
  status: number;
  body: unknown;
}

export async function withIdempotency(
  deps: Pick<Deps, "store" | "config" | "logger">,
  ctx: CommandContext,
  request: IdempotentRequest,
  run: () => Promise<IdempotentResponse>,
  options: { leaseMs?: number; retentionMs?: number } = {},
): Promise<IdempotentResponse & { replayed: boolean }> {
  const streamId = idempotencyStreamId(request.principalId, request.key);
  const attemptId = Bun.randomUUIDv7();
  // Concurrent starts append against the same revision: one wins, the other re-reads and sees it in progress.
  const started = await handleCommand(deps.store, streamId, idempotency, {
    type: "StartRequest",
    attemptId,
    operation: request.operation,
    requestHash: requestFingerprint(deps, request.operation, request.body),
    at: ctx.now,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
  }, ctx);
  if (started.events.length === 0) {
    if (started.state.status !== "completed") throw new DomainError("conflict", "A request with this Idempotency-Key is still in progress; retry shortly");
    return { status: started.state.response.status, body: JSON.parse(started.state.response.body), replayed: true };
  }

  let response: IdempotentResponse;
  try {
    response = await run();
  } catch (err) {
    const reason = err instanceof DomainError ? err.kind : "error";
    await handleCommand(deps.store, streamId, idempotency, { type: "AbandonRequest", attemptId, reason }, ctx).catch((e) => {
      // The lease frees the key in the end.
      deps.logger.error("could not release an Idempotency-Key", { stream: streamId, error: String(e) });
    });
    throw err;
  }

  const kept = JSON.stringify(redactSecrets(response.body)) ?? "null";
  await handleCommand(deps.store, streamId, idempotency, { type: "CompleteRequest", attemptId, status: response.status, body: kept, at: new Date() }, ctx).catch((e) => {
    // The work is done and its answer is on its way; only its replay is lost.
    deps.logger.error("could not record an idempotent response", { stream: streamId, error: String(e) });
  });
  return { ...response, replayed: false };
}
