import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Every query asked or written, one row per query id, folded from its QueryExecuted,
 * QueryRejected or QueryFailed event; QueryHidden sets `hidden` (the row stays, the
 * history no longer lists it). Never a result row: the events do not carry any.
 */
export const queryHistory = pgTable(
  "query_history",
  {
    queryId: uuid("query_id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    dataSourceId: uuid("data_source_id").notNull(),
    chatSessionId: uuid("chat_session_id"),
    source: text("source").notNull(),
    question: text("question"),
    sql: text("sql"),
    tables: jsonb("tables").$type<string[]>().notNull(),
    /** executed, rejected or failed. */
    status: text("status").notNull(),
    rowCount: integer("row_count"),
    truncated: boolean("truncated"),
    /** The failure's safe message (failed). */
    error: text("error"),
    /** The guard's or translator's reasons (rejected). */
    reasons: jsonb("reasons").$type<string[] | null>(),
    /** generation, execution or connection (failed). */
    stage: text("stage"),
    generationMs: doublePrecision("generation_ms").notNull(),
    executionMs: doublePrecision("execution_ms"),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    attempts: integer("attempts").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    hidden: boolean("hidden").notNull(),
    hiddenAt: timestamp("hidden_at", { withTimezone: true, mode: "date" }),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("query_history_user_idx").on(t.userId, t.createdAt), index("query_history_org_idx").on(t.organizationId, t.createdAt)],
);

export type QueryHistoryRow = typeof queryHistory.$inferSelect;
