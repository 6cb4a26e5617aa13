/**
 * The real service for API tests: a fresh migrated database (PGlite or Postgres), the
 * real event store, projector and app; requests go through app.handle().
 */
import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../src/config";
import { buildDeps } from "../../src/wiring";
import { createApp, type App } from "../../src/app";
import { bootstrap } from "../../src/handlers/bootstrap";
import type { Deps } from "../../src/deps";
import { Logger } from "../../src/logger";
import { freshPglite, freshPostgres, type TestDatabase } from "./databases";

export const SUPER_ADMIN = { email: "root@ledgerline.test", password: "Root-Password-123!" };

export interface TestService {
  kind: "pglite" | "postgres";
  app: App;
  deps: Deps;
  database: TestDatabase;
  /** Log lines written by the service (JSON), for tests that scan them. */
  logLines: string[];
  request(method: string, path: string, init?: { body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string }): Promise<Response>;
  json<T = any>(method: string, path: string, init?: { body?: unknown; token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: T; headers: Headers }>;
  superAdminToken(): Promise<string>;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  const base = loadConfig({
    DATA_DIR: "/nonexistent-ledgerline-test",
    DATABASE_URL: "postgres://unused@127.0.0.1/unused",
    JWT_SECRET: randomBytes(32).toString("base64url"),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    SUPER_ADMIN_EMAIL: SUPER_ADMIN.email,
    SUPER_ADMIN_PASSWORD: SUPER_ADMIN.password,
    LOG_LEVEL: "debug",
    DEMO: "0",
  });
  return { ...base, databaseUrl: undefined, ...overrides };
}

export async function startService(kind: "pglite" | "postgres" = "pglite", overrides: Partial<Config> = {}): Promise<TestService> {
  const database = kind === "postgres" ? await freshPostgres() : await freshPglite();
  const config = testConfig({ ...overrides, databaseUrl: database.url });
  const logLines: string[] = [];
  const deps = await buildDeps(config, database.db, { logger: new Logger("debug", (l) => logLines.push(l)) });
  deps.projector.start();
  await deps.security.start();
  await bootstrap(deps);
  const app = createApp(deps);
  let adminToken: string | undefined;

  const request: TestService["request"] = (method, path, init = {}) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined = init.rawBody;
    if (init.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(init.body);
    }
    return app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
  };

  const service: TestService = {
    kind,
    app,
    deps,
    database,
    logLines,
    request,
    async json(method, path, init) {
      const res = await request(method, path, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    },
    async superAdminToken() {
      if (!adminToken) {
        const res = await service.json("POST", "/api/v1/auth/login", { body: SUPER_ADMIN });
        if (res.status !== 200) throw new Error(`super admin login failed: ${res.status} ${JSON.stringify(res.body)}`);
        adminToken = res.body.access_token as string;
      }
      return adminToken;
    },
    async close() {
      await deps.apiKeyUsage.stop();
      await deps.accessDenied.stop();
      await deps.connections.closeAll();
      await deps.projector.stop();
      await deps.security.stop();
      await deps.store.close();
      await database.drop();
    },
  };
  return service;
}

/** PGlite always; Postgres too when DATABASE_URL is set. */
export function serviceKinds(): Array<"pglite" | "postgres"> {
  return process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
}
