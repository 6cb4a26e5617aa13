/**
 * Translator backed by the Anthropic Messages API.
 *
 * What leaves the process is exactly: the model name, a fixed instruction, the granted
 * schema (rendered by schema-prompt.ts from the DatabaseSchema the caller passes, which
 * must already be cut down to the caller's grants), the conversation turns the caller
 * passes (question and history; the chat layer must not put result rows in them), and on
 * the retry the refused SQL with the guard's reasons. Never a password, key, token,
 * connection detail or result row; the API key travels only in the SDK's auth header.
 *
 * The answer is asked for as a forced tool call: `submit_sql {sql, explanation}` or
 * `cannot_answer {reason}`, so that SQL never has to be dug out of prose.
 */
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  PermissionDeniedError,
  RateLimitError,
} from "@anthropic-ai/sdk";
import type { Middleware } from "@anthropic-ai/sdk";
import type { MessageParam, Message, Tool } from "@anthropic-ai/sdk/resources/messages/messages";
import { CannotTranslateError, type Translation, type TranslationRequest, type Translator } from "../sql/types";
import { LlmProviderError, parseRetryAfter, scrub, type LlmUsage } from "./errors";
import { renderSchema } from "./schema-prompt";

export interface AnthropicTranslatorOptions {
  apiKey: string;
  model: string;
  /** Another Messages API endpoint (tests: a local stub). Unset = the SDK's default host. */
  baseURL?: string;
  /** Per HTTP attempt, ms. Default 30 s. */
  timeoutMs?: number;
  /** SDK retries after the first attempt (connection errors, 408/409/429/5xx). Default 1. */
  maxRetries?: number;
  maxTokens?: number;
  /**
   * Longest Retry-After the SDK may sleep through before its retry. A provider asking
   * for more makes us fail at once (rate_limited with the delay) rather than hold the
   * caller's request open. Default 2 s.
   */
  maxRetryWaitSeconds?: number;
}

export const SUBMIT_SQL = "submit_sql";
export const CANNOT_ANSWER = "cannot_answer";

const TOOLS: Tool[] = [
  {
    name: SUBMIT_SQL,
    description: "Submit the single PostgreSQL SELECT statement that answers the user's question.",
    input_schema: {
      type: "object",
      properties: {
        sql: { type: "string", description: "One read-only PostgreSQL SELECT statement, without a trailing semicolon." },
        explanation: { type: "string", description: "One or two plain sentences saying what the query returns." },
      },
      required: ["sql", "explanation"],
    },
  },
  {
    name: CANNOT_ANSWER,
    description:
      "Use instead of submit_sql when the question cannot be answered with a SELECT over the given tables " +
      "(the data is not there, the question is not about the data, or it asks to change data).",
    input_schema: {
      type: "object",
      properties: {
        reason: { type: "string", description: "Why, in plain words, with an example of a question that would work." },
      },
      required: ["reason"],
    },
  },
];

const INSTRUCTIONS = [
  "You translate questions about a PostgreSQL database into one SQL query.",
  "Rules:",
  "- Write exactly one SELECT statement (WITH ... SELECT is fine) in PostgreSQL syntax. Never modify data.",
  "- Use only the tables and columns listed below; they are everything you may read.",
  "- Qualify ambiguous columns, use explicit JOIN ... ON, and add ORDER BY where order matters.",
  "- Add LIMIT 100 unless the question asks for a specific number of rows or for aggregates only.",
  "- Answer by calling submit_sql, or cannot_answer when the tables cannot answer the question.",
  "- Earlier turns of the conversation are context for follow-up questions.",
].join("\n");

/** One user turn with the question, and on the retry the refused SQL and why it was refused. */
function questionTurn(request: TranslationRequest): string {
  if (!request.previousAttempt) return request.question;
  const reasons = request.previousAttempt.errors.length ? request.previousAttempt.errors : ["(no reason given)"];
  return [
    request.question,
    "",
    "Your previous answer to this question was refused by the SQL checker:",
    "```sql",
    request.previousAttempt.sql,
    "```",
    "Reasons:",
    ...reasons.map((r) => `- ${r}`),
    "",
    "Submit a corrected query that avoids these problems, or call cannot_answer if no allowed query can answer it.",
  ].join("\n");
}

/**
 * The Messages API wants turns that alternate and start with the user: empty turns are
 * dropped, neighbours of the same role merged, a leading assistant turn discarded, and the
 * question is always the last user turn.
 */
export function conversation(request: TranslationRequest): MessageParam[] {
  const turns: { role: "user" | "assistant"; content: string }[] = [];
  const push = (role: "user" | "assistant", content: string) => {
    const text = content.trim();
    if (!text) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content += `\n\n${text}`;
    else if (turns.length > 0 || role === "user") turns.push({ role, content: text });
  };
  for (const turn of request.history ?? []) push(turn.role, turn.content);
  push("user", questionTurn(request));
  return turns.map((t) => ({ role: t.role, content: t.content }));
}

