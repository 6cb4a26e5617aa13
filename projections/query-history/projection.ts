/**
 * query_history: one row per query, from its outcome event; QueryHidden flags it.
 */
import type { RecordedEvent } from "../../src/eventstore/port";
import type { QueryEvent } from "../../src/domain/query";
import { entityProjection } from "../runner/entity-projection";
import { queryHistory, type QueryHistoryRow } from "./schema";

export const queryHistoryProjection = entityProjection<QueryHistoryRow>({
  name: "query_history",
  version: 1,
  table: queryHistory,
  idColumn: queryHistory.queryId,
  idField: "queryId",
  handles: ["QueryExecuted", "QueryRejected", "QueryFailed", "QueryHidden"],
  creates: ["QueryExecuted", "QueryRejected", "QueryFailed"],
  idOf: (e) => (e.data as { query_id?: string }).query_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as QueryEvent;
    const at = new Date(recorded.metadata.occurred_at);
    if (event.type === "QueryHidden") return current ? { ...current, hidden: true, hiddenAt: at } : null;
    const d = event.data;
    const base = {
      queryId: d.query_id,
      organizationId: d.organization_id,
      userId: d.user_id,
      dataSourceId: d.data_source_id,
      chatSessionId: d.chat_session_id,
      source: d.source,
      question: d.question,
      tables: d.tables,
      generationMs: d.generation_ms,
      provider: d.provider,
      model: d.model,
      inputTokens: d.usage.input_tokens,
      outputTokens: d.usage.output_tokens,
      attempts: d.attempts,
      createdAt: at,
      hidden: current?.hidden ?? false,
      hiddenAt: current?.hiddenAt ?? null,
      lastPosition: recorded.position,
    };
    switch (event.type) {
      case "QueryExecuted":
        return { ...base, sql: event.data.sql, status: "executed", rowCount: event.data.row_count, truncated: event.data.truncated, error: null, reasons: null, stage: null, executionMs: event.data.execution_ms };
      case "QueryRejected":
        return { ...base, sql: event.data.sql, status: "rejected", rowCount: null, truncated: null, error: null, reasons: event.data.reasons, stage: null, executionMs: null };
      case "QueryFailed":
        return { ...base, sql: event.data.sql, status: "failed", rowCount: null, truncated: null, error: event.data.error, reasons: null, stage: event.data.stage, executionMs: event.data.execution_ms };
      default:
        return current;
    }
  },
});
