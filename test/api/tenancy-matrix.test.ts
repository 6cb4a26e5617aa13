/**
 * Tenancy matrix (issue 4, item 7): generated from the app's route table, so a new route
 * that takes an id is covered automatically. For every `/api/v1/` route with a `:param`,
 * each principal of organization A calls it with the ids of organization B's resources:
 * the answer is 404 (SPEC "Conventions": another organization's resource is 404, never 403),
 * or 403 only when the same principal is also refused the same route on its own
 * organization's resource (it lacks the permission entirely). Never 2xx, never a 422 as
 * proof. Afterwards B's resources and B's event streams are unchanged. An `organization_id`
 * of B in a body from A's admin creates nothing in B.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { HOOK_TIMEOUT_MS, uniq } from "./_helpers";

const V1 = "/api/v1";
const PASSWORD = "Tenancy-Password-123!";

type Kind = "user" | "role" | "location" | "roleRequest" | "apiKey" | "organization" | "dataSource" | "access" | "table" | "query" | "chatSession";

/** Resource ids of one organization, by kind. */
type Ids = Record<Kind, string>;

interface Principal {
  name: string;
  headers: Record<string, string>;
}

/** Route prefixes whose ids are not tenant-scoped (a platform-wide catalogue): left out, and said so. */
const GLOBAL_PREFIXES = [`${V1}/permissions/`];

/** Which kind of resource a `:param` of a route names: by param name first, then by the route's prefix. */
function kindOf(path: string, param: string): Kind | undefined {
  if (param === "user_id") return "user";
  if (param === "location_id") return "location";
  if (param === "role_id") return "role";
  if (param === "organization_id") return "organization";
  if (param === "access_id") return "access";
  if (param === "query_id") return "query";
  // A table name is not a tenant's resource by itself: the data source in the query is (see fill).
  if (param === "table_name") return "table";
  if (param !== "id") return undefined;
  const prefixes: Array<[string, Kind]> = [
    [`${V1}/users/`, "user"],
    [`${V1}/roles/`, "role"],
    [`${V1}/locations/`, "location"],
    [`${V1}/role-requests/`, "roleRequest"],
    [`${V1}/apikeys/`, "apiKey"],
    [`${V1}/organizations/`, "organization"],
    [`${V1}/datasources/`, "dataSource"],
    [`${V1}/chat/sessions/`, "chatSession"],
    [`${V1}/audit/organization/`, "organization"],
    [`${V1}/admin/users/`, "user"],
  ];
  return prefixes.find(([p]) => path.startsWith(p))?.[1];
}

/**
 * Minimal valid bodies per route (candidates tried in order until one passes validation);
 * routes not listed get none (DELETE / bodiless POST) or `{}`.
 */
function bodyCandidates(method: string, path: string, own: Ids, other: Ids): Array<unknown | undefined> {
  const rel = path.slice(V1.length);
  const key = `${method} ${rel}`;
  const table: Record<string, Array<unknown>> = {
    "PUT /organizations/:id": [{ description: "tenancy probe" }, { name: `Probe ${uniq()}` }],
    "PUT /users/:id": [{ first_name: "Probe" }, {}],
    "POST /users/:id/roles": [{ role_id: other.role }, { role_id: own.role }, { role_ids: [other.role] }],
    "DELETE /users/:id/roles": [{ role_id: other.role }, { role_id: own.role }, { role_ids: [other.role] }],
    "PUT /roles/:id": [{ description: "tenancy probe" }, {}],
    "POST /roles/:id/permissions": [{ permission_ids: ["user.read"] }],
    "DELETE /roles/:id/permissions": [{ permission_ids: ["user.read"] }],
    "POST /role-requests/:id/approve": [{ notes: "probe" }, undefined, {}],
    "POST /role-requests/:id/reject": [{ notes: "probe" }, undefined, {}],
    "POST /role-requests/:id/cancel": [{}, undefined],
    "PUT /locations/:id": [{ name: "Probe" }, {}],
    "POST /apikeys/rotate/:id": [{}, undefined],
    "POST /apikeys/revoke/:id": [undefined, {}],
    "PUT /datasources/:id": [{ name: `Probe ${uniq()}` }, {}],
    "POST /datasources/:id/test": [undefined, {}],
    "POST /users/:id/database-access": [{ data_source_id: other.dataSource }, { data_source_id: own.dataSource }],
  };
  if (table[key]) return table[key];
  if (method === "PUT" || method === "PATCH") return [{}, undefined];
  if (method === "POST") return [{}, undefined];
  return [undefined];
}

