/**
 * Chat sessions (the /chat routes): a person's conversation with the analytics assistant
 * about one data source.
 *
 * - A session belongs to its creator: anyone else, in the organization or not, gets 404.
 * - Its data source: the one named at creation; else the creator's only accessible one
 *   at that moment; else none yet, and each message then names one (or the caller's only
 *   one is used, or the assistant says plainly that it needs one).
 * - A message runs the governed query pipeline (handlers/query.ts) with the session's last
 *   HISTORY_MESSAGES messages as context: their text and SQL only, never result rows.
 *   The user's message and the assistant's answer are appended together.
 * - Whatever goes wrong after access was checked (the database is unreachable, the
 *   question cannot be translated, the guard refuses, the statement fails, the model
 *   provider is down) becomes the assistant's answer with `error` set, not an HTTP error:
 *   the transcript records it. Access itself (404/403) and token limits (429) stay HTTP
 *   errors: nothing is recorded for a request that was not allowed.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { DomainError, invalid, notFound } from "../domain/errors";
import { chatSession, PREVIEW_ROWS, type ChatMessage, type ChatSessionState } from "../domain/chat-session";
import { describeProvider } from "../llm/provider";
import { getSession, listMessages, listSessions } from "../../projections/chat/queries";
import type { ChatMessageRow, ChatSessionRow } from "../../projections/chat/schema";
import { isUuid } from "../http/pagination";
import { connectionOf, loadDataSourceFor } from "./data-sources";
import { grantedDataSourceIds } from "./database-access";
import { chosenDataSourceId, runQuery, safeErrorMessage, type QueryAnswer } from "./query";
import type { Acting } from "./tenancy";

/** Earlier messages sent to the model with a new question (3 exchanges). */
export const HISTORY_MESSAGES = 6;
/** Longest SQL quoted back to the model from an earlier turn. */
const HISTORY_SQL_CHARS = 2000;
/** GET /status pings each data source at most this long. */
const STATUS_PING_MS = 2000;

const sessionNotFound = () => notFound("Chat session");

type LiveSession = Extract<ChatSessionState, { status: "active" }>;

/** The caller's live session from its stream (never the lagging read model); 404 otherwise. */
async function loadOwnSession(deps: Deps, acting: Acting, sessionId: string): Promise<{ state: LiveSession; events: Awaited<ReturnType<typeof loadState>>["events"] }> {
  if (!isUuid(sessionId)) throw sessionNotFound();
  const { state, events } = await loadState(deps.store, stream.chatSession(sessionId.toLowerCase()), chatSession);
  if (state.status !== "active" || state.userId !== acting.userId || state.organizationId !== acting.organizationId) throw sessionNotFound();
  return { state, events };
}

// ---------------------------------------------------------------------------- reads

export async function listSessionsFor(deps: Deps, acting: Acting, page: { offset: number; limit: number }) {
  return listSessions(deps.db.drizzle, acting.organizationId, acting.userId, page);
}

export async function findSessionFor(deps: Deps, acting: Acting, sessionId: string): Promise<ChatSessionRow> {
  if (!isUuid(sessionId)) throw sessionNotFound();
  const row = await getSession(deps.db.drizzle, acting.organizationId, acting.userId, sessionId.toLowerCase());
  if (!row) throw sessionNotFound();
  return row;
}

export async function sessionMessagesFor(deps: Deps, acting: Acting, sessionId: string, page: { offset: number; limit: number }): Promise<{ session: ChatSessionRow; rows: ChatMessageRow[]; total: number }> {
  const session = await findSessionFor(deps, acting, sessionId);
  const { rows, total } = await listMessages(deps.db.drizzle, acting.organizationId, session.id, page);
  return { session, rows, total };
}

// --------------------------------------------------------------------------- writes

