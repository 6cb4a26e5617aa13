/**
 * Failures of the language-model provider, as the rest of the service sees them: a kind
 * to branch on and a message that can be shown to a user as it is. The provider's own
 * wording and status stay on the error for logs, with the API key scrubbed from them.
 */
import { DomainError } from "../domain/errors";

export type LlmProviderErrorKind =
  | "authentication" // 401/403: the configured key is wrong, revoked or lacks permission
  | "rate_limited" // 429: the provider's limit for our key (not the caller's token budget)
  | "overloaded" // 529 (and 503): the provider is busy; worth trying again shortly
  | "server_error" // other 5xx
  | "bad_request" // other 4xx: the request we built was refused (too long, unknown model...)
  | "timeout" // no answer within the configured time
  | "connection" // the provider could not be reached
  | "invalid_output"; // an answer came, but not the structured tool call we asked for

const MESSAGES: Record<LlmProviderErrorKind, string> = {
  authentication: "The language model provider rejected the configured API key",
  rate_limited: "The language model provider is rate limiting this service; try again later",
  overloaded: "The language model provider is temporarily overloaded; try again shortly",
  server_error: "The language model provider failed to answer; try again shortly",
  bad_request: "The language model provider refused the request",
  timeout: "The language model provider did not answer in time",
  connection: "The language model provider could not be reached",
  invalid_output: "The language model did not return a usable SQL answer",
};

export interface LlmUsage {
  input_tokens: number;
  output_tokens: number;
}

export class LlmProviderError extends Error {
  constructor(
    readonly kind: LlmProviderErrorKind,
    readonly details: {
      /** The provider's HTTP status, when it answered at all. */
      status?: number;
      /** Seconds the provider asked us to wait (Retry-After), when it said so. */
      retryAfterSeconds?: number;
      /** The provider's own message or our parse problem: for logs, not for users. */
      providerMessage?: string;
      /** Tokens spent anyway (an answer that arrived but was unusable still costs). */
      usage?: LlmUsage;
      model?: string;
    } = {},
  ) {
    super(MESSAGES[kind]);
    this.name = "LlmProviderError";
  }
}

/**
 * How an endpoint answers a provider failure: none of them is the caller's fault, so all
 * are 503 (our upstream is unavailable), with Retry-After when the provider gave one or
 * when waiting is the obvious remedy.
 */
export function asDomainError(err: LlmProviderError): DomainError {
  const retryAfterSeconds =
    err.details.retryAfterSeconds ?? (err.kind === "overloaded" || err.kind === "rate_limited" ? 5 : undefined);
  return new DomainError("unavailable", err.message, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
}

/** Removes every occurrence of `secret` from `text` (provider messages could in theory echo it). */
export function scrub(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join("[redacted]");
}

/** Retry-After as whole seconds: delta-seconds or an HTTP date; undefined when absent or unusable. */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const raw = headers?.get("retry-after")?.trim();
  if (raw) {
    if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number(raw));
    const at = Date.parse(raw);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - now) / 1000));
  }
  // Anthropic also sends a millisecond variant; used only when the standard one is missing.
  const ms = headers?.get("retry-after-ms")?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms) / 1000);
  return undefined;
}
