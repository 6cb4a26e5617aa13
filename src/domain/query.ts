/**
 * One query a person asked or wrote, stream `query-<query id>`.
 *
 * A query is a one-shot record, not a long-lived aggregate: its outcome is recorded
 * exactly once (QueryExecuted, QueryRejected or QueryFailed), and afterwards its owner may
 * hide it from their history (QueryHidden; the outcome event stays, for the audit and
 * the usage ledger). The decider only guards those two rules.
 *
 * The event shapes are a contract: the usage ledger and analytics read them. They carry
 * the SQL, the tables, counts, durations, model and tokens, and NEVER result rows: rows
 * are tenant data, and events are kept forever and exported by the audit.
 *
 * `source: "sql"` (SQL the caller wrote) involves no model: provider and model are then
 * "none", generation_ms 0, attempts 0 and usage zero, so consumers never meet a null.
 */
import { DomainError, notFound } from "./errors";

export type QuerySource = "question" | "sql" | "chat";
export type QueryFailureStage = "generation" | "execution" | "connection";

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
}

/** The provider and model of a query that involved no model (source "sql"). */
export const NO_MODEL = "none";

interface QueryIdentity {
  query_id: string;
  user_id: string;
  organization_id: string;
  data_source_id: string;
  chat_session_id: string | null;
  source: QuerySource;
}

export type QueryExecuted = QueryIdentity & {
  question: string | null;
  sql: string;
  tables: string[];
  row_count: number;
  truncated: boolean;
  generation_ms: number;
  execution_ms: number;
  provider: string;
  model: string;
  usage: TokenUsage;
  attempts: number;
};

export type QueryRejected = QueryIdentity & {
  question: string | null;
  sql: string | null;
  tables: string[];
  /** The guard's reasons, or the translator's plain message when it could not answer. */
  reasons: string[];
  generation_ms: number;
  provider: string;
  model: string;
  usage: TokenUsage;
  attempts: number;
};

export type QueryFailed = QueryIdentity & {
  question: string | null;
  sql: string | null;
  tables: string[];
  stage: QueryFailureStage;
  /** Safe to show and keep: no password, no connection string. */
  error: string;
  generation_ms: number;
  execution_ms: number | null;
  provider: string;
  model: string;
  usage: TokenUsage;
  attempts: number;
};

export type QueryOutcomeEvent =
  | { type: "QueryExecuted"; data: QueryExecuted }
  | { type: "QueryRejected"; data: QueryRejected }
  | { type: "QueryFailed"; data: QueryFailed };

export type QueryEvent = QueryOutcomeEvent | { type: "QueryHidden"; data: { query_id: string; user_id: string; hidden_by: string } };

export const QUERY_OUTCOME_TYPES = ["QueryExecuted", "QueryRejected", "QueryFailed"] as const;

export type QueryCommand =
  | { type: "RecordOutcome"; outcome: QueryOutcomeEvent }
  /** `userId`: the caller, who must be the query's owner. */
  | { type: "HideQuery"; userId: string; organizationId: string; hiddenBy: string };

export type QueryState =
  | { status: "absent" }
  | { status: "recorded"; queryId: string; userId: string; organizationId: string; hidden: boolean };

export const query = {
  initialState: (): QueryState => ({ status: "absent" }),

  evolve(state: QueryState, event: QueryEvent): QueryState {
    switch (event.type) {
      case "QueryExecuted":
      case "QueryRejected":
      case "QueryFailed":
        return { status: "recorded", queryId: event.data.query_id, userId: event.data.user_id, organizationId: event.data.organization_id, hidden: false };
      case "QueryHidden":
        return state.status === "recorded" ? { ...state, hidden: true } : state;
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: QueryCommand, state: QueryState): QueryEvent[] {
    switch (command.type) {
      case "RecordOutcome":
        if (state.status !== "absent") throw new DomainError("conflict", "The query's outcome is already recorded");
        return [command.outcome];
      case "HideQuery":
        // Another user's query, or one already hidden, is not in the caller's history: 404.
        if (state.status !== "recorded" || state.userId !== command.userId || state.organizationId !== command.organizationId || state.hidden) {
          throw notFound("Query");
        }
        return [{ type: "QueryHidden", data: { query_id: state.queryId, user_id: state.userId, hidden_by: command.hiddenBy } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
