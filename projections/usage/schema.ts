import { bigint, date, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * The usage ledger: one row per QueryExecuted / QueryRejected / QueryFailed event, keyed
 * by the event id (a replayed event is not counted twice). Narrow on purpose: analytics
 * takes percentiles of the latencies over these rows.
 */
export const usageQueries = pgTable(
  "usage_queries",
  {
    eventId: uuid("event_id").primaryKey(),
    position: bigint("position", { mode: "bigint" }).notNull(),
    queryId: text("query_id").notNull(),
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    dataSourceId: text("data_source_id"),
    chatSessionId: text("chat_session_id"),
    /** question | sql | chat */
    source: text("source").notNull(),
    /** executed | rejected | failed */
    outcome: text("outcome").notNull(),
    /** For a failure: generation | execution | connection. */
    stage: text("stage"),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull(),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull(),
    generationMs: doublePrecision("generation_ms"),
    executionMs: doublePrecision("execution_ms"),
    rowCount: integer("row_count"),
    tables: text("tables").array().notNull(),
    attempts: integer("attempts").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [
    index("usage_queries_org_time_idx").on(t.organizationId, t.occurredAt),
    index("usage_queries_user_time_idx").on(t.userId, t.occurredAt),
    index("usage_queries_time_idx").on(t.occurredAt),
  ],
);

/** The ledger rolled up per organization, user, UTC day, source, provider and model. */
export const usageDaily = pgTable(
  "usage_daily",
  {
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    source: text("source").notNull(),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    requests: bigint("requests", { mode: "number" }).notNull(),
    succeeded: bigint("succeeded", { mode: "number" }).notNull(),
    rejected: bigint("rejected", { mode: "number" }).notNull(),
    failed: bigint("failed", { mode: "number" }).notNull(),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull(),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull(),
    generationMsSum: doublePrecision("generation_ms_sum").notNull(),
    generationCount: bigint("generation_count", { mode: "number" }).notNull(),
    executionMsSum: doublePrecision("execution_ms_sum").notNull(),
    executionCount: bigint("execution_count", { mode: "number" }).notNull(),
  },
  (t) => [
    primaryKey({ name: "usage_daily_pkey", columns: [t.organizationId, t.userId, t.day, t.source, t.provider, t.model] }),
    index("usage_daily_user_day_idx").on(t.userId, t.day),
    index("usage_daily_org_day_idx").on(t.organizationId, t.day),
  ],
);

/**
 * Not read models: the limiter's shared state (src/limits/limiter.ts), kept in the
 * database so that limits hold across API processes. Never rebuilt from events.
 *
 * One row per budget and period: a user's day (`user_id` the user) or an organization's
 * month (`user_id` equal to the organization id).
 */
export const tokenBudgetUsage = pgTable(
  "token_budget_usage",
  {
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    /** day | month */
    period: text("period").notNull(),
    periodStart: date("period_start", { mode: "string" }).notNull(),
    reserved: bigint("reserved", { mode: "number" }).notNull().default(0),
    spent: bigint("spent", { mode: "number" }).notNull().default(0),
    requests: bigint("requests", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ name: "token_budget_usage_pkey", columns: [t.organizationId, t.userId, t.period, t.periodStart] })],
);

/** Requests per user, kind (query/chat) and fixed window. */
export const rateLimitCounters = pgTable(
  "rate_limit_counters",
  {
    userId: uuid("user_id").notNull(),
    kind: text("kind").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true, mode: "date" }).notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ name: "rate_limit_counters_pkey", columns: [t.userId, t.kind, t.windowStart] }), index("rate_limit_counters_window_idx").on(t.windowStart)],
);

export type UsageQueryRow = typeof usageQueries.$inferSelect;