export async function startSessionFor(deps: Deps, ctx: CommandContext, acting: Acting, input: { title?: string; data_source_id?: string | null }): Promise<ChatSessionRow> {
  let dataSourceId: string | null = null;
  if (input.data_source_id) {
    // Another organization's data source is as unknown as a made-up id; the grant is checked per message.
    dataSourceId = (await loadDataSourceFor(deps, acting, input.data_source_id)).state.id;
  } else {
    const granted = await grantedDataSourceIds(deps, acting, ctx.now);
    if (granted.length === 1) dataSourceId = granted[0];
  }
  const sessionId = Bun.randomUUIDv7();
  const title = input.title?.trim() || "New chat";
  const { position } = await handleCommand(
    deps.store,
    stream.chatSession(sessionId),
    chatSession,
    { type: "StartSession", sessionId, userId: acting.userId, organizationId: acting.organizationId, title, dataSourceId },
    ctx,
  );
  await settle(deps, position);
  return findSessionFor(deps, acting, sessionId);
}

export async function deleteSessionFor(deps: Deps, ctx: CommandContext, acting: Acting, sessionId: string): Promise<void> {
  if (!isUuid(sessionId)) throw sessionNotFound();
  const { position } = await handleCommand(
    deps.store,
    stream.chatSession(sessionId.toLowerCase()),
    chatSession,
    { type: "DeleteSession", userId: acting.userId, organizationId: acting.organizationId, deletedBy: acting.userId },
    ctx,
  );
  await settle(deps, position);
}

/** What the model is reminded of: each earlier message's text, an answer's SQL with it. */
function historyOf(events: Array<{ type: string; data: Record<string, unknown> }>): { role: "user" | "assistant"; content: string }[] {
  const turns = events
    .filter((e) => e.type === "ChatMessagePosted")
    .map((e) => e.data as unknown as ChatMessage)
    .map((m) => {
      if (m.role === "user") return { role: "user" as const, content: m.content };
      const sql = m.sql ? `\nSQL: ${m.sql.length > HISTORY_SQL_CHARS ? `${m.sql.slice(0, HISTORY_SQL_CHARS)}...` : m.sql}` : "";
      return { role: "assistant" as const, content: `${m.content}${sql}` };
    });
  const recent = turns.slice(-HISTORY_MESSAGES);
  // The conversation sent to a model starts with the user.
  while (recent.length > 0 && recent[0].role !== "user") recent.shift();
  return recent;
}

export interface ChatTurnInput {
  /** The message under any of its accepted names: `query` (seed 000), `content`, `message`, `question`. */
  query?: string;
  content?: string;
  message?: string;
  question?: string;
  dataSourceId?: string;
  maxRows?: number;
  timeoutMs?: number;
}

/** The one message text of a turn; checked only once the session is known to be the caller's (404 first). */
function messageText(input: ChatTurnInput): string {
  const given = [input.query, input.content, input.message, input.question].filter((v): v is string => v !== undefined);
  if (given.length === 0) throw invalid("/body/query", "Give the message as query (or content, message, question)");
  if (new Set(given).size > 1) throw invalid("/body/query", "query, content, message and question differ; give one of them");
  const text = given[0].trim();
  if (!text) throw invalid("/body/query", "The message must not be blank");
  return text;
}

export interface ChatTurn {
  session: LiveSession;
  userMessage: ChatMessage;
  assistantMessage: ChatMessage;
  /** The query that answered; null when none could be run (no data source to ask). */
  answer: QueryAnswer | null;
  createdAt: Date;
}

function assistantContent(answer: QueryAnswer): string {
  if (answer.status === "executed") {
    const rows = `${answer.rowCount} row${answer.rowCount === 1 ? "" : "s"}${answer.truncated ? " (truncated)" : ""}`;
    return answer.explanation ? `${answer.explanation} (${rows})` : `The query returned ${rows}.`;
  }
  if (answer.status === "rejected") return answer.reasons.join("; ");
  return answer.problem?.message ?? answer.error ?? "The query failed";
}

/** The error an assistant message carries for a refused or failed query. */
function assistantError(answer: QueryAnswer): string | null {
  if (answer.status === "executed") return null;
  if (answer.status === "rejected") return answer.reasons.join("; ");
  return answer.problem?.message ?? answer.error ?? "The query failed";
}

