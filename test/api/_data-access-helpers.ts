/**
 * Fixtures shared by the data-source, database-access and schema suites: organizations
 * made through the API, and a request helper that keeps every response text (the canary
 * scan looks through all of them). Not a test file itself.
 */
import type { TestService } from "../support/app";
import { uniq } from "./_helpers";

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
  const texts: string[] = [];
  const call: Caller["call"] = async (method, path, token, body, headers) => {
    const res = await s.request(method, path, { token, body, headers });
    const text = await res.text();
    texts.push(text);
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, text };
  };
  return {
    call,
    texts,
    async ok(method, path, token, body, status) {
      const r = await call(method, path, token, body);
      if (r.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
      return r.body;
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
