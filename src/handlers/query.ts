/**
 * Governed queries (the /query routes, and every chat turn): a question or the caller's
 * own SQL, checked and run against a data source the caller holds a grant on.
 *
 * The pipeline, in order, each step a separate barrier:
 * 1. Access: `resolveDataAccess` (404 for an unknown or another organization's data
 *    source, 403 without a live grant; an expired grant is recorded there).
 * 2. Schema: introspected (cached per data source version) and cut down to the granted
 *    tables before the model sees any of it.
 * 3. Translation (questions only): the configured translator (Anthropic with a key, the
 *    built-in one without), with one retry carrying the guard's reasons (llm/generate.ts).
 *    `beforeModelCall`/`afterModelCall` bracket it: the token-limit seam (issue 7).
 * 4. Guard: libpg-query decides whether the SQL is one SELECT over granted tables.
 * 5. Execution: READ ONLY, rolled back, with timeout, row cap and byte cap (the executor
 *    enforces them whatever the guard said).
 *
 * Every attempt that got past step 1 is recorded as exactly one event on `query-<id>`:
 * QueryExecuted, QueryRejected (guard refusal, or a translator that cannot answer) or
 * QueryFailed (provider, connection or execution failure), with the SQL, tables, counts,
 * durations, model and tokens, and never the result rows. The HTTP answer for a refusal
 * or failure is the `problem` the outcome carries; chat turns show it as the assistant's
 * error instead.
 */
import { settle, type Deps } from "../deps";
import type { Config } from "../config";
import type { CommandContext } from "../eventstore/context";
import { handleCommand } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { DomainError, invalid } from "../domain/errors";
import { NO_MODEL, query, type QueryFailureStage, type QueryOutcomeEvent, type QuerySource, type TokenUsage } from "../domain/query";
import { createTranslator } from "../llm/provider";
import { generateSql } from "../llm/generate";
import { LlmProviderError, asDomainError } from "../llm/errors";
import { loadGuard } from "../sql/guard";
import { QueryExecutionError } from "../sql/pg-errors";
import { CannotTranslateError, type DatabaseSchema, type GuardVerdict, type ResultColumn, type Translator } from "../sql/types";
import { getHistoryEntry, listHistory, type HistoryFilter } from "../../projections/query-history/queries";
import type { QueryHistoryRow } from "../../projections/query-history/schema";
import { isUuid } from "../http/pagination";
import { grantedDataSourceIds, resolveDataAccess, type DataAccess } from "./database-access";
import { restrictSchema } from "./schema";
import type { Acting } from "./tenancy";
import * as limiter from "../limits/limiter";

export const DEFAULT_MAX_ROWS = 1000;
export const MAX_MAX_ROWS = 10_000;
export const DEFAULT_TIMEOUT_MS = 5000;
/** A caller may ask for less time, never for more: a statement holds a pooled connection. */
export const MAX_TIMEOUT_MS = 30_000;
/** Serialized result size returned at most. */
export const MAX_RESULT_BYTES = 5 * 1024 * 1024;

const ZERO_USAGE: TokenUsage = { input_tokens: 0, output_tokens: 0 };

// ------------------------------------------------------------ token-limit seam (issue 7)

/** What `beforeModelCall` hands to `afterModelCall`: the limiter's reservation. */
export type ModelCallPermit = unknown;

/**
 * Called right before the model is asked (questions and chat turns, not direct SQL):
 * issue 7's rate limit and token budgets (src/limits/limiter.ts), throwing DomainError
 * "too_many" (429 with Retry-After) when over, before anything is recorded.
 */
export async function beforeModelCall(deps: Deps, principal: Acting, kind: "query" | "chat"): Promise<ModelCallPermit> {
  return limiter.beforeModelCall(deps, principal, kind);
}

/**
 * Called exactly once after every `beforeModelCall`, success or failure, with the tokens
 * really spent (zero when the model was never reached): the limiter settles its
 * reservation with them.
 */
export async function afterModelCall(deps: Deps, _principal: Acting, usage: TokenUsage, permit: ModelCallPermit): Promise<void> {
  // The answer (or the failure) stands even if settling fails; the reservation then lapses with its period.
  await limiter.afterModelCall(deps, permit as limiter.Reservation, usage).catch((err) => deps.logger.error("token usage not settled", { error: err instanceof Error ? err.message : String(err) }));
}

// ------------------------------------------------------------------------ the pipeline