/** Asks the assistant within the session; records both messages (and the query's own event). */
export async function postTurnFor(deps: Deps, ctx: CommandContext, acting: Acting, sessionId: string, input: ChatTurnInput): Promise<ChatTurn> {
  const { state, events } = await loadOwnSession(deps, acting, sessionId);
  const content = messageText(input);
  const history = historyOf(events);

  let answer: QueryAnswer | null = null;
  let noSourceReason: string | null = null;
  let dataSourceId: string | null = input.dataSourceId?.trim() || state.dataSourceId;
  if (!dataSourceId) {
    try {
      dataSourceId = await chosenDataSourceId(deps, acting, null);
    } catch (err) {
      if (!(err instanceof DomainError && err.kind === "validation")) throw err;
      noSourceReason = `I need to know which data source to ask: ${err.message.replace(/^data_source_id is required: /, "")}. Start a session with data_source_id, or send data_source_id with the message.`;
    }
  }
  if (dataSourceId) {
    answer = await runQuery(deps, ctx, acting, {
      source: "chat",
      question: content,
      dataSourceId,
      chatSessionId: state.id,
      history,
      maxRows: input.maxRows,
      timeoutMs: input.timeoutMs,
    });
  }

  const userMessage: ChatMessage = {
    session_id: state.id,
    message_id: Bun.randomUUIDv7(),
    role: "user",
    content,
    query_id: answer?.queryId ?? null,
    sql: null,
    columns: [],
    preview_rows: [],
    row_count: null,
    error: null,
  };
  const assistantMessage: ChatMessage = answer
    ? {
        session_id: state.id,
        message_id: Bun.randomUUIDv7(),
        role: "assistant",
        content: assistantContent(answer),
        query_id: answer.queryId,
        sql: answer.sql,
        columns: answer.columns.map((c) => c.name),
        preview_rows: answer.status === "executed" ? answer.rows.slice(0, PREVIEW_ROWS) : [],
        row_count: answer.status === "executed" ? answer.rowCount : null,
        error: assistantError(answer),
      }
    : {
        session_id: state.id,
        message_id: Bun.randomUUIDv7(),
        role: "assistant",
        content: noSourceReason!,
        query_id: null,
        sql: null,
        columns: [],
        preview_rows: [],
        row_count: null,
        error: noSourceReason,
      };
  const { position, state: after } = await handleCommand(
    deps.store,
    stream.chatSession(state.id),
    chatSession,
    { type: "PostTurn", userId: acting.userId, organizationId: acting.organizationId, messages: [userMessage, assistantMessage] },
    ctx,
  );
  await settle(deps, position > (answer?.position ?? 0n) ? position : (answer?.position ?? 0n));
  return { session: after as LiveSession, userMessage, assistantMessage, answer, createdAt: ctx.now };
}

// ---------------------------------------------------------------------------- status

export interface ChatStatus {
  provider: "anthropic" | "builtin";
  model: string;
  key_configured: boolean;
  data_sources: Array<{ id: string; name: string; type: string; reachable: boolean; error: string | null }>;
}

/** The translator in use and whether each data source the caller may query answers now. */
export async function chatStatusFor(deps: Deps, acting: Acting): Promise<ChatStatus> {
  const ids = await grantedDataSourceIds(deps, acting);
  const data_sources = await Promise.all(
    ids.map(async (id) => {
      try {
        const { state } = await loadDataSourceFor(deps, acting, id);
        const base = { id: state.id, name: state.settings.name, type: state.settings.type };
        try {
          await connectionOf(deps, state).ping(STATUS_PING_MS);
          return { ...base, reachable: true, error: null };
        } catch (err) {
          return { ...base, reachable: false, error: safeErrorMessage(err) };
        }
      } catch {
        return null; // deleted since the grant was read
      }
    }),
  );
  return { ...describeProvider(deps.config), data_sources: data_sources.filter((d) => d !== null).sort((a, b) => a.name.localeCompare(b.name)) };
}
