/**
 * Fixtures shared by the data-source, database-access, schema, query and chat suites:
 * organizations made through the API (two of them, A and B, with the service for a
 * `describe` block: `twoOrgSuite`), and a request helper that keeps every response text
 * (the canary scan looks through all of them). Not a test file itself.
 */
import type { TestService } from "../support/app";
import { uniq } from "./_helpers";
import { replies, serviceFor } from "./_tenant";

export const PASSWORD = "Data-Access-Password-123!";

export interface Answer {
  status: number;
  body: any;
  text: string;
}

export interface Caller {
  call(method: string, path: string, token?: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  ok(method: string, path: string, token: string | undefined, body: unknown, status: number): Promise<any>;
  /** Every response text seen by this caller. */
  texts: string[];
}

export function caller(s: TestService): Caller {
  const r = replies(() => s);
  const call: Caller["call"] = (method, path, token, body, headers) => r.call(method, path, { token, body, headers });
  return {
    call,
    texts: r.texts,
    async ok(method, path, token, body, status) {
      const a = await call(method, path, token, body);
      if (a.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${a.status}: ${a.text.slice(0, 500)}`);
      return a.body;
    },
  };
}

export interface OrgFixture {
  id: string;
  name: string;
  adminId: string;
  adminToken: string;
}

/** A new organization, created by registering its first user (who becomes its admin). */
export async function makeOrg(c: Caller, tag = uniq("Org")): Promise<OrgFixture> {
  const name = `Data ${tag}`;
  const reg = await c.ok("POST", "/api/v1/auth/register", undefined, { email: `admin.${tag.toLowerCase()}@example.com`, password: PASSWORD, first_name: "Org", last_name: "Admin", organization: name }, 201);
  return { id: reg.organization_id, name, adminId: reg.id, adminToken: reg.access_token };
}

export interface TwoOrgs {
  s: TestService;
  c: Caller;
  /** The organization the tests work in. */
  A: OrgFixture;
  /** Another organization: what A must never see, and what must never see A. */
  B: OrgFixture;
}

/** The service for the enclosing `describe` block with its caller and two organizations, ready before the first test. */
export function twoOrgSuite(kind: "pglite" | "postgres", started: (ready: TwoOrgs) => void): void {
  serviceFor(kind, async (s) => {
    const c = caller(s);
    const A = await makeOrg(c);
    const B = await makeOrg(c);
    started({ s, c, A, B });
  });
}

/** A member of the organization with the given system role (default `user`), logged in. */
export async function addMember(c: Caller, org: OrgFixture, role = "user"): Promise<{ id: string; email: string; token: string }> {
  const email = `${uniq("m").toLowerCase()}@example.com`;
  const created = await c.ok("POST", "/api/v1/users", org.adminToken, { email, password: PASSWORD, first_name: "Mem", last_name: "Ber", role }, 201);
  const id = (created.id ?? created.user?.id) as string;
  const login = await c.ok("POST", "/api/v1/auth/login", undefined, { email, password: PASSWORD, organization: org.id }, 200);
  return { id, email, token: login.access_token };
}

/** The registered embedded demo database of an organization (no credentials). */
export async function registerDemo(c: Caller, org: OrgFixture, name = `Demo ${uniq()}`): Promise<any> {
  return c.ok("POST", "/api/v1/datasources", org.adminToken, { name, type: "embedded-demo" }, 201);
}