export interface QueryRequest {
  source: QuerySource;
  /** Questions and chat turns. */
  question?: string;
  /** Direct SQL (source "sql"). */
  sql?: string;
  /** Omitted: the caller's one accessible data source. */
  dataSourceId?: string | null;
  chatSessionId?: string | null;
  /** Earlier chat turns, oldest first: text and SQL only, never rows. */
  history?: { role: "user" | "assistant"; content: string }[];
  maxRows?: number;
  timeoutMs?: number;
}

export interface QueryAnswer {
  queryId: string;
  status: "executed" | "rejected" | "failed";
  dataSourceId: string;
  dataSourceName: string;
  source: QuerySource;
  question: string | null;
  sql: string | null;
  explanation: string | null;
  tables: string[];
  columns: ResultColumn[];
  rows: Record<string, unknown>[];
  rowCount: number;
  truncated: boolean;
  generationMs: number;
  executionMs: number | null;
  provider: string;
  model: string;
  usage: TokenUsage;
  attempts: number;
  reasons: string[];
  error: string | null;
  stage: QueryFailureStage | null;
  /** How an endpoint answers a refusal or failure; null when executed. */
  problem: DomainError | null;
  /** Global position of the outcome event (read-your-writes). */
  position: bigint;
}

const translators = new WeakMap<object, Translator>();

/** One translator per configuration: the Anthropic client keeps its connection pool. */
function translatorFor(config: Config): Translator {
  let t = translators.get(config);
  if (!t) {
    t = createTranslator(config);
    translators.set(config, t);
  }
  return t;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The data source the request names, or the caller's only one; 422 when that is ambiguous. */
export async function chosenDataSourceId(deps: Deps, acting: Acting, requested: string | null | undefined): Promise<string> {
  const named = requested?.trim();
  if (named) return named;
  const ids = await grantedDataSourceIds(deps, acting);
  if (ids.length === 1) return ids[0];
  const why = ids.length === 0 ? "you have access to no data source" : "you have access to several data sources";
  throw invalid("/body/data_source_id", `data_source_id is required: ${why}`);
}

/**
 * A line of an error that is safe to show and to keep in an event: the first line, any
 * URL (a connection string could carry a password) removed, bounded.
 */
export function safeErrorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split("\n")[0].replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "[connection]").trim();
  return (line || "unknown error").slice(0, 300);
}

/** SQLSTATE classes that mean the database could not be reached or would not let us in. */
const CONNECTION_SQLSTATE = /^(08|28|3D|57P0[1-3]|53)/;
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"]);

/** Whether an executor error means "could not reach the database" rather than "the statement failed". */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof QueryExecutionError) return err.isConnectionFailure || CONNECTION_SQLSTATE.test(err.code);
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; errno?: unknown; cause?: unknown };
  const code = typeof e.code === "string" ? e.code : typeof e.errno === "string" ? e.errno : "";
  if (CONNECTION_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && CONNECTION_SQLSTATE.test(code))) return true;
  if (/connect|getaddrinfo|timed? ?out while connecting|ECONNREFUSED|ENOTFOUND|unreachable/i.test(e.message) && !/statement timeout/i.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err && isConnectionError(e.cause);
}

function unreachable(access: DataAccess, message: string): DomainError {
  return new DomainError("unavailable", `Data source "${access.dataSource.name}" could not be reached: ${message}`, { retryAfterSeconds: 5 });
}

/**
 * Runs the pipeline and records its outcome. Throws only before anything is recorded
 * (bad input, 404/403 on the data source, a token limit); every later refusal or failure
 * comes back as an answer with its `problem`.
 */
