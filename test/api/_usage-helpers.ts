/**
 * Shared by the usage, limits, analytics, stats and admin suites: organizations and
 * members created through the API, and query events appended straight to the event
 * store in the shapes the query endpoints record (src/domain/query.ts).
 */
import { expect } from "bun:test";
import type { TestService } from "../support/app";
import { metadataFor, systemContext } from "../../src/eventstore/context";
import { uniq } from "./_helpers";

export const PASSWORD = "Member-Password-123!";

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export interface Org {
  id: string;
  adminId: string;
  adminToken: string;
}

export interface Member {
  id: string;
  email: string;
  token: string;
}

export function client(s: () => TestService) {
  const call = async (method: string, path: string, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Reply> => {
    const res = await s().request(method, path, init);
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* CSV and other text stay text */
    }
    return { status: res.status, body, headers: res.headers };
  };
  const ok = (r: Reply, status = 200) => {
    expect({ status: r.status, body: r.body }).toMatchObject({ status });
    return r.body;
  };
  const problem = (r: Reply, status: number) => {
    expect({ status: r.status, body: r.body }).toMatchObject({ status });
    expect(r.headers.get("content-type") ?? "").toStartWith("application/problem+json");
    for (const k of ["type", "title", "detail"]) expect(typeof r.body[k]).toBe("string");
    return r.body;
  };
  const newOrg = async (): Promise<Org> => {
    const tag = uniq("o");
    const r = ok(
      await call("POST", "/api/v1/auth/register", { body: { email: `admin.${tag}@example.com`, password: PASSWORD, first_name: "Org", last_name: "Admin", organization: `Org ${tag}` } }),
      201,
    );
    return { id: r.organization_id, adminId: r.id, adminToken: r.access_token };
  };
  const addMember = async (org: Org, extra: Record<string, unknown> = {}): Promise<Member> => {
    const email = `${uniq("u")}@example.com`;
    const created = ok(await call("POST", "/api/v1/users", { token: org.adminToken, body: { email, password: PASSWORD, first_name: "Mem", last_name: "Ber", ...extra } }), 201);
    const l = ok(await call("POST", "/api/v1/auth/login", { body: { email, password: PASSWORD, organization_id: org.id } }));
    return { id: created.id, email, token: l.access_token };
  };
  return { call, ok, problem, newOrg, addMember };
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
