/**
 * A local stand-in for the Anthropic Messages API (POST /v1/messages) on 127.0.0.1 and a
 * free port: it records every request (headers, raw body, parsed body) and answers with
 * scripted replies in the real response shapes. Point the SDK's baseURL (or
 * ANTHROPIC_BASE_URL of a test service) at `stub.url`. No real network is involved.
 *
 *   const stub = await startAnthropicStub();
 *   stub.enqueue(sqlReply("SELECT 1", "one"), errorReply(429, { retryAfter: 30 }));
 *   ... stub.requests[0].body.messages ...
 *   await stub.stop();
 *
 * Replies are consumed in order; when none is queued the `responder` (default: a 500
 * saying so) answers, so a test that makes an unexpected call fails loudly. Like the real
 * API, a request without model/max_tokens/messages, or with turns that do not alternate
 * starting from the user, gets a 400 invalid_request_error.
 */
import type { Server } from "bun";

export interface StubReply {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The body exactly as received: scan it for things that must not be sent. */
  raw: string;
  body: any;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

let ids = 0;
const nextId = (prefix: string) => `${prefix}_stub${(++ids).toString().padStart(6, "0")}`;

/** A 200 whose content is one tool_use block, as the real API answers a forced tool call. */
export function toolUseReply(
  name: string,
  input: unknown,
  opts: { usage?: Usage; model?: string; text?: string; stopReason?: string } = {},
): StubReply {
  const content: unknown[] = [];
  if (opts.text) content.push({ type: "text", text: opts.text });
  content.push({ type: "tool_use", id: nextId("toolu"), name, input });
  return messageReply(content, { usage: opts.usage, model: opts.model, stopReason: opts.stopReason ?? "tool_use" });
}

/** A 200 in the Messages API response shape with the given content blocks. */
export function messageReply(content: unknown[], opts: { usage?: Usage; model?: string; stopReason?: string } = {}): StubReply {
  const usage = opts.usage ?? { input_tokens: 100, output_tokens: 20 };
  return {
    body: {
      id: nextId("msg"),
      type: "message",
      role: "assistant",
      model: opts.model ?? "claude-stub-1",
      content,
      stop_reason: opts.stopReason ?? "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        service_tier: "standard",
      },
    },
  };
}

export const sqlReply = (sql: string, explanation = "Stub explanation.", opts: { usage?: Usage; model?: string } = {}) =>
  toolUseReply("submit_sql", { sql, explanation }, opts);

export const cannotAnswerReply = (reason: string, opts: { usage?: Usage; model?: string } = {}) =>
  toolUseReply("cannot_answer", { reason }, opts);

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** An error in the API's shape: {type:"error", error:{type, message}, request_id}. */
export function errorReply(status: number, opts: { message?: string; retryAfter?: number | string; headers?: Record<string, string> } = {}): StubReply {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.retryAfter !== undefined) headers["retry-after"] = String(opts.retryAfter);
  return {
    status,
    headers,
    body: {
      type: "error",
      error: { type: ERROR_TYPES[status] ?? "api_error", message: opts.message ?? `stub error ${status}` },
      request_id: nextId("req"),
    },
  };
}

/** Problems the real API would answer with a 400; null when the request is well-formed. */
function malformed(body: any): string | null {
  if (!body || typeof body !== "object") return "body: expected a JSON object";
  if (typeof body.model !== "string" || !body.model) return "model: Field required";
  if (typeof body.max_tokens !== "number") return "max_tokens: Field required";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: at least one message is required";
  for (let i = 0; i < body.messages.length; i++) {
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (body.messages[i]?.role !== expected) return `messages.${i}.role: roles must alternate between "user" and "assistant", starting with "user"`;
  }
  if (body.messages[body.messages.length - 1].role !== "user") return "messages: the last message must be from the user";
  return null;
}

export class AnthropicStub {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: StubReply[] = [];
  /** Answers when nothing is queued; replace it to answer by request content. */
  responder: (request: RecordedRequest) => StubReply | Promise<StubReply> = () =>
    errorReply(500, { message: "anthropic stub: no scripted reply left for this request" });

  constructor(private readonly server: Server<unknown>) {}

  /** Base URL for the SDK (`baseURL`) or ANTHROPIC_BASE_URL: no trailing /v1. */
  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  enqueue(...replies: StubReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Requests to POST /v1/messages only. */
  get messageRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === "POST" && r.path === "/v1/messages");
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const raw = await request.text();
    let body: any = undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const recorded: RecordedRequest = { method: request.method, path: url.pathname, headers, raw, body };
    this.requests.push(recorded);

    if (request.method !== "POST" || url.pathname !== "/v1/messages") {
      return reply(errorReply(404, { message: `anthropic stub: no route ${request.method} ${url.pathname}` }));
    }
    const problem = malformed(body);
    if (problem) return reply(errorReply(400, { message: problem }));
    const scripted = this.queue.shift() ?? (await this.responder(recorded));
    if (scripted.delayMs) await Bun.sleep(scripted.delayMs);
    return reply(scripted);
  }

  async stop(): Promise<void> {
    await this.server.stop(true);
  }
}

function reply(r: StubReply): Response {
  const headers = new Headers({ "content-type": "application/json", "request-id": nextId("req") });
  for (const [name, value] of Object.entries(r.headers ?? {})) headers.set(name, value);
  const payload = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  return new Response(payload, { status: r.status ?? 200, headers });
}

export async function startAnthropicStub(): Promise<AnthropicStub> {
  let stub: AnthropicStub | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // A delayed reply must outlive a client timeout without Bun closing the socket first.
    idleTimeout: 0,
    fetch: (request) => stub!.handle(request),
  });
  stub = new AnthropicStub(server);
  return stub;
}