export async function runQuery(deps: Deps, ctx: CommandContext, acting: Acting, req: QueryRequest): Promise<QueryAnswer> {
  const maxRows = Math.min(Math.max(1, Math.floor(req.maxRows ?? DEFAULT_MAX_ROWS)), MAX_MAX_ROWS);
  const timeoutMs = Math.min(Math.max(1, Math.floor(req.timeoutMs ?? DEFAULT_TIMEOUT_MS)), MAX_TIMEOUT_MS);
  const question = req.source === "sql" ? null : (req.question ?? "").trim();
  if (question !== null && !question) throw invalid("/body/question", "question must not be blank");
  if (req.source === "sql" && !(req.sql ?? "").trim()) throw invalid("/body/sql", "sql must not be blank");

  const dataSourceId = await chosenDataSourceId(deps, acting, req.dataSourceId);
  const access = await resolveDataAccess(deps, acting, dataSourceId, ctx);
  const guard = await loadGuard();
  const check = (sql: string): GuardVerdict => guard.check(sql, { allowedTables: access.allowedTables });

  const queryId = Bun.randomUUIDv7();
  const orgCtx = { ...ctx, organizationId: access.dataSource.organizationId };
  const identity = {
    query_id: queryId,
    user_id: acting.userId,
    organization_id: access.dataSource.organizationId,
    data_source_id: access.dataSource.id,
    chat_session_id: req.chatSessionId ?? null,
    source: req.source,
  };
  const answer: QueryAnswer = {
    queryId,
    status: "failed",
    dataSourceId: access.dataSource.id,
    dataSourceName: access.dataSource.name,
    source: req.source,
    question,
    sql: req.source === "sql" ? req.sql!.trim() : null,
    explanation: null,
    tables: [],
    columns: [],
    rows: [],
    rowCount: 0,
    truncated: false,
    generationMs: 0,
    executionMs: null,
    provider: NO_MODEL,
    model: NO_MODEL,
    usage: { ...ZERO_USAGE },
    attempts: 0,
    reasons: [],
    error: null,
    stage: null,
    problem: null,
    position: 0n,
  };

  const record = async (outcome: QueryOutcomeEvent): Promise<QueryAnswer> => {
    const { position } = await handleCommand(deps.store, stream.query(queryId), query, { type: "RecordOutcome", outcome }, orgCtx);
    answer.position = position;
    return answer;
  };
  const failed = (stage: QueryFailureStage, error: string, problem: DomainError): Promise<QueryAnswer> => {
    Object.assign(answer, { status: "failed", stage, error, problem });
    return record({
      type: "QueryFailed",
      data: {
        ...identity,
        question,
        sql: answer.sql,
        tables: answer.tables,
        stage,
        error,
        generation_ms: answer.generationMs,
        execution_ms: answer.executionMs,
        provider: answer.provider,
        model: answer.model,
        usage: answer.usage,
        attempts: answer.attempts,
      },
    });
  };
  const rejected = (reasons: string[], problem: DomainError): Promise<QueryAnswer> => {
    Object.assign(answer, { status: "rejected", reasons, problem });
    return record({
      type: "QueryRejected",
      data: {
        ...identity,
        question,
        sql: answer.sql,
        tables: answer.tables,
        reasons,
        generation_ms: answer.generationMs,
        provider: answer.provider,
        model: answer.model,
        usage: answer.usage,
        attempts: answer.attempts,
      },
    });
  };

  if (question !== null) {
    const translator = translatorFor(deps.config);
    answer.provider = translator.provider;
    answer.model = translator.model;

    let schema: DatabaseSchema;
    try {
      const full = await deps.schemaCache.get(access.dataSource.id, String(access.dataSource.version), () => access.connection.introspect());
      schema = access.allowedTables === null ? full : restrictSchema(full, access.allowedTables);
    } catch (err) {
      deps.logger.warn("schema introspection failed", { data_source_id: access.dataSource.id, query_id: queryId, error: safeErrorMessage(err) });
      const message = safeErrorMessage(err);
      return failed("connection", message, unreachable(access, message));
    }

    const permit = await beforeModelCall(deps, acting, req.source === "chat" ? "chat" : "query");
    const started = performance.now();
    let spent: TokenUsage = { ...ZERO_USAGE };
    try {
      const generated = await generateSql(translator, { question, schema, history: req.history }, check);
      spent = generated.usage;
      Object.assign(answer, {
        generationMs: round(performance.now() - started),
        usage: generated.usage,
        attempts: generated.attempts,
        model: generated.translation.model || translator.model,
        sql: generated.translation.sql,
        explanation: generated.translation.explanation,
        tables: generated.verdict.tables,
      });
      if (!generated.verdict.valid) {
        const reasons = generated.verdict.errors;
        return rejected(reasons, new DomainError("validation", `The generated SQL was refused: ${reasons.join("; ")}`, { errors: reasons.map((message) => ({ path: "/sql", message })) }));
      }
    } catch (err) {
      answer.generationMs = round(performance.now() - started);
      if (err instanceof CannotTranslateError) {
        spent = err.usage;
        Object.assign(answer, { usage: err.usage, attempts: 1, model: err.model || translator.model });
        return rejected([err.message], new DomainError("validation", err.message, { errors: [{ path: "/body/question", message: err.message }] }));
      }
      if (err instanceof LlmProviderError) {
        spent = err.details.usage ?? spent;
        Object.assign(answer, { usage: spent, attempts: 1, model: err.details.model ?? translator.model });
        deps.logger.warn("language model provider failed", { query_id: queryId, kind: err.kind, status: err.details.status, provider_message: err.details.providerMessage });
        return failed("generation", err.message, asDomainError(err));
      }
      deps.logger.error("translator failed", { query_id: queryId, error: safeErrorMessage(err) });
      await failed("generation", "The SQL translator failed unexpectedly", new DomainError("unavailable", "The SQL translator failed unexpectedly; try again shortly"));
      throw err;
    } finally {
      await afterModelCall(deps, acting, spent, permit);
    }
  } else {
    const verdict = check(answer.sql!);
    answer.tables = verdict.tables;
    if (!verdict.valid) {
      return rejected(verdict.errors, new DomainError("validation", `The SQL was refused: ${verdict.errors.join("; ")}`, { errors: verdict.errors.map((message) => ({ path: "/body/sql", message })) }));
    }
  }

  let result;
  try {
    result = await access.connection.execute(answer.sql!, { timeoutMs, maxRows, maxBytes: MAX_RESULT_BYTES });
  } catch (err) {
    const message = safeErrorMessage(err);
    if (isConnectionError(err)) return failed("connection", message, unreachable(access, message));
    return failed("execution", message, new DomainError("validation", `The query failed: ${message}`, { errors: [{ path: "/sql", message }] }));
  }
  Object.assign(answer, {
    status: "executed",
    columns: result.columns,
    rows: result.rows,
    rowCount: result.rowCount,
    truncated: result.truncated,
    executionMs: round(result.executionMs),
  });
  return record({
    type: "QueryExecuted",
    data: {
      ...identity,
      question,
      sql: answer.sql!,
      tables: answer.tables,
      row_count: result.rowCount,
      truncated: result.truncated,
      generation_ms: answer.generationMs,
      execution_ms: answer.executionMs!,
      provider: answer.provider,
      model: answer.model,
      usage: answer.usage,
      attempts: answer.attempts,
    },
  });
}

