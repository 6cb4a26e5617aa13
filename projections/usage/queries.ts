/**
 * What the token, analytics and stats routes read from the usage ledger. Every query is
 * scoped: by organization (tenancy), optionally by user, and by a period of whole UTC
 * days. Sums come from `usage_daily`; per-query figures (data sources, tables,
 * percentiles, export) from `usage_queries`. Aggregates are cast to float8/int so both
 * drivers hand back JS numbers.
 */
import type { Queryable } from "../../src/db/client";

export interface UsageScope {
  /** Every organization when absent (super admin's system view). */
  organizationId?: string;
  userId?: string;
  /** First UTC day included, `YYYY-MM-DD`. */
  fromDay: string;
}

function conditions(scope: UsageScope, time: "day" | "occurred_at"): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  if (scope.organizationId) {
    params.push(scope.organizationId);
    parts.push(`organization_id = $${params.length}`);
  }
  if (scope.userId) {
    params.push(scope.userId);
    parts.push(`user_id = $${params.length}`);
  }
  if (time === "day") {
    params.push(scope.fromDay);
    parts.push(`day >= $${params.length}::date`);
  } else {
    params.push(`${scope.fromDay}T00:00:00Z`);
    parts.push(`occurred_at >= $${params.length}::timestamptz`);
  }
  return { where: parts.join(" AND "), params };
}

const SUMS = `coalesce(sum(requests), 0)::float8 AS requests,
  coalesce(sum(succeeded), 0)::float8 AS succeeded,
  coalesce(sum(rejected), 0)::float8 AS rejected,
  coalesce(sum(failed), 0)::float8 AS failed,
  coalesce(sum(input_tokens), 0)::float8 AS input_tokens,
  coalesce(sum(output_tokens), 0)::float8 AS output_tokens,
  coalesce(sum(generation_ms_sum), 0)::float8 AS generation_ms_sum,
  coalesce(sum(generation_count), 0)::float8 AS generation_count,
  coalesce(sum(execution_ms_sum), 0)::float8 AS execution_ms_sum,
  coalesce(sum(execution_count), 0)::float8 AS execution_count`;

export interface UsageSums {
  requests: number;
  succeeded: number;
  rejected: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  generation_ms_sum: number;
  generation_count: number;
  execution_ms_sum: number;
  execution_count: number;
}

export async function usageTotals(db: Queryable, scope: UsageScope): Promise<UsageSums> {
  const { where, params } = conditions(scope, "day");
  const [row] = await db.query<UsageSums>(`SELECT ${SUMS} FROM usage_daily WHERE ${where}`, params);
  return row;
}

export type UsageGroup = "source" | "model" | "day" | "day_model" | "user" | "organization";

const GROUP_COLUMNS: Record<UsageGroup, string> = {
  source: "source",
  model: "provider, model",
  day: "day::text AS day",
  day_model: "day::text AS day, provider, model",
  user: "user_id::text AS user_id",
  organization: "organization_id::text AS organization_id",
};

const GROUP_BY: Record<UsageGroup, string> = {
  source: "source",
  model: "provider, model",
  day: "day",
  day_model: "day, provider, model",
  user: "user_id",
  organization: "organization_id",
};

/** Sums grouped by source, model, day, day and model, user or organization; largest token use first (days in order). */
export async function usageBy<K extends Record<string, string>>(db: Queryable, scope: UsageScope, group: UsageGroup, limit = 1000): Promise<Array<UsageSums & K>> {
  const { where, params } = conditions(scope, "day");
  const byTokens = "sum(input_tokens + output_tokens) DESC, sum(requests) DESC";
  const order = group === "day" || group === "day_model" ? `1 ASC, ${byTokens}` : `${byTokens}, 1`;
  return db.query<UsageSums & K>(
    `SELECT ${GROUP_COLUMNS[group]}, ${SUMS} FROM usage_daily WHERE ${where} GROUP BY ${GROUP_BY[group]} ORDER BY ${order} LIMIT ${Math.floor(limit)}`,
    params,
  );
}

export interface DataSourceUsage {
  data_source_id: string | null;
  queries: number;
  succeeded: number;
  rejected: number;
  failed: number;
}

export async function usageByDataSource(db: Queryable, scope: UsageScope, limit = 50): Promise<DataSourceUsage[]> {
  const { where, params } = conditions(scope, "occurred_at");
  return db.query<DataSourceUsage>(
    `SELECT data_source_id, count(*)::int AS queries, count(*) FILTER (WHERE outcome = 'executed')::int AS succeeded,
            count(*) FILTER (WHERE outcome = 'rejected')::int AS rejected, count(*) FILTER (WHERE outcome = 'failed')::int AS failed
       FROM usage_queries WHERE ${where} GROUP BY data_source_id ORDER BY queries DESC, data_source_id LIMIT ${Math.floor(limit)}`,
    params,
  );
}

