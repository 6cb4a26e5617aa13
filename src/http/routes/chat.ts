import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { invalid } from "../../domain/errors";
import type { ChatMessage } from "../../domain/chat-session";
import type { ChatMessageRow, ChatSessionRow } from "../../../projections/chat/schema";
import { MAX_MAX_ROWS } from "../../handlers/query";
import { chatStatusFor, deleteSessionFor, findSessionFor, listSessionsFor, postTurnFor, sessionMessagesFor, startSessionFor, type ChatTurnInput } from "../../handlers/chat";
import { listMessages } from "../../../projections/chat/queries";
import { queryAnswerJson } from "./query";

const id = t.String({ minLength: 1, maxLength: 100 });
const messageText = t.String({ minLength: 1, maxLength: 4000 });

/** The transcript shown with GET /sessions/{id}: its newest messages at most. */
const SESSION_DETAIL_MESSAGES = 200;

function sessionJson(s: ChatSessionRow) {
  return {
    id: s.id,
    session_id: s.id,
    title: s.title,
    data_source_id: s.dataSourceId,
    user_id: s.userId,
    organization_id: s.organizationId,
    message_count: s.messageCount,
    last_message_at: s.lastMessageAt?.toISOString() ?? null,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

function messageRowJson(m: ChatMessageRow) {
  return {
    id: m.id,
    session_id: m.sessionId,
    role: m.role,
    content: m.content,
    query_id: m.queryId,
    sql: m.sql,
    columns: m.columns,
    preview_rows: m.previewRows,
    row_count: m.rowCount,
    error: m.error,
    created_at: m.createdAt.toISOString(),
  };
}

function messageJson(m: ChatMessage, at: Date) {
  return {
    id: m.message_id,
    session_id: m.session_id,
    role: m.role,
    content: m.content,
    query_id: m.query_id,
    sql: m.sql,
    columns: m.columns,
    preview_rows: m.preview_rows,
    row_count: m.row_count,
    error: m.error,
    created_at: at.toISOString(),
  };
}

/** A message body: `{query}` (seed 000), or `{content}` / `{message}`; one of them. */
const turnBody = t.Object(
  {
    query: t.Optional(messageText),
    content: t.Optional(messageText),
    message: t.Optional(messageText),
    question: t.Optional(messageText),
    data_source_id: t.Optional(id),
    max_rows: t.Optional(t.Integer({ minimum: 1, maximum: MAX_MAX_ROWS })),
    timeout_ms: t.Optional(t.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

function turnInput(body: { query?: string; content?: string; message?: string; question?: string; data_source_id?: string; max_rows?: number; timeout_ms?: number }): ChatTurnInput {
  return { query: body.query, content: body.content, message: body.message, question: body.question, dataSourceId: body.data_source_id, maxRows: body.max_rows, timeoutMs: body.timeout_ms };
}

export function chatRoutes(deps: Deps) {
  return new Elysia({ prefix: "/chat", detail: { tags: ["Chat"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .post(
      "/sessions",
      async ({ body, meta, principal, set }) => {
        const row = await startSessionFor(deps, commandContext(meta, principal), principal, body ?? {});
        set.status = 201;
        return { ...sessionJson(row), messages: [] };
      },
      {
        auth: { permission: "chat.use" },
        body: t.Object({ title: t.Optional(t.String({ maxLength: 200 })), data_source_id: t.Optional(t.Union([id, t.Null()])) }, { additionalProperties: false }),
        detail: { summary: "Start a chat session (data_source_id optional: the caller's only accessible data source is used when omitted)" },
      },
    )
    .get(
      "/sessions",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listSessionsFor(deps, principal, page);
        return pageResponse("sessions", rows.map(sessionJson), total, page);
      },
      { auth: { permission: "chat.use" }, query: t.Object(paginationQuery), detail: { summary: "The caller's chat sessions, most recently active first" } },
    )
    .get(
      "/sessions/:id",
      async ({ params, principal }) => {
        const session = await findSessionFor(deps, principal, params.id);
        const skip = Math.max(0, session.messageCount - SESSION_DETAIL_MESSAGES);
        const { rows } = await listMessages(deps.db.drizzle, principal.organizationId, session.id, { offset: skip, limit: SESSION_DETAIL_MESSAGES });
        return { ...sessionJson(session), messages: rows.map(messageRowJson) };
      },
      { auth: { permission: "chat.use" }, detail: { summary: `A chat session with its messages (the newest ${SESSION_DETAIL_MESSAGES} at most)` } },
    )
    .delete(
      "/sessions/:id",
      async ({ params, meta, principal }) => {
        await deleteSessionFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Chat session deleted", session_id: params.id.toLowerCase() };
      },
      { auth: { permission: "chat.use" }, detail: { summary: "Delete a chat session and its transcript (ChatSessionDeleted)" } },
    )
    .post(
      "/sessions/:id/messages",
      async ({ params, body, meta, principal, set }) => {
        const turn = await postTurnFor(deps, commandContext(meta, principal), principal, params.id, turnInput(body));
        set.status = 201;
        return {
          session_id: turn.session.id,
          user_message: messageJson(turn.userMessage, turn.createdAt),
          assistant_message: messageJson(turn.assistantMessage, turn.createdAt),
          message_count: turn.session.messageCount,
        };
      },
      {
        auth: { permission: "chat.use" },
        body: turnBody,
        detail: {
          summary:
            "Ask within the session: the earlier turns go to the model as context (text and SQL, never rows); the user's message and the assistant's answer (SQL, up to 5 preview rows, or an error) are stored and returned",
        },
      },
    )
    .get(
      "/sessions/:id/messages",
      async ({ params, query, principal }) => {
        const page = pageRequest(query, 100);
        const { session, rows, total } = await sessionMessagesFor(deps, principal, params.id, page);
        return { ...pageResponse("messages", rows.map(messageRowJson), total, page), session_id: session.id };
      },
      { auth: { permission: "chat.use" }, query: t.Object(paginationQuery), detail: { summary: "A session's messages, oldest first" } },
    )
    .post(
      "/sessions/:id/query",
      async ({ params, body, meta, principal }) => {
        const turn = await postTurnFor(deps, commandContext(meta, principal), principal, params.id, turnInput(body));
        const answer = turn.answer;
        if (!answer || answer.problem) {
          // Recorded in the transcript; the caller of this endpoint expects the query shape or a problem.
          throw answer?.problem ?? invalid("/body/data_source_id", turn.assistantMessage.error ?? "No data source to ask");
        }
        return {
          ...queryAnswerJson(answer),
          session_id: turn.session.id,
          user_message_id: turn.userMessage.message_id,
          assistant_message_id: turn.assistantMessage.message_id,
        };
      },
      {
        auth: { permission: "chat.use" },
        body: turnBody,
        detail: { summary: "Ask within the session and get the full query answer (as POST /query) plus the ids of the two messages stored" },
      },
    )
    .get("/status", async ({ principal }) => chatStatusFor(deps, principal), {
      auth: { permission: "chat.use" },
      detail: { summary: "The translator in use (provider, model, whether a key is configured) and the reachability of each data source the caller may query" },
    });
}
