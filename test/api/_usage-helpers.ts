/**
 * Shared by the usage, limits, analytics, stats and admin suites: query events appended
 * straight to the event store in the shapes the query endpoints record
 * (src/domain/query.ts), and `client`, the tenants of `_tenant.ts` for suites that start
 * their service themselves.
 */
import type { TestService } from "../support/app";
import { metadataFor, systemContext } from "../../src/eventstore/context";
import { replies, tenants, type Member, type Reply, type Tenant } from "./_tenant";

export { PASSWORD } from "./_tenant";
export type { Member, Reply };
export type Org = Pick<Tenant, "id" | "adminId" | "adminToken">;

/** The replies and tenants of `_tenant.ts`, with the names these suites use. */
export function client(s: () => TestService) {
  const r = replies(s);
  const { tenant, addMember } = tenants(r);
  return { call: r.call, ok: r.ok, problem: r.problem, newOrg: () => tenant(), addMember };
}

export interface QueryEventInput {
  type?: "QueryExecuted" | "QueryRejected" | "QueryFailed";
  organizationId: string;
  userId: string;
  source?: "question" | "sql" | "chat";
  provider?: string;
  model?: string;
  input?: number;
  output?: number;
  generationMs?: number;
  executionMs?: number | null;
  tables?: string[];
  dataSourceId?: string;
  stage?: "generation" | "execution" | "connection";
  at?: Date;
}

/** Appends one query outcome event as the query endpoints would; returns its position. */
export async function appendQueryEvent(s: TestService, q: QueryEventInput): Promise<bigint> {
  const queryId = Bun.randomUUIDv7();
  const type = q.type ?? "QueryExecuted";
  const identity = {
    query_id: queryId,
    user_id: q.userId,
    organization_id: q.organizationId,
    data_source_id: q.dataSourceId ?? "00000000-0000-7000-8000-000000000001",
    chat_session_id: q.source === "chat" ? Bun.randomUUIDv7() : null,
    source: q.source ?? "question",
  };
  const common = {
    question: q.source === "sql" ? null : "how many orders?",
    tables: q.tables ?? ["orders"],
    generation_ms: q.generationMs ?? 100,
    provider: q.provider ?? "anthropic",
    model: q.model ?? "claude-test",
    usage: { input_tokens: q.input ?? 100, output_tokens: q.output ?? 20 },
    attempts: 1,
  };
  const data =
    type === "QueryExecuted"
      ? { ...identity, ...common, sql: "SELECT count(*) FROM orders", row_count: 1, truncated: false, execution_ms: q.executionMs ?? 10 }
      : type === "QueryRejected"
        ? { ...identity, ...common, sql: "DELETE FROM orders", reasons: ["only SELECT"] }
        : { ...identity, ...common, sql: "SELECT 1", stage: q.stage ?? "execution", error: "boom", execution_ms: q.executionMs ?? null };
  const ctx = { ...systemContext(q.at ?? new Date()), actor: { type: "user" as const, id: q.userId }, organizationId: q.organizationId };
  const { position } = await s.deps.store.append(`query-${queryId}`, [{ id: Bun.randomUUIDv7(), type, data, metadata: metadataFor(ctx) }], "no_stream");
  return position;
}

/** Appends several and waits until the read models have them. */
export async function appendQueryEvents(s: TestService, list: QueryEventInput[]): Promise<void> {
  let last = 0n;
  for (const q of list) last = await appendQueryEvent(s, q);
  await s.deps.projector.waitFor(last);
}