/** A Retry-After longer than the caller should wait makes the SDK give up instead of sleeping. */
function boundedRetryWait(maxSeconds: number): Middleware {
  return async (request, next) => {
    const response = await next(request);
    if (response.status !== 429 && response.status !== 529 && response.status !== 503) return response;
    const wait = parseRetryAfter(response.headers);
    if (wait === undefined || wait <= maxSeconds) return response;
    const headers = new Headers(response.headers);
    headers.set("x-should-retry", "false");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

function usageOf(message: Pick<Message, "usage"> | undefined): LlmUsage {
  const u = message?.usage;
  return {
    input_tokens: Number.isFinite(u?.input_tokens) ? Number(u!.input_tokens) : 0,
    output_tokens: Number.isFinite(u?.output_tokens) ? Number(u!.output_tokens) : 0,
  };
}

const nonEmptyString = (v: unknown): v is string => typeof v === "string" && v.trim().length > 0;

export class AnthropicTranslator implements Translator {
  readonly provider = "anthropic";
  readonly model: string;
  private readonly client: Anthropic;
  private readonly apiKey: string;
  private readonly maxTokens: number;

  constructor(options: AnthropicTranslatorOptions) {
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.maxTokens = options.maxTokens ?? 2048;
    this.client = new Anthropic({
      apiKey: options.apiKey,
      // null, not undefined: the SDK would otherwise read ANTHROPIC_BASE_URL itself, and
      // Config is the one place the environment is read.
      baseURL: options.baseURL ?? null,
      timeout: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 1,
      middleware: [boundedRetryWait(options.maxRetryWaitSeconds ?? 2)],
      // Prompts hold schemas and questions: no spans or SDK debug logs carry them elsewhere.
      openTelemetry: false,
      logLevel: "off",
    });
  }

  async translate(request: TranslationRequest): Promise<Translation> {
    let message: Message;
    try {
      message = await this.client.messages.create({
        model: this.model,
        max_tokens: this.maxTokens,
        system: `${INSTRUCTIONS}\n\nDatabase schema:\n\n${renderSchema(request.schema)}`,
        messages: conversation(request),
        tools: TOOLS,
        tool_choice: { type: "any", disable_parallel_tool_use: true },
      });
    } catch (err) {
      throw this.providerError(err);
    }
    return this.interpret(message);
  }

  private interpret(message: Message): Translation {
    const usage = usageOf(message);
    const model = typeof message?.model === "string" && message.model ? message.model : this.model;
    const invalid = (problem: string) => new LlmProviderError("invalid_output", { providerMessage: problem, usage, model });

    if (message?.stop_reason === "refusal") {
      throw new CannotTranslateError("The model declined to answer this question.", usage, model);
    }
    const content: unknown[] = Array.isArray(message?.content) ? message.content : [];
    const call = content.find((b): b is { type: "tool_use"; name: string; input: unknown } => (b as { type?: unknown })?.type === "tool_use");
    if (!call) {
      const why = message?.stop_reason === "max_tokens" ? "the answer was cut off at max_tokens" : "no tool call in the answer";
      throw invalid(why);
    }
    const input = (call.input ?? {}) as Record<string, unknown>;
    if (call.name === CANNOT_ANSWER) {
      const reason = nonEmptyString(input.reason) ? input.reason.trim() : "The question cannot be answered from the available tables.";
      throw new CannotTranslateError(reason, usage, model);
    }
    if (call.name !== SUBMIT_SQL) throw invalid(`unknown tool ${JSON.stringify(String(call.name).slice(0, 40))}`);
    if (!nonEmptyString(input.sql)) throw invalid("submit_sql without a non-empty sql string");
    if (input.explanation !== undefined && typeof input.explanation !== "string") throw invalid("submit_sql with a non-string explanation");
    return {
      sql: input.sql.trim(),
      explanation: typeof input.explanation === "string" ? input.explanation.trim() : "",
      model,
      usage,
    };
  }

  private providerError(err: unknown): LlmProviderError {
    const providerMessage = (e: APIError) => scrub(e.apiMessage ?? e.message ?? "", this.apiKey).slice(0, 500);
    // Order matters: the timeout error is a kind of connection error.
    if (err instanceof APIConnectionTimeoutError) return new LlmProviderError("timeout", { model: this.model });
    if (err instanceof APIConnectionError) return new LlmProviderError("connection", { model: this.model });
    if (err instanceof AuthenticationError || err instanceof PermissionDeniedError) {
      return new LlmProviderError("authentication", { status: err.status, providerMessage: providerMessage(err), model: this.model });
    }
    if (err instanceof RateLimitError) {
      return new LlmProviderError("rate_limited", {
        status: 429,
        retryAfterSeconds: parseRetryAfter(err.headers),
        providerMessage: providerMessage(err),
        model: this.model,
      });
    }
    if (err instanceof APIError && typeof err.status === "number") {
      const status = err.status;
      const details = { status, providerMessage: providerMessage(err), model: this.model };
      if (status === 529 || status === 503 || err.type === "overloaded_error") {
        return new LlmProviderError("overloaded", { ...details, retryAfterSeconds: parseRetryAfter(err.headers) });
      }
      if (status >= 500) return new LlmProviderError("server_error", details);
      return new LlmProviderError("bad_request", details);
    }
    // Anything else (a bug, an SDK-side validation error): no provider wording reaches users.
    const text = err instanceof Error ? err.message : String(err);
    return new LlmProviderError("bad_request", { providerMessage: scrub(text, this.apiKey).slice(0, 500), model: this.model });
  }
}
