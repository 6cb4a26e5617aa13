/**
 * A server for the HTTP benchmarks, in its own process:
 *
 *   bun bench/serve-app.ts --mode app --backend postgres|pglite [--port 0] [--watch-stdin] [--access-routes]
 *   bun bench/serve-app.ts --mode hello [--port 0] [--watch-stdin]
 *
 * `app` starts the real service the way src/main.ts does (migrate, buildDeps, projector,
 * security state, bootstrap, createApp(deps).listen) on a fresh bench_ database
 * (PostgreSQL, via bench/support.ts) or an in-memory PGlite, registers one user through
 * POST /api/v1/auth/register, and prints one JSON line on stdout:
 *
 *   {"ready":true,"mode":"app","port":...,"access_token":"...","refresh_token":"...",...}
 *
 * `--access-routes` (bench/access.ts) adds two routes with one and the same handler (the
 * caller's own user, as GET /users/me answers it), differing only in what they require:
 * GET /bench/read-authenticated (`auth: true`) and GET /bench/read-permission
 * (`auth: { permission: "user.read" }`). Without the flag the app is exactly createApp's.
 *
 * `hello` serves a bare Bun.serve({ fetch: () => new Response("hello") }) for the
 * baseline and prints {"ready":true,"mode":"hello","port":...}.
 *
 * Both listen on 127.0.0.1 only and serve until SIGTERM/SIGINT (or, with --watch-stdin,
 * until stdin closes: the parent went away), then drop the bench database.
 *
 * The service logs as configured: LOG_LEVEL from the environment, default info, i.e.
 * one JSON line per request on stdout. Redirect stdout to a file or /dev/null; the
 * ready line is the first line that starts with {"ready":true.
 */
import { randomBytes } from "node:crypto";
import { loadConfig } from "../src/config";
import { buildDeps } from "../src/wiring";
import { createApp } from "../src/app";
import { bootstrap } from "../src/handlers/bootstrap";
import { MAX_BODY_BYTES } from "../src/http/errors";
import { Elysia } from "elysia";
import type { Deps } from "../src/deps";
import { authPlugin } from "../src/http/auth";
import { currentUserJson } from "../src/http/presenters";
import { requestContext } from "../src/http/request-context";
import { freshDatabase, log, type Backend } from "./support";

export const BENCH_USER = { email: "me@bench-identity.test", password: "Bench-Identity-Password-7f3a!", organization: "bench-identity" };

export interface ReadyLine {
  ready: true;
  mode: "app" | "hello";
  pid: number;
  port: number;
  backend?: Backend;
  database?: string;
  log_level?: string;
  access_token?: string;
  refresh_token?: string;
  user_id?: string;
  email?: string;
  organization?: string;
}

function parseArgs(argv: string[]) {
  const opts = { mode: "app" as "app" | "hello", backend: "pglite" as Backend, port: 0, watchStdin: false, accessRoutes: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i] ?? "";
    if (arg === "--mode") opts.mode = next() as "app" | "hello";
    else if (arg === "--backend") opts.backend = next() as Backend;
    else if (arg === "--port") opts.port = Number(next());
    else if (arg === "--watch-stdin") opts.watchStdin = true;
    else if (arg === "--access-routes") opts.accessRoutes = true;
    else throw new Error(`serve-app: unknown argument ${arg}`);
  }
  if (!["app", "hello"].includes(opts.mode)) throw new Error(`serve-app: --mode app|hello`);
  if (!["postgres", "pglite"].includes(opts.backend)) throw new Error(`serve-app: --backend postgres|pglite`);
  return opts;
}

function ready(line: ReadyLine): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

let ownSignalHandlers: Array<() => void> = [];

/**
 * freshDatabase hooks SIGINT/SIGTERM to drop the database and exit at once; here the
 * service is stopped first and then the database dropped, so only our handlers stay.
 */
function keepOnlyOwnSignalHandlers(): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    for (const l of process.listeners(sig)) if (!ownSignalHandlers.includes(l as () => void)) process.removeListener(sig, l as () => void);
  }
}