/** POST /query and /query/sql: the answer when executed, its problem otherwise (after settling the event). */
export async function executeQueryFor(deps: Deps, ctx: CommandContext, acting: Acting, req: QueryRequest): Promise<QueryAnswer> {
  const answer = await runQuery(deps, ctx, acting, req);
  // The answer is the result itself; the outcome event only feeds history, usage and audit.
  // So it is not waited for here: the caller's next request waits instead (OwnWrites).
  noteOwnWrite(deps, acting, answer.position);
  if (answer.problem) throw answer.problem;
  return answer;
}

// -------------------------------------------------------------------------- validate

/** The guard's verdict; with a data source, against the caller's granted tables (404/403 as for running). */
function noteOwnWrite(deps: Deps, acting: Acting, position: bigint): void {
  if (position > 0n) deps.ownWrites.note(acting.userId, position);
}

export async function validateSqlFor(deps: Deps, ctx: CommandContext, acting: Acting, sql: string, dataSourceId?: string): Promise<GuardVerdict> {
  const guard = await loadGuard();
  if (!dataSourceId?.trim()) return guard.check(sql, { allowedTables: null });
  const access = await resolveDataAccess(deps, acting, dataSourceId.trim(), ctx);
  return guard.check(sql, { allowedTables: access.allowedTables });
}

// --------------------------------------------------------------------------- history

export async function historyFor(
  deps: Deps,
  acting: Acting,
  filter: Omit<HistoryFilter, "organizationId" | "userId">,
  page: { offset: number; limit: number },
): Promise<{ rows: QueryHistoryRow[]; total: number }> {
  if (filter.dataSourceId !== undefined && !isUuid(filter.dataSourceId)) return { rows: [], total: 0 };
  return listHistory(deps.db.drizzle, { ...filter, dataSourceId: filter.dataSourceId?.toLowerCase(), organizationId: acting.organizationId, userId: acting.userId }, page);
}

/** Hides one of the caller's queries from its history; the outcome event stays. Anyone else's: 404. */
export async function hideQueryFor(deps: Deps, ctx: CommandContext, acting: Acting, queryId: string): Promise<void> {
  if (!isUuid(queryId)) throw new DomainError("not_found", "Query not found");
  const id = queryId.toLowerCase();
  const { position } = await handleCommand(
    deps.store,
    stream.query(id),
    query,
    { type: "HideQuery", userId: acting.userId, organizationId: acting.organizationId, hiddenBy: acting.userId },
    ctx,
  );
  await settle(deps, position);
}

export async function historyEntryFor(deps: Deps, acting: Acting, queryId: string): Promise<QueryHistoryRow | null> {
  if (!isUuid(queryId)) return null;
  const row = await getHistoryEntry(deps.db.drizzle, acting.organizationId, queryId.toLowerCase());
  return row && row.userId === acting.userId && !row.hidden ? row : null;
}
