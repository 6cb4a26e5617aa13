/**
 * The HTTP shell: problem+json errors, body limits, authentication failures, request ids,
 * the /api alias and the public system endpoints (health, root, OpenAPI, docs, metrics).
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { serviceKinds, startService, type TestService } from "../support/app";
import { AUDIENCE, ISSUER } from "../../src/auth/tokens";
import { MAX_BODY_BYTES } from "../../src/http/errors";
import { eventually, expectProblem, HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, registerMember, superAdminIdOf, uniq } from "./_helpers";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const ORGS = "/api/v1/organizations";
/** 1.1 MiB of JSON: one string. */
const OVERSIZED_JSON = JSON.stringify("x".repeat(Math.ceil(1.1 * 1024 * 1024)));

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe.each(serviceKinds())("HTTP shell (%s)", (kind) => {
  let s: TestService;
  let token: string;
  let superAdminId: string;
  /** Every error body seen by this suite: scanned at the end for leaks. */
  const errorBodies: string[] = [];

  const problemOf = async (res: Response, status: number) => {
    const p = await expectProblem(res, status);
    errorBodies.push(p.text);
    return p.body;
  };

  const mint = (claims: Record<string, unknown>, secret: string, times: { iat?: number; exp?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ org: claims.org, sid: claims.sid ?? Bun.randomUUIDv7(), typ: "access" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(String(claims.sub))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setJti(Bun.randomUUIDv7())
      .setIssuedAt(times.iat ?? now)
      .setExpirationTime(times.exp ?? now + 600)
      .sign(new TextEncoder().encode(secret));
  };

  beforeAll(async () => {
    s = await startService(kind);
    token = await s.superAdminToken();
    superAdminId = superAdminIdOf(token);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  describe("errors are problem+json", () => {
    test("given no such route, when it is requested, then 404 problem+json", async () => {
      for (const path of ["/no-such-route", "/api/v1/no-such-route", "/api/no-such-route"]) {
        const body = await problemOf(await s.request("GET", path), 404);
        expect(body.title).toBe("Not Found");
      }
    });

    test("given malformed JSON, when posted, then 400 problem+json and nothing is created", async () => {
      const before = await s.json("GET", `${ORGS}?size=1`, { token });
      const res = await s.request("POST", ORGS, { token, rawBody: '{"name": "Broken', headers: { "content-type": "application/json" } });
      const body = await problemOf(res, 400);
      expect(body.title).toBe("Bad Request");
      const after = await s.json("GET", `${ORGS}?size=1`, { token });
      expect(after.body.total).toBe(before.body.total);
    });

    test("given a 1.1 MiB body with content-length, when posted, then 413 problem+json", async () => {
      const bytes = Buffer.byteLength(OVERSIZED_JSON);
      expect(bytes).toBeGreaterThan(MAX_BODY_BYTES);
      const res = await s.app.handle(
        new Request(`http://localhost${ORGS}`, {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": String(bytes), authorization: `Bearer ${token}` },
          body: OVERSIZED_JSON,
        }),
      );
      const body = await problemOf(res, 413);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      expect(body.detail).toContain(String(MAX_BODY_BYTES));
    });

    test("given a 1.1 MiB streamed body without content-length, when posted, then 413 problem+json", async () => {
      const chunk = new TextEncoder().encode(OVERSIZED_JSON);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          // Several chunks, as a chunked upload would arrive.
          for (let i = 0; i < chunk.length; i += 64 * 1024) controller.enqueue(chunk.subarray(i, i + 64 * 1024));
          controller.close();
        },
      });
      const req = new Request(`http://localhost${ORGS}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body,
        duplex: "half",
      } as RequestInit);
      expect(req.headers.get("content-length")).toBeNull();
      const res = await s.app.handle(req);
      await problemOf(res, 413);
      expect(res.headers.get("x-request-id")).toBeTruthy();
    });

    test("given a body just under the limit, when posted, then it is not refused as too large", async () => {
      // The limit is the body size, not a smaller accidental one: a large but allowed body reaches validation.
      const res = await s.request("POST", ORGS, { token, body: { name: "x".repeat(900 * 1024) } });
      const body = await problemOf(res, 422);
      expect(body.errors.some((e: { path: string }) => e.path === "/body/name")).toBe(true);
    });

    test("given an unknown body field, when posted, then 422 with errors[] of {path, message}", async () => {
      const res = await s.request("POST", ORGS, { token, body: { name: `Org ${uniq()}`, bogus_field: 1 } });
      const body = await problemOf(res, 422);
      expect(Array.isArray(body.errors)).toBe(true);
      expect(body.errors.length).toBeGreaterThan(0);
      for (const e of body.errors) {
        expect(typeof e.path).toBe("string");
        expect(typeof e.message).toBe("string");
      }
      expect(body.errors.map((e: { path: string }) => e.path)).toContain("/body/bogus_field");
    });

    test("given an invalid query value, when listing, then 422 with the offending parameter's path", async () => {
      for (const [query, path] of [
        ["is_active=maybe", "/query/is_active"],
        ["page=abc", "/query/page"],
      ] as const) {
        const body = await problemOf(await s.request("GET", `${ORGS}?${query}`, { token }), 422);
        expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
      }
    });

    test("given an out-of-range page, size or skip, when listing, then 422 rather than a database error", async () => {
      for (const query of ["size=0", "size=5000", "limit=5000", "skip=-1", "page=0", "page=100000000000000000&size=1000", "skip=100000000000000000000"]) {
        const body = await problemOf(await s.request("GET", `${ORGS}?${query}`, { token }), 422);
        expect(body.errors.length).toBeGreaterThan(0);
      }
    });
  });

  describe("authentication", () => {
    test("given a valid super admin token, when listing organizations, then 200 (the control case)", async () => {
      const res = await s.request("GET", ORGS, { token });
      expect(res.status).toBe(200);
    });

    test("given no token, when calling a protected route, then 401 with a Bearer challenge", async () => {
      const res = await s.request("GET", ORGS);
      await problemOf(res, 401);
      expect(res.headers.get("www-authenticate") ?? "").toStartWith("Bearer");
    });

    test("given no token and an invalid body, when posting to a protected route, then 401 (not 422: the schema is not revealed)", async () => {
      const res = await s.json("POST", "/api/v1/organizations", { body: { bogus: 1 } });
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).not.toContain("bogus");
    });

    test("given a garbage token or a non-bearer scheme, when calling, then 401", async () => {
      await problemOf(await s.request("GET", ORGS, { token: "not-a-jwt" }), 401);
      await problemOf(await s.request("GET", ORGS, { token: "a.b.c" }), 401);
      await problemOf(await s.request("GET", ORGS, { headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } }), 401);
      await problemOf(await s.request("GET", ORGS, { headers: { authorization: `Token ${token}` } }), 401);
    });

    test("given a token signed with another secret, when calling, then 401", async () => {
      const forged = await mint({ sub: superAdminId, org: "00000000-0000-7000-8000-000000000001" }, randomBytes(32).toString("base64url"));
      await problemOf(await s.request("GET", ORGS, { token: forged }), 401);
    });

    test("given an unsigned token (alg: none), when calling, then 401", async () => {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        sub: superAdminId,
        org: "00000000-0000-7000-8000-000000000001",
        sid: Bun.randomUUIDv7(),
        typ: "access",
        iss: ISSUER,
        aud: AUDIENCE,
        jti: Bun.randomUUIDv7(),
        iat: now,
        exp: now + 600,
      };
      await problemOf(await s.request("GET", ORGS, { token: `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.` }), 401);
      await problemOf(await s.request("GET", ORGS, { token: `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}` }), 401);
    });

    test("given an expired token signed with the service's own secret, when calling, then 401", async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await mint({ sub: superAdminId, org: "00000000-0000-7000-8000-000000000001" }, s.deps.config.jwtSecret, { iat: now - 7200, exp: now - 3600 });
      const body = await problemOf(await s.request("GET", ORGS, { token: expired }), 401);
      expect(body.detail.toLowerCase()).toContain("expired");
    });

    test("given a validly signed token for a user that does not exist, when calling, then 401", async () => {
      const orgs = await s.json("GET", `${ORGS}?size=1`, { token });
      const created =
        orgs.body.organizations[0] ?? (await s.json("POST", ORGS, { token, body: { name: `Ghost Host ${uniq()}` } })).body;
      const ghost = await mint({ sub: Bun.randomUUIDv7(), org: created.id }, s.deps.config.jwtSecret);
      await problemOf(await s.request("GET", ORGS, { token: ghost }), 401);
      await problemOf(await s.request("GET", `${ORGS}/my/info`, { token: ghost }), 401);
    });

    test("given a valid token in the query string, when calling even with a valid header, then 401", async () => {
      for (const key of ["access_token", "token", "api_key"]) {
        const res = await s.request("GET", `${ORGS}?${key}=${encodeURIComponent(token)}`, { token });
        const body = await problemOf(res, 401);
        expect(body.detail.toLowerCase()).toContain("query");
      }
      await problemOf(await s.request("GET", `${ORGS}/my/info?access_token=${encodeURIComponent(token)}`, { token }), 401);
    });

    test("given an ordinary organization member, when calling super-admin routes, then 403; its own organization answers 200", async () => {
      const org = (await s.json("POST", ORGS, { token, body: { name: `Member Org ${uniq()}`, slug: uniq("member-") } })).body;
      const member = await registerMember(s, org);
      const forbidden: Array<[string, string, unknown?]> = [
        ["GET", ORGS],
        ["POST", ORGS, { name: `Nope ${uniq()}` }],
        ["GET", `${ORGS}/${org.id}`],
        ["PUT", `${ORGS}/${org.id}`, { name: "Hijacked" }],
        ["DELETE", `${ORGS}/${org.id}`],
      ];
      for (const [method, path, body] of forbidden) {
        await problemOf(await s.request(method, path, { token: member.token, body }), 403);
      }
      const mine = await s.json("GET", `${ORGS}/my/info`, { token: member.token });
      expect(mine.status).toBe(200);
      expect(mine.body.id).toBe(org.id);
      expect(mine.body.name).toBe(org.name);
      const still = await s.json("GET", `${ORGS}/${org.id}`, { token });
      expect(still.body.name).toBe(org.name);
    });
  });

  describe("request ids and logs", () => {
    test("given requests of every outcome, when answered, then each carries an x-request-id", async () => {
      const responses = [
        await s.request("GET", "/health"),
        await s.request("GET", "/no-such-route"),
        await s.request("GET", ORGS),
        await s.request("GET", `${ORGS}?is_active=maybe`, { token }),
        await s.request("POST", ORGS, { token, rawBody: "{", headers: { "content-type": "application/json" } }),
        await s.app.handle(
          new Request(`http://localhost${ORGS}`, {
            method: "POST",
            headers: { "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) },
            body: OVERSIZED_JSON,
          }),
        ),
      ];
      const ids = responses.map((r) => r.headers.get("x-request-id"));
      for (const id of ids) expect(id ?? "").toMatch(/^[A-Za-z0-9._-]{8,128}$/);
      expect(new Set(ids).size).toBe(ids.length);
      for (const r of responses) {
        const text = await r.text();
        if (r.status >= 400) {
          errorBodies.push(text);
          // The problem body quotes the same id the header carries.
          expect(JSON.parse(text).request_id).toBe(r.headers.get("x-request-id"));
        }
      }
    });

    test("given a valid incoming x-request-id, when answered, then it is echoed and logged", async () => {
      const id = `test-${uniq()}`;
      const res = await s.request("GET", "/api/v1/health", { headers: { "x-request-id": id } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe(id);
      await eventually(() => expect(s.logLines.some((l) => l.includes(id))).toBe(true));
      const line = JSON.parse(s.logLines.find((l) => l.includes(id))!);
      expect(line).toMatchObject({ request_id: id, method: "GET", path: "/api/v1/health", status: 200 });
    });

    test("given an error response, when logged, then the log line carries its request id and real status", async () => {
      for (const [path, status, init] of [
        ["/no-such-route", 404, {}],
        [ORGS, 401, {}],
      ] as const) {
        const id = `err-${uniq()}`;
        const res = await s.request("GET", path, { ...init, headers: { "x-request-id": id } });
        expect(res.status).toBe(status);
        expect(res.headers.get("x-request-id")).toBe(id);
        errorBodies.push(await res.text());
        await eventually(() => expect(s.logLines.some((l) => l.includes(id))).toBe(true));
        expect(JSON.parse(s.logLines.find((l) => l.includes(id))!)).toMatchObject({ request_id: id, status });
      }
    });

    test("given an invalid incoming x-request-id, when answered, then a fresh one replaces it", async () => {
      for (const bad of ["short", "has spaces in it", "x".repeat(200), "inject\"quote'chars"]) {
        const res = await s.request("GET", "/health", { headers: { "x-request-id": bad } });
        const id = res.headers.get("x-request-id");
        expect(id).not.toBe(bad);
        expect(id ?? "").toMatch(/^[A-Za-z0-9._-]{8,128}$/);
      }
    });
  });

  describe("the /api alias", () => {
    test("given the same request under /api and /api/v1, when answered, then status and body match", async () => {
      for (const path of ["/organizations/my/info", "/organizations?page=1&size=5", `/organizations/${Bun.randomUUIDv7()}`, "/organizations/not-a-uuid"]) {
        const v1 = await s.json("GET", `/api/v1${path}`, { token });
        const alias = await s.json("GET", `/api${path}`, { token });
        expect(alias.status).toBe(v1.status);
        const { request_id: _a, ...aliasBody } = alias.body;
        const { request_id: _b, ...v1Body } = v1.body;
        expect(aliasBody).toEqual(v1Body);
      }
      const health = await s.json("GET", "/api/health");
      expect(health.status).toBe(200);
      expect(health.body.status).toBe("healthy");
    });

    test("given a write under /api, when it succeeds, then /api/v1 sees it", async () => {
      const created = await s.json("POST", "/api/organizations", { token, body: { name: `Alias Org ${uniq()}` } });
      expect(created.status).toBe(201);
      const seen = await s.json("GET", `/api/v1/organizations/${created.body.id}`, { token });
      expect(seen.status).toBe(200);
      expect(seen.body).toEqual(created.body);
    });
  });

  describe("system endpoints", () => {
    test("given a running service, when GET health on every path, then healthy with version, environment and checks", async () => {
      for (const path of ["/health", "/api/v1/health", "/api/health"]) {
        const res = await s.json("GET", path);
        expect(res.status).toBe(200);
        expect(res.body.status).toBe("healthy");
        expect(res.body.version).toBe(s.deps.config.version);
        expect(typeof res.body.environment).toBe("string");
        expect(res.body.environment.length).toBeGreaterThan(0);
        expect(res.body.checks.event_store.status).toBe("ok");
        expect(res.body.checks.read_database.status).toBe("ok");
        expect(res.body.checks.projections.status).toBe("ok");
        expect(typeof res.body.checks.projections.lag_events).toBe("number");
        expect(res.headers.get("content-type") ?? "").toStartWith("application/json");
      }
    });

    test("given a running service, when GET /, then name, version and links", async () => {
      const res = await s.json("GET", "/");
      expect(res.status).toBe(200);
      expect(res.body.name).toBe("Ledgerline");
      expect(res.body.version).toBe(s.deps.config.version);
      expect(res.body.links).toMatchObject({ docs: "/docs", openapi: "/openapi.json" });
      for (const link of Object.values(res.body.links) as string[]) {
        const target = await s.request("GET", link);
        expect({ link, status: target.status }).toEqual({ link, status: 200 });
        await target.arrayBuffer();
      }
    });

    test("given the OpenAPI document, when read, then /api/v1/organizations paths are listed and no /api alias path", async () => {
      const res = await s.json("GET", "/openapi.json");
      expect(res.status).toBe(200);
      const paths = Object.keys(res.body.paths);
      expect(paths.some((p) => p.startsWith("/api/v1/organizations"))).toBe(true);
      expect(paths.some((p) => p.startsWith("/api/v1/organizations/{id}"))).toBe(true);
      expect(paths.filter((p) => p.startsWith("/api/organizations"))).toEqual([]);
      expect(paths.filter((p) => /^\/api(\/(?!v1(\/|$))|$)/.test(p))).toEqual([]);
    });

    test("given the docs page, when read, then it is HTML whose assets are same-origin and answer 200", async () => {
      const res = await s.request("GET", "/docs");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type") ?? "").toStartWith("text/html");
      const html = await res.text();
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      expect(assets.length).toBeGreaterThanOrEqual(2);
      expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
      for (const asset of assets) {
        expect(asset).toMatch(/^\/(?!\/)/);
        const a = await s.request("GET", asset);
        const body = await a.arrayBuffer();
        expect({ asset, status: a.status }).toEqual({ asset, status: 200 });
        expect(body.byteLength).toBeGreaterThan(0);
      }
    });

    test("given earlier requests, when GET /metrics, then Prometheus text with request, duration, event and lag series", async () => {
      const id = `metrics-${uniq()}`;
      expect((await s.request("GET", "/api/v1/health", { headers: { "x-request-id": id } })).status).toBe(200);
      expect((await s.request("GET", ORGS)).status).toBe(401);
      // Requests are counted after the response is sent: wait for this one's log line.
      await eventually(() => expect(s.logLines.some((l) => l.includes(id))).toBe(true));
      const text = await eventually(async () => {
        const res = await s.request("GET", "/metrics");
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type") ?? "").toStartWith("text/plain");
        const body = await res.text();
        expect(body).toMatch(/^ledgerline_http_requests_total\{[^}]*route="\/api\/v1\/organizations\/?"[^}]*status="401"[^}]*\} \d+$/m);
        return body;
      });
      expect(text).toMatch(/^# TYPE ledgerline_http_requests_total counter$/m);
      expect(text).toMatch(/^ledgerline_http_requests_total\{method="GET",route="\/api\/v1\/health",status="200"\} \d+$/m);
      expect(text).toMatch(/^ledgerline_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/health"[^}]*le="\+Inf"\} \d+$/m);
      expect(text).toMatch(/^ledgerline_events_appended_total(\{[^}]*\})? \d+$/m);
      expect(text).toMatch(/^ledgerline_projection_lag_events\{projection="organizations"\} \d+$/m);
      // The projector has applied at least the bootstrap's events, in at least one transaction.
      expect(Number(/^ledgerline_projector_batches_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
      expect(Number(/^ledgerline_projector_events_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(Number(/^ledgerline_projector_batches_total (\d+)$/m.exec(text)?.[1]));
      // No request was ever mislabelled as an internal error.
      expect(text).not.toMatch(/^ledgerline_http_requests_total\{[^}]*status="500"[^}]*\}/m);
    });
  });

  describe("internal errors", () => {
    test("given a store failure carrying SQL and a stack, when a request hits it, then 500 problem+json reveals neither", async () => {
      const created = await s.json("POST", ORGS, { token, body: { name: `Fragile ${uniq()}` } });
      expect(created.status).toBe(201);
      const original = s.deps.store.readStream;
      s.deps.store.readStream = async () => {
        const err = new Error('Failed query: SELECT * FROM events WHERE stream_id = $1 -- postgres://postgres:hunter2@db/ledgerline');
        err.stack = `${err.message}\n    at readStream (/work/main/src/eventstore/postgres.ts:1:1)`;
        throw err;
      };
      let res: Response;
      try {
        res = await s.request("PUT", `${ORGS}/${created.body.id}`, { token, body: { description: "boom" } });
      } finally {
        s.deps.store.readStream = original;
      }
      const body = await problemOf(res, 500);
      expect(body.request_id).toBe(res.headers.get("x-request-id"));
      // The operator can still find it: the log line holds the detail, keyed by the request id.
      expect(s.logLines.some((l) => l.includes(body.request_id) && l.includes("unhandled error"))).toBe(true);
    });

    test("given every error body seen in this suite, then none holds a stack frame, SQL or a connection string", () => {
      expect(errorBodies.length).toBeGreaterThan(20);
      for (const text of errorBodies) {
        expect(text).not.toMatch(/\bat .+:\d+:\d+/);
        expect(text).not.toMatch(/\n\s+at /);
        expect(text).not.toMatch(/\bSELECT\b/i);
        expect(text).not.toMatch(/\bFROM events\b/i);
        expect(text.toLowerCase()).not.toContain("postgres");
        expect(text).not.toContain("hunter2");
      }
    });
  });
});
