import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { invalid, notFound } from "../../domain/errors";
import type { QueryHistoryRow } from "../../../projections/query-history/schema";
import { MAX_SQL_LENGTH } from "../../sql/guard";
import { MAX_MAX_ROWS, executeQueryFor, hideQueryFor, historyEntryFor, historyFor, validateSqlFor, type QueryAnswer } from "../../handlers/query";

const id = t.String({ minLength: 1, maxLength: 100 });
const question = t.String({ minLength: 1, maxLength: 4000 });
const sqlText = t.String({ minLength: 1, maxLength: MAX_SQL_LENGTH });
const limits = {
  max_rows: t.Optional(t.Integer({ minimum: 1, maximum: MAX_MAX_ROWS, description: "Rows returned at most (default 1000)" })),
  timeout_ms: t.Optional(t.Integer({ minimum: 1, description: "Statement timeout in ms (default 5000, capped at 30000)" })),
};

/** The answer of an executed query: the result with how it was obtained. */
export function queryAnswerJson(a: QueryAnswer) {
  return {
    query_id: a.queryId,
    data_source_id: a.dataSourceId,
    source: a.source,
    question: a.question,
    sql: a.sql,
    explanation: a.explanation,
    tables: a.tables,
    columns: a.columns.map((c) => c.name),
    column_types: a.columns,
    rows: a.rows,
    row_count: a.rowCount,
    truncated: a.truncated,
    execution_ms: a.executionMs,
    generation_ms: a.generationMs,
    provider: a.provider,
    model: a.model,
    usage: a.usage,
    attempts: a.attempts,
  };
}

export function historyJson(r: QueryHistoryRow) {
  return {
    query_id: r.queryId,
    data_source_id: r.dataSourceId,
    chat_session_id: r.chatSessionId,
    source: r.source,
    status: r.status,
    question: r.question,
    sql: r.sql,
    tables: r.tables,
    row_count: r.rowCount,
    truncated: r.truncated,
    error: r.error,
    reasons: r.reasons,
    stage: r.stage,
    generation_ms: r.generationMs,
    execution_ms: r.executionMs,
    provider: r.provider,
    model: r.model,
    usage: { input_tokens: r.inputTokens, output_tokens: r.outputTokens },
    attempts: r.attempts,
    created_at: r.createdAt.toISOString(),
  };
}

export function queryRoutes(deps: Deps) {
  return new Elysia({ prefix: "/query", detail: { tags: ["Query"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .post(
      "/",
      async ({ body, meta, principal }) => {
        const text = body.question ?? body.query;
        if (text === undefined) throw invalid("/body/question", "Give question (or query): the question to answer");
        if (body.question !== undefined && body.query !== undefined && body.question !== body.query) {
          throw invalid("/body/query", "question and query differ; give one of them");
        }
        const answer = await executeQueryFor(deps, commandContext(meta, principal), principal, {
          source: "question",
          question: text,
          dataSourceId: body.data_source_id,
          maxRows: body.max_rows,
          timeoutMs: body.timeout_ms,
        });
        return queryAnswerJson(answer);
      },
      {
        auth: { permission: "query.execute" },
        body: t.Object({ question: t.Optional(question), query: t.Optional(question), data_source_id: t.Optional(id), ...limits }, { additionalProperties: false }),
        detail: {
          summary:
            "Answer a question: the model (or the built-in translator) writes SQL over the granted tables only, the guard checks it, it runs read-only with limits. Refused: 422 with reasons; provider down: 503; database unreachable: 503. Every attempt is a QueryExecuted/QueryRejected/QueryFailed event.",
        },
      },
    )
    .post(
      "/sql",
      async ({ body, meta, principal }) =>
        queryAnswerJson(
          await executeQueryFor(deps, commandContext(meta, principal), principal, {
            source: "sql",
            sql: body.sql,
            dataSourceId: body.data_source_id,
            maxRows: body.max_rows,
            timeoutMs: body.timeout_ms,
          }),
        ),
      {
        auth: { permission: "query.sql" },
        body: t.Object({ sql: sqlText, data_source_id: t.Optional(id), ...limits }, { additionalProperties: false }),
        detail: { summary: "Run SQL the caller wrote, through the same guard, grants and read-only executor" },
      },
    )
    .post(
      "/validate",
      async ({ body, meta, principal }) => {
        const verdict = await validateSqlFor(deps, commandContext(meta, principal), principal, body.sql, body.data_source_id);
        return { valid: verdict.valid, statement_type: verdict.statement_type, tables: verdict.tables, errors: verdict.errors };
      },
      {
        auth: { permission: "query.execute" },
        body: t.Object({ sql: sqlText, data_source_id: t.Optional(id) }, { additionalProperties: false }),
        detail: { summary: "Check SQL without running it; with data_source_id, also against the caller's granted tables" },
      },
    )
    .get(
      "/history",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await historyFor(deps, principal, { dataSourceId: query.data_source_id, status: query.status, source: query.source }, page);
        return pageResponse("queries", rows.map(historyJson), total, page);
      },
      {
        auth: { permission: "query.execute" },
        query: t.Object({
          ...paginationQuery,
          data_source_id: t.Optional(id),
          status: t.Optional(t.Union([t.Literal("executed"), t.Literal("rejected"), t.Literal("failed")])),
          source: t.Optional(t.Union([t.Literal("question"), t.Literal("sql"), t.Literal("chat")])),
        }),
        detail: { summary: "The caller's own queries, newest first (hidden ones left out); filters data_source_id, status, source" },
      },
    )
    .get(
      "/history/:query_id",
      async ({ params, principal }) => {
        const row = await historyEntryFor(deps, principal, params.query_id);
        if (!row) throw notFound("Query");
        return historyJson(row);
      },
      { auth: { permission: "query.execute" }, detail: { summary: "One of the caller's queries" } },
    )
    .delete(
      "/history/:query_id",
      async ({ params, meta, principal }) => {
        await hideQueryFor(deps, commandContext(meta, principal), principal, params.query_id);
        return { message: "Query removed from history", query_id: params.query_id.toLowerCase() };
      },
      { auth: { permission: "query.execute" }, detail: { summary: "Hide one of the caller's queries from its history (QueryHidden; the query's event stays)" } },
    );
}
