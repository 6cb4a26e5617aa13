/**
 * chat_sessions and chat_messages, in one projection (one checkpoint): a deleted session
 * takes its messages with it in the same transaction, so a reader never finds messages of
 * a session that is gone.
 */
import { sql } from "drizzle-orm";
import type { RecordedEvent } from "../../src/eventstore/port";
import type { ChatSessionEvent } from "../../src/domain/chat-session";
import type { Projection } from "../runner/projection";
import { entityProjection } from "../runner/entity-projection";
import { chatMessages, chatSessions, type ChatMessageRow, type ChatSessionRow } from "./schema";

const HANDLES = ["ChatSessionStarted", "ChatMessagePosted", "ChatSessionDeleted"] as const;

const sessions = entityProjection<ChatSessionRow>({
  name: "chat_sessions",
  version: 1,
  table: chatSessions,
  idColumn: chatSessions.id,
  idField: "id",
  handles: HANDLES,
  idOf: (e) => (e.data as { session_id?: string }).session_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as ChatSessionEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "ChatSessionStarted": {
        const d = event.data;
        return {
          id: d.session_id,
          organizationId: d.organization_id,
          userId: d.user_id,
          title: d.title,
          dataSourceId: d.data_source_id,
          messageCount: 0,
          lastMessageAt: null,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "ChatMessagePosted":
        return current ? { ...current, messageCount: current.messageCount + 1, lastMessageAt: at, updatedAt: at } : null;
      case "ChatSessionDeleted":
        return null;
      default:
        return current;
    }
  },
});

const messages = entityProjection<ChatMessageRow>({
  name: "chat_messages",
  version: 1,
  table: chatMessages,
  idColumn: chatMessages.id,
  idField: "id",
  handles: ["ChatMessagePosted"],
  idOf: (e) => (e.type === "ChatMessagePosted" ? ((e.data as { message_id?: string }).message_id ?? null) : null),
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as ChatSessionEvent;
    if (event.type !== "ChatMessagePosted") return current;
    const d = event.data;
    return {
      id: d.message_id,
      sessionId: d.session_id,
      organizationId: recorded.metadata.organization_id ?? "00000000-0000-0000-0000-000000000000",
      role: d.role,
      content: d.content,
      queryId: d.query_id,
      sql: d.sql,
      columns: d.columns,
      previewRows: d.preview_rows,
      rowCount: d.row_count,
      error: d.error,
      createdAt: new Date(recorded.metadata.occurred_at),
      lastPosition: recorded.position,
    };
  },
});

export const chatProjection: Projection = {
  name: "chat",
  version: 1,
  handles: HANDLES,
  tables: ["chat_sessions", "chat_messages"],
  async apply(tx, events) {
    await sessions.apply(tx, events);
    await messages.apply(tx, events);
    // Nothing is posted to a deleted session (the decider refuses), so deleting after
    // the batch's messages are written leaves none behind.
    const deleted = events.filter((e) => e.type === "ChatSessionDeleted").map((e) => (e.data as { session_id: string }).session_id);
    if (deleted.length > 0) {
      await tx.execute(sql`DELETE FROM chat_messages WHERE session_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(deleted)}::jsonb)::uuid)`);
    }
  },
};
