/**
 * The usage ledger: QueryExecuted, QueryRejected and QueryFailed (every source: question,
 * sql, chat turn) become one `usage_queries` row each, and the rows inserted by a batch
 * are added to their `usage_daily` rollup in the same statement. The rollup is fed only
 * by rows that were actually inserted (ON CONFLICT DO NOTHING ... RETURNING), so an event
 * seen twice is counted once.
 */
import { sql } from "drizzle-orm";
import type { RecordedEvent } from "../../src/eventstore/port";
import type { Projection } from "../runner/projection";

export const QUERY_EVENT_TYPES = ["QueryExecuted", "QueryRejected", "QueryFailed"] as const;

const OUTCOME: Record<string, "executed" | "rejected" | "failed"> = {
  QueryExecuted: "executed",
  QueryRejected: "rejected",
  QueryFailed: "failed",
};

type Data = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const tokens = (v: unknown): number => Math.max(0, Math.round(num(v) ?? 0));

/** The ledger row of one query event; null when it cannot be attributed to a user of an organization. */
export function usageRow(e: RecordedEvent): Record<string, unknown> | null {
  const d = e.data as Data;
  const organizationId = str(d.organization_id) ?? e.metadata.organization_id;
  const userId = str(d.user_id);
  if (!organizationId || !userId) return null;
  const usage = (d.usage ?? {}) as Data;
  const source = str(d.source);
  return {
    event_id: e.id,
    position: e.position.toString(),
    query_id: str(d.query_id) ?? e.streamId.replace(/^query-/, ""),
    organization_id: organizationId,
    user_id: userId,
    data_source_id: str(d.data_source_id),
    chat_session_id: str(d.chat_session_id),
    source: source === "sql" || source === "chat" ? source : "question",
    outcome: OUTCOME[e.type],
    stage: str(d.stage),
    provider: str(d.provider) ?? "unknown",
    model: str(d.model) ?? "unknown",
    input_tokens: tokens(usage.input_tokens),
    output_tokens: tokens(usage.output_tokens),
    // SQL the caller wrote involves no model: its generation time (0) is no latency sample.
    generation_ms: source === "sql" || d.provider === "none" ? null : num(d.generation_ms),
    execution_ms: num(d.execution_ms),
    row_count: num(d.row_count),
    tables: Array.isArray(d.tables) ? d.tables.filter((t): t is string => typeof t === "string") : [],
    attempts: Math.max(0, Math.round(num(d.attempts) ?? 1)),
    occurred_at: e.metadata.occurred_at,
  };
}

const APPLY = `
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
    event_id uuid, position bigint, query_id text, organization_id uuid, user_id uuid, data_source_id text,
    chat_session_id text, source text, outcome text, stage text, provider text, model text, input_tokens bigint,
    output_tokens bigint, generation_ms double precision, execution_ms double precision, row_count integer,
    tables text[], attempts integer, occurred_at timestamptz)
), ins AS (
  INSERT INTO usage_queries (event_id, position, query_id, organization_id, user_id, data_source_id, chat_session_id,
    source, outcome, stage, provider, model, input_tokens, output_tokens, generation_ms, execution_ms, row_count,
    tables, attempts, occurred_at)
  SELECT event_id, position, query_id, organization_id, user_id, data_source_id, chat_session_id, source, outcome,
    stage, provider, model, input_tokens, output_tokens, generation_ms, execution_ms, row_count, tables, attempts, occurred_at
  FROM r
  ON CONFLICT (event_id) DO NOTHING
  RETURNING *
)
INSERT INTO usage_daily AS d (organization_id, user_id, day, source, provider, model, requests, succeeded, rejected, failed,
  input_tokens, output_tokens, generation_ms_sum, generation_count, execution_ms_sum, execution_count)
SELECT organization_id, user_id, (occurred_at AT TIME ZONE 'UTC')::date, source, provider, model,
  count(*), count(*) FILTER (WHERE outcome = 'executed'), count(*) FILTER (WHERE outcome = 'rejected'),
  count(*) FILTER (WHERE outcome = 'failed'), sum(input_tokens), sum(output_tokens),
  coalesce(sum(generation_ms), 0), count(generation_ms), coalesce(sum(execution_ms), 0), count(execution_ms)
FROM ins
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT ON CONSTRAINT usage_daily_pkey DO UPDATE SET
  requests = d.requests + excluded.requests,
  succeeded = d.succeeded + excluded.succeeded,
  rejected = d.rejected + excluded.rejected,
  failed = d.failed + excluded.failed,
  input_tokens = d.input_tokens + excluded.input_tokens,
  output_tokens = d.output_tokens + excluded.output_tokens,
  generation_ms_sum = d.generation_ms_sum + excluded.generation_ms_sum,
  generation_count = d.generation_count + excluded.generation_count,
  execution_ms_sum = d.execution_ms_sum + excluded.execution_ms_sum,
  execution_count = d.execution_count + excluded.execution_count`;

export const usageProjection: Projection = {
  name: "usage",
  version: 1,
  handles: QUERY_EVENT_TYPES,
  tables: ["usage_queries", "usage_daily"],
  async apply(tx, events) {
    const rows = events.map(usageRow).filter((r): r is Record<string, unknown> => r !== null);
    if (rows.length === 0) return;
    await tx.execute(sql`${sql.raw(APPLY.slice(0, APPLY.indexOf("$1")))}${sql.param(JSON.stringify(rows))}${sql.raw(APPLY.slice(APPLY.indexOf("$1") + 2))}`);
  },
};
