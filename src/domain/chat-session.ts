/**
 * A chat session: one person's conversation with the analytics assistant about one data
 * source, stream `chat_session-<session id>`.
 *
 * - Only its owner sees or uses it: anyone else (same organization or not) gets 404.
 * - A turn is posted as two messages in one append (the user's and the assistant's), so
 *   the transcript always alternates and a half-recorded turn cannot exist.
 * - ChatMessagePosted is the ONLY event that keeps result data: `preview_rows`, at most
 *   PREVIEW_ROWS rows of the answer, so that the transcript can be shown again. The full
 *   result is never stored; the Query* events keep none at all.
 * - Deleting ends the session: no more messages, and it disappears from reads.
 */
import { DomainError, invalid, notFound } from "./errors";

/** Rows of an answer kept in the transcript. */
export const PREVIEW_ROWS = 5;

export type ChatRole = "user" | "assistant";

export interface ChatMessage {
  session_id: string;
  message_id: string;
  role: ChatRole;
  content: string;
  query_id: string | null;
  sql: string | null;
  columns: string[];
  preview_rows: Record<string, unknown>[];
  row_count: number | null;
  error: string | null;
}

export type ChatSessionEvent =
  | { type: "ChatSessionStarted"; data: { session_id: string; user_id: string; organization_id: string; title: string; data_source_id: string | null } }
  | { type: "ChatMessagePosted"; data: ChatMessage }
  | { type: "ChatSessionDeleted"; data: { session_id: string; deleted_by: string } };

export type ChatSessionCommand =
  | { type: "StartSession"; sessionId: string; userId: string; organizationId: string; title: string; dataSourceId: string | null }
  /** A user's message and the assistant's answer. `userId`: the caller, who must own the session. */
  | { type: "PostTurn"; userId: string; organizationId: string; messages: [ChatMessage, ChatMessage] }
  | { type: "DeleteSession"; userId: string; organizationId: string; deletedBy: string };

interface SessionRecord {
  id: string;
  userId: string;
  organizationId: string;
  title: string;
  dataSourceId: string | null;
  messageCount: number;
}

export type ChatSessionState = { status: "absent" } | ({ status: "active" } & SessionRecord) | ({ status: "deleted" } & SessionRecord);

const sessionNotFound = () => notFound("Chat session");

function ownedActive(state: ChatSessionState, userId: string, organizationId: string): asserts state is Extract<ChatSessionState, { status: "active" }> {
  if (state.status !== "active" || state.userId !== userId || state.organizationId !== organizationId) throw sessionNotFound();
}

export const chatSession = {
  initialState: (): ChatSessionState => ({ status: "absent" }),

  evolve(state: ChatSessionState, event: ChatSessionEvent): ChatSessionState {
    switch (event.type) {
      case "ChatSessionStarted": {
        const d = event.data;
        return { status: "active", id: d.session_id, userId: d.user_id, organizationId: d.organization_id, title: d.title, dataSourceId: d.data_source_id, messageCount: 0 };
      }
      case "ChatMessagePosted":
        return state.status === "absent" ? state : { ...state, messageCount: state.messageCount + 1 };
      case "ChatSessionDeleted":
        return state.status === "absent" ? state : { ...state, status: "deleted" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: ChatSessionCommand, state: ChatSessionState): ChatSessionEvent[] {
    switch (command.type) {
      case "StartSession":
        if (state.status !== "absent") throw new DomainError("conflict", "Chat session already exists");
        if (!command.title.trim()) throw invalid("/body/title", "title must not be blank");
        return [
          {
            type: "ChatSessionStarted",
            data: {
              session_id: command.sessionId,
              user_id: command.userId,
              organization_id: command.organizationId,
              title: command.title.trim(),
              data_source_id: command.dataSourceId,
            },
          },
        ];
      case "PostTurn": {
        ownedActive(state, command.userId, command.organizationId);
        const [question, answer] = command.messages;
        if (question.role !== "user" || answer.role !== "assistant") throw new DomainError("bad_request", "A turn is a user message followed by the assistant's answer");
        for (const m of command.messages) {
          if (m.session_id !== state.id) throw new DomainError("bad_request", "A message belongs to another chat session");
          if (m.preview_rows.length > PREVIEW_ROWS) throw new DomainError("bad_request", `A message keeps at most ${PREVIEW_ROWS} preview rows`);
        }
        return command.messages.map((data) => ({ type: "ChatMessagePosted" as const, data }));
      }
      case "DeleteSession":
        ownedActive(state, command.userId, command.organizationId);
        return [{ type: "ChatSessionDeleted", data: { session_id: state.id, deleted_by: command.deletedBy } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