/** Tables named by the queries of the period, most used first. */
export async function mostUsedTables(db: Queryable, scope: UsageScope, limit = 20): Promise<Array<{ table: string; queries: number }>> {
  const { where, params } = conditions(scope, "occurred_at");
  return db.query<{ table: string; queries: number }>(
    `SELECT t AS "table", count(*)::int AS queries FROM usage_queries, unnest(tables) AS t
      WHERE ${where} GROUP BY t ORDER BY queries DESC, t LIMIT ${Math.floor(limit)}`,
    params,
  );
}

export interface LatencySummary {
  count: number;
  avg: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface PerformanceSummary {
  queries: number;
  executed: number;
  rejected: number;
  failed: number;
  generation_ms: LatencySummary;
  execution_ms: LatencySummary;
  failures_by_stage: Array<{ stage: string; count: number }>;
}

const latency = (column: string, alias: string) => `
  count(${column})::int AS ${alias}_count, avg(${column})::float8 AS ${alias}_avg, max(${column})::float8 AS ${alias}_max,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY ${column})::float8 AS ${alias}_p50,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY ${column})::float8 AS ${alias}_p95,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY ${column})::float8 AS ${alias}_p99`;

/** Latency percentiles over the period's queries (continuous, interpolated), outcomes and failure stages. */
export async function performance(db: Queryable, scope: UsageScope): Promise<PerformanceSummary> {
  const { where, params } = conditions(scope, "occurred_at");
  const [[row], stages] = await Promise.all([
    db.query<Record<string, number | null>>(
      `SELECT count(*)::int AS queries, count(*) FILTER (WHERE outcome = 'executed')::int AS executed,
              count(*) FILTER (WHERE outcome = 'rejected')::int AS rejected, count(*) FILTER (WHERE outcome = 'failed')::int AS failed,
              ${latency("generation_ms", "gen")}, ${latency("execution_ms", "exec")}
         FROM usage_queries WHERE ${where}`,
      params,
    ),
    db.query<{ stage: string; count: number }>(
      `SELECT coalesce(stage, 'unknown') AS stage, count(*)::int AS count FROM usage_queries
        WHERE ${where} AND outcome = 'failed' GROUP BY 1 ORDER BY count DESC, stage`,
      params,
    ),
  ]);
  const summary = (alias: string): LatencySummary => ({
    count: Number(row[`${alias}_count`] ?? 0),
    avg: round(row[`${alias}_avg`]),
    p50: round(row[`${alias}_p50`]),
    p95: round(row[`${alias}_p95`]),
    p99: round(row[`${alias}_p99`]),
    max: round(row[`${alias}_max`]),
  });
  return {
    queries: Number(row.queries ?? 0),
    executed: Number(row.executed ?? 0),
    rejected: Number(row.rejected ?? 0),
    failed: Number(row.failed ?? 0),
    generation_ms: summary("gen"),
    execution_ms: summary("exec"),
    failures_by_stage: stages,
  };
}

const round = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100);

export interface LedgerEntry {
  query_id: string;
  occurred_at: string;
  user_id: string;
  organization_id: string;
  source: string;
  outcome: string;
  stage: string | null;
  data_source_id: string | null;
  chat_session_id: string | null;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  generation_ms: number | null;
  execution_ms: number | null;
  row_count: number | null;
  tables: string[];
  attempts: number;
}

/** The period's ledger rows, newest first, at most `limit`. */
export async function ledgerEntries(db: Queryable, scope: UsageScope, limit = 10_000): Promise<LedgerEntry[]> {
  const { where, params } = conditions(scope, "occurred_at");
  const rows = await db.query<LedgerEntry & { occurred_at: string | Date }>(
    `SELECT query_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, user_id::text AS user_id,
            organization_id::text AS organization_id, source, outcome, stage, data_source_id, chat_session_id, provider, model,
            input_tokens::float8 AS input_tokens, output_tokens::float8 AS output_tokens, generation_ms, execution_ms, row_count, tables, attempts
       FROM usage_queries WHERE ${where} ORDER BY occurred_at DESC, position DESC LIMIT ${Math.floor(limit)}`,
    params,
  );
  return rows;
}

/** First and last query ever of the scope (not limited to the period). */
export async function usageSpan(db: Queryable, scope: Omit<UsageScope, "fromDay">): Promise<{ first: string | null; last: string | null }> {
  const { where, params } = conditions({ ...scope, fromDay: "1970-01-01" }, "occurred_at");
  const [row] = await db.query<{ first: string | null; last: string | null }>(
    `SELECT to_char(min(occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS first,
            to_char(max(occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last
       FROM usage_queries WHERE ${where}`,
    params,
  );
  return row ?? { first: null, last: null };
}