/** Runs `stop` once on SIGTERM/SIGINT or (optionally) when stdin closes, then exits. */
function stopOn(watchStdin: boolean, stop: () => Promise<void>): void {
  let stopping = false;
  const once = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`  [serve-app ${process.pid}] stopping (${why})`);
    const forced = setTimeout(() => process.exit(1), 15_000);
    try {
      await stop();
    } catch (err) {
      log(`  [serve-app ${process.pid}] stop failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    clearTimeout(forced);
    process.exit(0);
  };
  const onTerm = () => void once("SIGTERM");
  const onInt = () => void once("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  ownSignalHandlers = [onTerm, onInt];
  if (watchStdin) {
    void (async () => {
      try {
        for await (const _ of Bun.stdin.stream()) {
          /* the parent never writes; EOF means it is gone */
        }
      } catch {
        /* closed */
      }
      await once("stdin closed");
    })();
  }
}

async function serveHello(port: number, watchStdin: boolean): Promise<void> {
  const server = Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("hello") });
  stopOn(watchStdin, async () => {
    server.stop(true);
  });
  ready({ ready: true, mode: "hello", pid: process.pid, port: server.port! });
}

/** The permission the second bench route requires; the bench user (an organization admin) holds it. */
export const BENCH_PERMISSION = "user.read";

/** One read handler under two requirements: the difference between them is the permission check alone. */
function accessBenchRoutes(deps: Deps) {
  const read = ({ principal }: { principal: { userId: string } }) => currentUserJson(deps, principal.userId);
  return new Elysia({ prefix: "/bench" })
    .use(requestContext)
    .use(authPlugin(deps))
    .get("/read-authenticated", read, { auth: true })
    .get("/read-permission", read, { auth: { permission: BENCH_PERMISSION } });
}

async function serveApp(backend: Backend, port: number, watchStdin: boolean, accessRoutes = false): Promise<void> {
  // Stop handlers first: an interrupted start still drops its database.
  let bench: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let stopService: () => Promise<void> = async () => {
    await bench?.drop();
  };
  stopOn(watchStdin, () => stopService());

  bench = await freshDatabase(backend, { maxConnections: 20 });
  keepOnlyOwnSignalHandlers();
  const db = bench;
  const env: Record<string, string | undefined> = {
    // Secrets given explicitly: nothing is written to DATA_DIR in PGlite mode either.
    DATA_DIR: "/nonexistent-ledgerline-bench",
    JWT_SECRET: randomBytes(32).toString("base64url"),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    SUPER_ADMIN_EMAIL: "root@bench-identity.test",
    SUPER_ADMIN_PASSWORD: randomBytes(18).toString("base64url"),
    LOG_LEVEL: process.env.LOG_LEVEL,
    DEMO: "0",
  };
  // The database is already open (ours, fresh); databaseUrl only informs the mode.
  const config = { ...loadConfig(env), databaseUrl: backend === "postgres" ? "postgres://bench" : undefined };
  const deps = await buildDeps(config, db.db);
  deps.projector.start();
  await deps.security.start();
  await bootstrap(deps);
  const base = createApp(deps);
  // use() registers on the same instance: the routes join the app with its global hooks.
  if (accessRoutes) base.use(accessBenchRoutes(deps));
  const app = base.listen({ port, hostname: "127.0.0.1", maxRequestBodySize: MAX_BODY_BYTES * 2 });
  stopService = async () => {
    await app.stop();
    await deps.projector.stop();
    await deps.security.stop();
    await deps.store.close();
    await db.drop();
  };
  const actualPort = app.server!.port!;

  const res = await fetch(`http://127.0.0.1:${actualPort}/api/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(BENCH_USER),
  });
  const body = (await res.json()) as { access_token?: string; refresh_token?: string; id?: string; user?: { id: string } };
  if (res.status !== 201 || !body.access_token) throw new Error(`serve-app: registering the bench user failed: ${res.status} ${JSON.stringify(body)}`);

  ready({
    ready: true,
    mode: "app",
    pid: process.pid,
    port: actualPort,
    backend,
    database: db.name,
    log_level: config.logLevel,
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    user_id: body.user?.id ?? body.id,
    email: BENCH_USER.email,
    organization: BENCH_USER.organization,
  });
}

if (import.meta.main) {
  const opts = parseArgs(process.argv.slice(2));
  try {
    if (opts.mode === "hello") await serveHello(opts.port, opts.watchStdin);
    else await serveApp(opts.backend, opts.port, opts.watchStdin, opts.accessRoutes);
  } catch (err) {
    log(`  [serve-app] failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    // SIGTERM ourselves: the stop handler closes what was opened and drops the database.
    process.kill(process.pid, "SIGTERM");
  }
}
