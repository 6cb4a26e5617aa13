/**
 * The set-up most API suites share, in one place: the service started for a `describe`
 * block and closed after it, replies read once, and tenants — an organization registered
 * through the API (its first user becomes its admin) with members its admin creates
 * through POST /users, each logged in. Not a test file itself.
 *
 *   let s: TestService;
 *   let root: string;
 *   const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));
 *   ...
 *   const org = await tenant({ members: [{}, { role: "manager" }] });
 *   const [member, manager] = org.members;
 */
import { afterAll, beforeAll, expect } from "bun:test";
import type { Config } from "../../src/config";
import { startService, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, uniq } from "./_helpers";

/** Every user a fixture makes, admins and members, has this password. */
export const PASSWORD = "Member-Password-123!";

const V1 = "/api/v1";

export interface Reply {
  status: number;
  /** Parsed JSON; text that is not JSON (CSV, NDJSON) stays text; empty is null. */
  body: any;
  text: string;
  headers: Headers;
}

export interface CallInit {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export interface Member {
  id: string;
  email: string;
  token: string;
  /** The POST /users answer. */
  created: any;
}

export interface Tenant {
  id: string;
  name: string;
  adminId: string;
  adminEmail: string;
  adminToken: string;
  /** The POST /auth/register answer that made the organization. */
  registration: any;
  /** The members asked for in `TenantSpec.members`, in that order. */
  members: Member[];
}

/**
 * Fields of the POST /users body besides the password: `role`, `roles`, names, `email`.
 * Unnamed members are "Mem Ber" with a fresh e-mail address.
 */
export type MemberSpec = Record<string, unknown>;

export interface TenantSpec {
  /** Members the admin creates and logs in, in order; `{}` is a plain `user`. */
  members?: MemberSpec[];
}

export interface Replies {
  call(method: string, path: string, init?: CallInit): Promise<Reply>;
  /** Asserts the status (showing the body when it differs) and returns the body. */
  ok(r: Reply, status?: number): any;
  /** Asserts the status and the RFC 9457 shape; returns the body. */
  problem(r: Reply, status: number): any;
  /** Every response text read through `call`, set-up included: for scans for secrets. */
  texts: string[];
}

export interface Tenants {
  tenant(spec?: TenantSpec): Promise<Tenant>;
  /** A user the tenant's admin (or `by`, another creator's token) makes through POST /users, then logged in. */
  addMember(org: Pick<Tenant, "id" | "adminToken">, spec?: MemberSpec, by?: string): Promise<Member>;
}

/** Replies of the service `s()` (a getter: suites start their service in a hook). */
export function replies(s: () => TestService): Replies {
  const texts: string[] = [];
  const call: Replies["call"] = async (method, path, init = {}) => {
    const res = await s().request(method, path, init);
    const text = await res.text();
    texts.push(text);
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: stays text */
    }
    return { status: res.status, body, text, headers: res.headers };
  };
  const ok: Replies["ok"] = (r, status = 200) => {
    expect({ status: r.status, body: r.body }).toMatchObject({ status });
    return r.body;
  };
  const problem: Replies["problem"] = (r, status) => {
    expect({ status: r.status, body: r.body }).toMatchObject({ status });
    expect(r.headers.get("content-type") ?? "").toStartWith("application/problem+json");
    for (const k of ["type", "title", "detail"]) expect(typeof r.body[k]).toBe("string");
    return r.body;
  };
  return { call, ok, problem, texts };
}

/** Tenants made through the API with `call` and checked with `ok`. */
export function tenants({ call, ok }: Pick<Replies, "call" | "ok">): Tenants {
  const addMember: Tenants["addMember"] = async (org, spec = {}, by = org.adminToken) => {
    const email = (spec.email as string | undefined) ?? `${uniq("u")}@example.com`;
    const created = ok(await call("POST", `${V1}/users`, { token: by, body: { password: PASSWORD, first_name: "Mem", last_name: "Ber", ...spec, email } }), 201);
    const login = ok(await call("POST", `${V1}/auth/login`, { body: { email, password: PASSWORD, organization_id: org.id } }));
    return { id: created.id, email, token: login.access_token, created };
  };
  const tenant: Tenants["tenant"] = async (spec = {}) => {
    const tag = uniq("o");
    const name = `Org ${tag}`;
    const adminEmail = `admin.${tag}@example.com`;
    const registration = ok(await call("POST", `${V1}/auth/register`, { body: { email: adminEmail, password: PASSWORD, first_name: "Org", last_name: "Admin", organization: name } }), 201);
    const org = { id: registration.organization_id as string, name, adminId: registration.id as string, adminEmail, adminToken: registration.access_token as string, registration };
    const members: Member[] = [];
    // One after another: members' ids and events come in the order asked for.
    for (const m of spec.members ?? []) members.push(await addMember(org, m));
    return { ...org, members };
  };
  return { tenant, addMember };
}

/**
 * The service for the enclosing `describe` block: started before its first test and
 * handed to `started`, closed after its last. The suite's own `beforeAll` hooks,
 * registered after this call, run after the start.
 */
export function serviceFor(kind: "pglite" | "postgres", started: (s: TestService) => void | Promise<void>, config: Partial<Config> = {}): () => TestService {
  let s: TestService | undefined;
  beforeAll(async () => {
    s = await startService(kind, config);
    await started(s);
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);
  return () => {
    if (!s) throw new Error("the service is not started yet: call the API from hooks and tests only");
    return s;
  };
}

export interface Started {
  s: TestService;
  /** The super admin's access token. */
  root: string;
}

/** `serviceFor` with the super admin logged in, replies and tenants of that service. */
export function apiSuite(kind: "pglite" | "postgres", started: (ready: Started) => void, config: Partial<Config> = {}): Replies & Tenants {
  const service = serviceFor(kind, async (s) => started({ s, root: await s.superAdminToken() }), config);
  const r = replies(service);
  return { ...r, ...tenants(r) };
}
