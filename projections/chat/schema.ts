import { bigint, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Live chat sessions; a deleted one is removed together with its messages. */
export const chatSessions = pgTable(
  "chat_sessions",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    title: text("title").notNull(),
    dataSourceId: uuid("data_source_id"),
    messageCount: integer("message_count").notNull(),
    lastMessageAt: timestamp("last_message_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("chat_sessions_user_idx").on(t.userId, t.updatedAt)],
);

/**
 * The transcript. `preview_rows` holds at most 5 rows of an answer: the only place a
 * result is kept (see domain/chat-session.ts). Ordered by `last_position` (the event's).
 */
export const chatMessages = pgTable(
  "chat_messages",
  {
    id: uuid("id").primaryKey(),
    sessionId: uuid("session_id").notNull(),
    organizationId: uuid("organization_id").notNull(),
    role: text("role").notNull(),
    content: text("content").notNull(),
    queryId: uuid("query_id"),
    sql: text("sql"),
    columns: jsonb("columns").$type<string[]>().notNull(),
    previewRows: jsonb("preview_rows").$type<Record<string, unknown>[]>().notNull(),
    rowCount: integer("row_count"),
    error: text("error"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("chat_messages_session_idx").on(t.sessionId, t.lastPosition)],
);

export type ChatSessionRow = typeof chatSessions.$inferSelect;
export type ChatMessageRow = typeof chatMessages.$inferSelect;