function fill(path: string, ids: Ids, unknownParams: Set<string>): string {
  const filled = path.replace(/:([A-Za-z_]+)/g, (_, param: string) => {
    const kind = kindOf(path, param);
    if (!kind) {
      unknownParams.add(`${path} :${param}`);
      return ids.user;
    }
    return ids[kind];
  });
  // Schema routes name their data source in the query.
  return path.startsWith(`${V1}/schema/`) ? `${filled}?data_source_id=${ids.dataSource}` : filled;
}

for (const kind of serviceKinds()) {
  describe(`tenancy matrix [${kind}]`, () => {
    let s: TestService;

    const call = async (method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}) => {
      const res = await s.request(method, path, { headers: init.headers, body: init.body });
      const text = await res.text();
      let body: any = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      return { status: res.status, body };
    };
    const ok = (r: { status: number; body: any }, status: number) => {
      if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    interface Org {
      id: string;
      name: string;
      adminToken: string;
      ids: Ids;
    }

    /** An organization (created by registration, policy `open`) with one resource of each kind. */
    async function makeOrg(tag: string): Promise<Org & { adminId: string; memberId: string; memberToken: string }> {
      const name = `Tenancy ${tag}`;
      const reg = ok(
        await call("POST", `${V1}/auth/register`, { body: { email: `admin.${tag}@example.com`, password: PASSWORD, first_name: "Org", last_name: "Admin", organization: name } }),
        201,
      );
      const adminToken = reg.access_token as string;
      const orgId = reg.organization_id as string;
      const admin = bearer(adminToken);
      const memberEmail = `member.${tag}@example.com`;
      const member = ok(
        await call("POST", `${V1}/users`, { headers: admin, body: { email: memberEmail, password: PASSWORD, first_name: "Mem", last_name: "Ber" } }),
        201,
      );
      const memberId = (member.id ?? member.user?.id) as string;
      const memberLogin = ok(await call("POST", `${V1}/auth/login`, { body: { email: memberEmail, password: PASSWORD, organization: orgId } }), 200);
      const role = ok(
        await call("POST", `${V1}/roles`, { headers: admin, body: { name: `custom_${tag.toLowerCase()}`, display_name: "Custom", permissions: ["user.read"] } }),
        201,
      );
      const roleId = (role.id ?? role.role?.id) as string;
      const location = ok(await call("POST", `${V1}/locations`, { headers: admin, body: { name: `Site ${tag}`, code: `S${tag}`.slice(0, 40) } }), 201);
      ok(await call("POST", `${V1}/locations/assign`, { headers: admin, body: { user_id: memberId, location_ids: [location.id] } }), 200);
      const request = ok(await call("POST", `${V1}/role-requests`, { headers: bearer(memberLogin.access_token), body: { role_id: roleId, reason: "probe" } }), 201);
      const key = ok(await call("POST", `${V1}/apikeys`, { headers: admin, body: { name: `key ${tag}`, scopes: ["user.read"] } }), 201);
      const dataSource = ok(await call("POST", `${V1}/datasources`, { headers: admin, body: { name: `Demo ${tag}`, type: "embedded-demo" } }), 201);
      const access = ok(await call("POST", `${V1}/users/${memberId}/database-access`, { headers: admin, body: { data_source_id: dataSource.id } }), 201);
      // Query history and chat sessions are their creator's own: the admin (principal A) makes them.
      ok(await call("POST", `${V1}/users/${reg.id}/database-access`, { headers: admin, body: { data_source_id: dataSource.id } }), 201);
      const query = ok(await call("POST", `${V1}/query`, { headers: admin, body: { question: "How many customers are there?", data_source_id: dataSource.id } }), 200);
      const session = ok(await call("POST", `${V1}/chat/sessions`, { headers: admin, body: { title: `Probe ${tag}`, data_source_id: dataSource.id } }), 201);
      return {
        id: orgId,
        name,
        adminToken,
        adminId: reg.id as string,
        memberId,
        memberToken: memberLogin.access_token as string,
        ids: {
          user: memberId,
          role: roleId,
          location: location.id,
          roleRequest: request.id,
          apiKey: key.id,
          organization: orgId,
          dataSource: dataSource.id,
          access: access.access.id,
          table: "customers",
          query: query.query_id,
          chatSession: session.id,
        },
      };
    }

    let A: Awaited<ReturnType<typeof makeOrg>>;
    let B: Awaited<ReturnType<typeof makeOrg>>;
    let principals: Principal[];

    beforeAll(async () => {
      s = await startService(kind);
      A = await makeOrg(uniq("A").slice(0, 20));
      B = await makeOrg(uniq("B").slice(0, 20));

      // A's plain user: registers into A (a non-domain name, so A's policy is `open`).
      const plainEmail = `plain.${uniq()}@example.com`;
      const plain = ok(await call("POST", `${V1}/auth/register`, { body: { email: plainEmail, password: PASSWORD, first_name: "Plain", last_name: "User", organization: A.name } }), 201);
      expect(plain.organization_id).toBe(A.id);
      expect(plain.organization_created).toBe(false);

      // A's admin API key, with every permission A's admin holds.
      const me = ok(await call("GET", `${V1}/auth/me`, { headers: bearer(A.adminToken) }), 200);
      const scopes = (me.permissions ?? me.user?.permissions) as string[];
      expect(scopes.length).toBeGreaterThan(5);
      const key = ok(await call("POST", `${V1}/apikeys`, { headers: bearer(A.adminToken), body: { name: "broad", scopes } }), 201);

      principals = [
        { name: "A admin (bearer)", headers: bearer(A.adminToken) },
        { name: "A plain user (bearer)", headers: bearer(plain.access_token) },
        { name: "A admin API key", headers: { "x-api-key": key.api_key } },
      ];
    }, HOOK_TIMEOUT_MS);

    afterAll(async () => {
      await s?.close();
    }, HOOK_TIMEOUT_MS);

    /** What B's admin sees of B's resources, and how long B's streams are. */
    async function snapshotB() {
      const admin = bearer(B.adminToken);
      const reads = {
        user: await call("GET", `${V1}/users/${B.ids.user}`, { headers: admin }),
        admin: await call("GET", `${V1}/users/${B.adminId}`, { headers: admin }),
        role: await call("GET", `${V1}/roles/${B.ids.role}`, { headers: admin }),
        location: await call("GET", `${V1}/locations/${B.ids.location}`, { headers: admin }),
        locationUsers: await call("GET", `${V1}/locations/${B.ids.location}/users`, { headers: admin }),
        roleRequest: await call("GET", `${V1}/role-requests/${B.ids.roleRequest}`, { headers: admin }),
        apiKey: await call("GET", `${V1}/apikeys/${B.ids.apiKey}`, { headers: admin }),
        apiKeys: await call("GET", `${V1}/apikeys?size=100`, { headers: admin }),
        users: await call("GET", `${V1}/users?size=100`, { headers: admin }),
        roles: await call("GET", `${V1}/roles?size=100`, { headers: admin }),
        locations: await call("GET", `${V1}/locations?size=100`, { headers: admin }),
        org: await call("GET", `${V1}/organizations/my/info`, { headers: admin }),
        dataSource: await call("GET", `${V1}/datasources/${B.ids.dataSource}`, { headers: admin }),
        databaseAccess: await call("GET", `${V1}/users/${B.ids.user}/database-access`, { headers: admin }),
      };
      for (const [name, r] of Object.entries(reads)) if (r.status !== 200) throw new Error(`B snapshot ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      const streams = [
        `user-${B.ids.user}`,
        `user-${B.adminId}`,
        `role-${B.ids.role}`,
        `location-${B.ids.location}`,
        `role_request-${B.ids.roleRequest}`,
        `apikey-${B.ids.apiKey}`,
        `organization-${B.id}`,
        `seats-${B.id}`,
        `data_source-${B.ids.dataSource}`,
        `query-${B.ids.query}`,
        `chat_session-${B.ids.chatSession}`,
        `database_access-${B.ids.user}`,
      ];
      const lengths: Record<string, number> = {};
      for (const id of streams) lengths[id] = (await s.deps.store.readStream(id).catch(() => [])).length;
      return { reads: Object.fromEntries(Object.entries(reads).map(([k, v]) => [k, v.body])), lengths };
    }

    test(
      "every id-taking route answers 404 to organization A for organization B's ids, and B is unchanged",
      async () => {
        const before = await snapshotB();
        for (const n of Object.values(before.lengths).slice(0, 6)) expect(n).toBeGreaterThan(0);

        const routes = s.app.routes
          .filter((r) => r.path.startsWith(`${V1}/`) && /:[A-Za-z_]/.test(r.path))
          .filter((r) => !GLOBAL_PREFIXES.some((p) => r.path.startsWith(p)))
          .map((r) => ({ method: r.method.toUpperCase(), path: r.path }));
        const skipped = s.app.routes.filter((r) => r.path.startsWith(`${V1}/`) && /:/.test(r.path) && GLOBAL_PREFIXES.some((p) => r.path.startsWith(p)));
        const seen = new Set<string>();
        const unique = routes.filter((r) => (seen.has(`${r.method} ${r.path}`) ? false : (seen.add(`${r.method} ${r.path}`), true)));
        expect(unique.length).toBeGreaterThanOrEqual(20);

        const unknownParams = new Set<string>();
        const failures: string[] = [];
        const accepted403: string[] = [];
        let cells = 0;

        /** Sends a route with the body candidates until one is not a 422; returns the last answer. */
        const send = async (method: string, template: string, ids: Ids, own: Ids, other: Ids, p: Principal) => {
          const url = fill(template, ids, unknownParams);
          let last = { status: 0, body: null as any };
          for (const body of bodyCandidates(method, template, own, other)) {
            last = await call(method, url, { headers: p.headers, body });
            if (last.status !== 422) break;
          }
          return last;
        };

        for (const route of unique) {
          for (const p of principals) {
            cells += 1;
            const cell = `${route.method} ${route.path} as ${p.name}`;
            const res = await send(route.method, route.path, B.ids, A.ids, B.ids, p);
            if (res.status === 404) continue;
            if (res.status === 403) {
              if (route.path.startsWith(`${V1}/organizations/:`)) {
                accepted403.push(`${cell} (super-admin only)`);
                continue;
              }
              // 403 is fine only if the principal lacks the permission altogether: same route, its own organization's resource.
              const own = await send(route.method, route.path, A.ids, A.ids, A.ids, p);
              if (own.status === 403) {
                accepted403.push(cell);
                continue;
              }
              failures.push(`${cell}: 403 instead of 404 (own organization's resource: ${own.status})`);
              continue;
            }
            failures.push(`${cell}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          }
        }

        console.log(`tenancy matrix: ${cells} route x principal cells tried (${unique.length} routes, ${principals.length} principals)`);
        console.log(`tenancy matrix: 403 accepted (no permission at all): ${accepted403.length}${accepted403.length ? "\n  " + accepted403.join("\n  ") : ""}`);
        if (skipped.length) console.log(`tenancy matrix: not tenant-scoped, left out: ${skipped.map((r) => `${r.method} ${r.path}`).join(", ")}`);
        if (unknownParams.size) console.log(`tenancy matrix: unknown params (B's user id used): ${[...unknownParams].join(", ")}`);
        if (failures.length) console.log(`tenancy matrix FAILURES:\n  ${failures.join("\n  ")}`);

        // Control: the substitution names real resources. A's admin reads its own organization's with every GET route.
        for (const route of unique.filter((r) => r.method === "GET" && !r.path.startsWith(`${V1}/organizations/`))) {
          const own = await call("GET", fill(route.path, A.ids, unknownParams), { headers: principals[0].headers });
          if (own.status !== 200) failures.push(`control GET ${route.path} on A's own resource as A admin: ${own.status}`);
        }

        expect(cells).toBeGreaterThanOrEqual(30);
        expect(failures).toEqual([]);

        const after = await snapshotB();
        expect(after.lengths).toEqual(before.lengths);
        expect(after.reads).toEqual(before.reads);
      },
      HOOK_TIMEOUT_MS,
    );

    test(
      "organization_id of B in a body from A's admin answers 404 and creates nothing in B",
      async () => {
        const before = await snapshotB();
        const tag = uniq("X").slice(0, 20);
        const attempts: Array<[string, Record<string, unknown>]> = [
          [`${V1}/users`, { email: `cross.${tag}@example.com`, password: PASSWORD, first_name: "Cross", last_name: "Org", organization_id: B.id }],
          [`${V1}/roles`, { name: `cross_${tag.toLowerCase()}`, organization_id: B.id }],
          [`${V1}/locations`, { name: `Cross ${tag}`, code: `C${tag}`.slice(0, 40), organization_id: B.id }],
          [`${V1}/datasources`, { name: `Cross ${tag}`, type: "embedded-demo", organization_id: B.id }],
        ];
        for (const p of principals.filter((x) => x.name !== "A plain user (bearer)")) {
          for (const [path, body] of attempts) {
            const res = await call("POST", path, { headers: p.headers, body });
            expect({ cell: `POST ${path} as ${p.name}`, status: res.status }).toEqual({ cell: `POST ${path} as ${p.name}`, status: 404 });
          }
        }
        const after = await snapshotB();
        expect(after.lengths).toEqual(before.lengths);
        expect(after.reads).toEqual(before.reads);
        const admin = bearer(B.adminToken);
        const users = ok(await call("GET", `${V1}/users?size=100`, { headers: admin }), 200);
        expect(JSON.stringify(users)).not.toContain(`cross.${tag}`);
      },
      HOOK_TIMEOUT_MS,
    );
  });
}
