/**
 * The real process: `bun src/main.ts` spawned with a minimal environment, exactly as an
 * operator would start it. Embedded mode always; server mode (Postgres) when the test
 * run has DATABASE_URL. Every spawned process is killed in afterAll, whatever happened.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import postgres from "postgres";

const REPO_ROOT = join(import.meta.dir, "..", "..");
const DEFAULT_ADMIN_EMAIL = "admin@ledgerline.local";
const PASSWORD_LINE = /Password \(shown once\): (\S+)/g;
const START_BOUND_MS = 60_000;
const EXIT_BOUND_MS = 30_000;

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  url: string;
  out: { stdout: string; stderr: string };
  /** Resolves when both pipes are drained (the process closed them). */
  drained: Promise<void>;
}

const spawned: Running[] = [];
const tempDirs: string[] = [];

afterAll(async () => {
  for (const r of spawned) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill("SIGKILL");
  }
  await Promise.all(spawned.map((r) => r.proc.exited.catch(() => {})));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ll-boot-"));
  tempDirs.push(dir);
  return dir;
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

async function drain(stream: ReadableStream<Uint8Array>, sink: { stdout: string; stderr: string }, key: "stdout" | "stderr") {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink[key] += decoder.decode(chunk, { stream: true });
  sink[key] += decoder.decode();
}

/** Starts `bun src/main.ts` with only PATH, HOME, LOG_LEVEL, PORT, DATA_DIR and `extra`. */
function start(dataDir: string, extra: Record<string, string> = {}, port = freePort()): Running {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? tmpdir(),
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: "info",
    ...extra,
  };
  const proc = Bun.spawn([process.execPath, "src/main.ts"], { cwd: REPO_ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const out = { stdout: "", stderr: "" };
  const drained = Promise.all([drain(proc.stdout as ReadableStream<Uint8Array>, out, "stdout"), drain(proc.stderr as ReadableStream<Uint8Array>, out, "stderr")]).then(() => {});
  const running: Running = { proc, port, url: `http://127.0.0.1:${port}`, out, drained };
  spawned.push(running);
  return running;
}

function describeOutput(r: Running): string {
  return `exit=${r.proc.exitCode} signal=${r.proc.signalCode}\n--- stdout ---\n${r.out.stdout.slice(-4000)}\n--- stderr ---\n${r.out.stderr.slice(-4000)}`;
}

/** Polls /health until it answers 200 "healthy" (bounded); fails early if the process exits. */
async function waitHealthy(r: Running): Promise<any> {
  const deadline = Date.now() + START_BOUND_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (r.proc.exitCode !== null || r.proc.signalCode !== null) {
      await r.drained;
      throw new Error(`the process exited before serving /health\n${describeOutput(r)}`);
    }
    try {
      const res = await fetch(`${r.url}/health`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      last = `${res.status} ${text}`;
      if (res.status === 200) {
        const body = JSON.parse(text);
        if (body.status === "healthy") return body;
      }
    } catch (err) {
      last = String(err);
    }
    await Bun.sleep(200);
  }
  throw new Error(`/health did not become healthy within ${START_BOUND_MS} ms (last: ${last})\n${describeOutput(r)}`);
}

/** Waits (bounded) for the process to exit; returns its exit code. */
async function exitOf(r: Running): Promise<number | null> {
  const code = await Promise.race([r.proc.exited, Bun.sleep(EXIT_BOUND_MS).then(() => "still running" as const)]);
  if (code === "still running") {
    r.proc.kill("SIGKILL");
    await r.proc.exited;
    throw new Error(`the process did not exit within ${EXIT_BOUND_MS} ms\n${describeOutput(r)}`);
  }
  await r.drained;
  return r.proc.exitCode;
}

async function stop(r: Running): Promise<number | null> {
  r.proc.kill("SIGTERM");
  return exitOf(r);
}

async function api(r: Running, method: string, path: string, init: { body?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${r.url}${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

async function login(r: Running, email: string, password: string) {
  return api(r, "POST", "/api/v1/auth/login", { body: { email, password } });
}

async function tokenFor(r: Running, email: string, password: string): Promise<string> {
  const res = await login(r, email, password);
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
  expect(typeof res.body.access_token).toBe("string");
  return res.body.access_token;
}

function printedPasswords(stdout: string): string[] {
  return [...stdout.matchAll(PASSWORD_LINE)].map((m) => m[1]);
}

function nonEmptyLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

function deadPid(): number {
  for (let pid = 999_999; pid > 1000; pid--) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return pid;
    }
  }
  throw new Error("no free pid found");
}

describe("given a fresh DATA_DIR and no configuration (embedded mode)", () => {
  const dataDir = tempDataDir();
  const state: { first?: Running; password?: string; demoPassword?: string; token?: string; org?: { id: string; slug: string } } = {};

  test("when started, then /health answers 200 healthy on PGlite and the generated password is printed exactly once", async () => {
    state.first = start(dataDir);
    const health = await waitHealthy(state.first);
    expect(health.checks.read_database).toMatchObject({ status: "ok", kind: "pglite" });
    expect(health.checks.event_store).toMatchObject({ status: "ok", adapter: "pglite" });
    expect(health.checks.projections.leader).toBe(true);
    // The banner is written in the same tick as listen(): it is there once /health answers.
    const passwords = printedPasswords(state.first.out.stdout);
    expect(passwords).toHaveLength(1);
    expect(passwords[0].length).toBeGreaterThanOrEqual(16);
    expect(state.first.out.stdout).toContain(`Super admin created: ${DEFAULT_ADMIN_EMAIL}`);
    // Never through the logger: no JSON log line carries it. Log lines are written on the
    // next event-loop turn and reach us through a pipe, so wait (bounded) for the first.
    const jsonLines = () => nonEmptyLines(state.first!.out.stdout).filter((l) => l.startsWith("{"));
    for (let i = 0; i < 100 && jsonLines().length === 0; i++) await Bun.sleep(50);
    const logLines = jsonLines();
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(passwords[0]))).toEqual([]);
    state.password = passwords[0];
  });

  test("when logging in as admin@ledgerline.local with the printed password, then a token is issued; a wrong password is refused", async () => {
    const r = state.first!;
    state.token = await tokenFor(r, DEFAULT_ADMIN_EMAIL, state.password!);
    const wrong = await login(r, DEFAULT_ADMIN_EMAIL, `${state.password}x`);
    expect(wrong.status).toBe(401);
  });

  test("when logging in to the demo organization with the printed demo admin password, then the admin of 'demo' gets a token", async () => {
    const r = state.first!;
    const demo = /Demo admin password \(shown once\): (\S+)/.exec(r.out.stdout);
    expect(demo).not.toBeNull();
    expect(r.out.stdout).toContain('Demo organization "demo" created; its admin: admin@demo.ledgerline.local');
    const res = await api(r, "POST", "/api/v1/auth/login", { body: { email: "admin@demo.ledgerline.local", password: demo![1], organization: "demo" } });
    expect({ status: res.status, role: res.body?.user?.role }).toEqual({ status: 200, role: "admin" });
    state.demoPassword = demo![1];

    // The sample sales database is registered and granted: the first question has an answer.
    const token = res.body.access_token;
    const sources = await api(r, "GET", "/api/v1/datasources", { token });
    expect(sources.status).toBe(200);
    const sales = sources.body.data_sources.find((d: { type: string }) => d.type === "embedded-demo");
    expect(sales?.name).toBe("Sales demo");
    const answer = await api(r, "POST", "/api/v1/query", { token, body: { question: "How many customers are there?", data_source_id: sales.id } });
    expect(answer.status).toBe(200);
    expect(answer.body.row_count).toBe(1);
    expect(Number(Object.values(answer.body.rows[0])[0])).toBeGreaterThan(0);
  }, 120_000);

  test("when an organization is created through the API, then it is listed", async () => {
    const r = state.first!;
    const slug = `boot-${Date.now().toString(36)}`;
    const created = await api(r, "POST", "/api/v1/organizations", { token: state.token, body: { name: `Boot ${slug}`, slug } });
    expect({ status: created.status, body: created.body }).toMatchObject({ status: 201, body: { slug } });
    state.org = { id: created.body.id, slug };
    const listed = await api(r, "GET", "/api/v1/organizations?size=100", { token: state.token });
    expect(listed.status).toBe(200);
    expect(listed.body.organizations.map((o: { id: string }) => o.id)).toContain(state.org.id);
  });

  test("then DATA_DIR holds jwt-secret and data-encryption-key with mode 0600, and a lock with the process's pid", () => {
    for (const file of ["jwt-secret", "data-encryption-key"]) {
      const path = join(dataDir, file);
      expect(existsSync(path)).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(dataDir, "ledgerline.lock"), "utf8").trim()).toBe(String(state.first!.proc.pid));
  });

  test("when a second process starts on the same DATA_DIR, then it exits non-zero with one stderr line naming DATA_DIR and 'in use', and the first keeps serving", async () => {
    const second = start(dataDir);
    const code = await exitOf(second);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = nonEmptyLines(second.out.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("DATA_DIR");
    expect(lines[0]).toContain("in use");
    expect(lines[0]).toContain(dataDir);
    expect(printedPasswords(second.out.stdout)).toEqual([]);
    const res = await fetch(`${state.first!.url}/health`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("healthy");
    // The refused process must not have taken the lock away.
    expect(readFileSync(join(dataDir, "ledgerline.lock"), "utf8").trim()).toBe(String(state.first!.proc.pid));
  });

  test("when sent SIGTERM, then it exits with code 0 and releases the DATA_DIR lock", async () => {
    const code = await stop(state.first!);
    expect({ code, stderr: state.first!.out.stderr }).toEqual({ code: 0, stderr: "" });
    expect(existsSync(join(dataDir, "ledgerline.lock"))).toBe(false);
  });

  test("when started again on the same DATA_DIR, then the organization is still there, the same password logs in, and no password is printed", async () => {
    const again = start(dataDir);
    await waitHealthy(again);
    expect(printedPasswords(again.out.stdout)).toEqual([]);
    expect(again.out.stdout).not.toContain(state.password!);
    expect(again.out.stdout).not.toContain("Super admin created");
    expect(again.out.stdout).not.toContain("Demo admin password");
    expect(again.out.stdout).not.toContain(state.demoPassword!);
    const token = await tokenFor(again, DEFAULT_ADMIN_EMAIL, state.password!);
    // The old token still verifies too: the generated JWT secret was reused.
    const withOldToken = await api(again, "GET", `/api/v1/organizations/${state.org!.id}`, { token: state.token });
    expect({ status: withOldToken.status, slug: withOldToken.body?.slug }).toEqual({ status: 200, slug: state.org!.slug });
    const listed = await api(again, "GET", "/api/v1/organizations?size=100", { token });
    expect(listed.status).toBe(200);
    expect(listed.body.organizations.map((o: { slug: string }) => o.slug)).toContain(state.org!.slug);
    expect(await stop(again)).toBe(0);
  });
});

describe("given a bad configuration", () => {
  test("when started with PORT=abc, then it exits with code 2 and one stderr line naming PORT", async () => {
    const dataDir = tempDataDir();
    const r = start(dataDir, { PORT: "abc" });
    const code = await exitOf(r);
    expect(code).toBe(2);
    const lines = nonEmptyLines(r.out.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("PORT");
    expect(lines[0]).toContain("abc");
    expect(r.out.stdout).toBe("");
  });

  test("when started with DATA_DIR below a regular file, then it exits with code 2 and one stderr line naming DATA_DIR", async () => {
    const parent = tempDataDir();
    writeFileSync(join(parent, "file"), "x");
    const r = start(join(parent, "file", "data"));
    const code = await exitOf(r);
    expect(code).toBe(2);
    const lines = nonEmptyLines(r.out.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("DATA_DIR");
  });

  test("when DATABASE_URL points at a port where nothing listens, then it exits non-zero with one stderr line naming DATABASE_URL and not its password", async () => {
    const r = start(tempDataDir(), {
      DATABASE_URL: "postgres://app:pw-not-to-print@127.0.0.1:1/ledgerline",
      JWT_SECRET: randomBytes(32).toString("base64url"),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    });
    const code = await exitOf(r);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = nonEmptyLines(r.out.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("DATABASE_URL");
    expect(lines[0]).toContain("127.0.0.1:1/ledgerline");
    expect(r.out.stderr + r.out.stdout).not.toContain("pw-not-to-print");
  });
});

describe("given a DATA_DIR with a lock file left by a dead process", () => {
  test("when started, then it takes the lock over and serves", async () => {
    const dataDir = tempDataDir();
    const pid = deadPid();
    writeFileSync(join(dataDir, "ledgerline.lock"), String(pid));
    const r = start(dataDir);
    await waitHealthy(r);
    expect(readFileSync(join(dataDir, "ledgerline.lock"), "utf8").trim()).toBe(String(r.proc.pid));
    expect(await stop(r)).toBe(0);
  });
});

describe("given SUPER_ADMIN_PASSWORD and SUPER_ADMIN_EMAIL", () => {
  test("when started, then no password is printed and that password logs in", async () => {
    const password = `Chosen-${randomBytes(6).toString("hex")}`;
    const email = "ops@example.test";
    const r = start(tempDataDir(), { SUPER_ADMIN_PASSWORD: password, SUPER_ADMIN_EMAIL: email });
    await waitHealthy(r);
    expect(printedPasswords(r.out.stdout)).toEqual([]);
    expect(r.out.stdout).not.toContain(password);
    await tokenFor(r, email, password);
    // The default address was not created alongside.
    expect((await login(r, DEFAULT_ADMIN_EMAIL, password)).status).toBe(401);
    expect(await stop(r)).toBe(0);
    expect(r.out.stdout).not.toContain(password);
  });
});

const serverUrl = process.env.DATABASE_URL;

describe.if(Boolean(serverUrl))("given DATABASE_URL pointing at a fresh, empty Postgres database (server mode)", () => {
  const name = `ll_boot_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const env = {
    DATABASE_URL: "",
    JWT_SECRET: randomBytes(32).toString("base64url"),
    DATA_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    SUPER_ADMIN_PASSWORD: `Server-${randomBytes(6).toString("hex")}`,
  };
  test("when two processes start on it at the same time, then both serve, on Postgres, with exactly one projector leader, and each reads what the other wrote", async () => {
    const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    try {
      await twoProcessesOn(name);
    } finally {
      for (const r of spawned) {
        if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill("SIGKILL");
      }
      await Promise.all(spawned.map((r) => r.proc.exited.catch(() => {})));
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
    }
  });

  async function twoProcessesOn(name: string) {
    const url = new URL(serverUrl!);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();

    // Both migrate and bootstrap concurrently on the empty database.
    const a = start(tempDataDir(), env);
    const b = start(tempDataDir(), env);
    const [ha, hb] = await Promise.all([waitHealthy(a), waitHealthy(b)]);
    for (const h of [ha, hb]) {
      expect(h.checks.read_database).toMatchObject({ status: "ok", kind: "postgres" });
      expect(h.checks.event_store).toMatchObject({ status: "ok", adapter: "postgres" });
    }
    // With SUPER_ADMIN_PASSWORD set nothing is printed by either.
    expect(printedPasswords(a.out.stdout + b.out.stdout)).toEqual([]);

    // Leadership is taken by whichever wins the advisory lock; poll (bounded) until one
    // reports it, and never accept two.
    let leaders: boolean[] = [];
    const deadline = Date.now() + START_BOUND_MS;
    while (Date.now() < deadline) {
      const both = await Promise.all([a, b].map((r) => fetch(`${r.url}/health`).then((res) => res.json() as Promise<any>)));
      leaders = both.map((h) => h.checks.projections.leader === true);
      expect(leaders.filter(Boolean).length).toBeLessThanOrEqual(1);
      if (leaders.some(Boolean)) break;
      await Bun.sleep(200);
    }
    expect(leaders.filter(Boolean)).toHaveLength(1);

    // The super admin exists once, whichever process bootstrapped it.
    const tokenA = await tokenFor(a, DEFAULT_ADMIN_EMAIL, env.SUPER_ADMIN_PASSWORD);
    const tokenB = await tokenFor(b, DEFAULT_ADMIN_EMAIL, env.SUPER_ADMIN_PASSWORD);
    expect(JSON.parse(atob(tokenA.split(".")[1])).sub).toBe(JSON.parse(atob(tokenB.split(".")[1])).sub);

    // Written through the follower or the leader alike, read through the other one.
    const [writer, reader] = leaders[0] ? [b, a] : [a, b];
    const slug = `srv-${Date.now().toString(36)}`;
    const org = await api(writer, "POST", "/api/v1/organizations", { token: tokenA, body: { name: `Server ${slug}`, slug } });
    expect({ status: org.status, body: org.body }).toMatchObject({ status: 201, body: { slug } });
    const read = await api(reader, "GET", `/api/v1/organizations/${org.body.id}`, { token: tokenB });
    expect({ status: read.status, body: read.body }).toMatchObject({ status: 200, body: { id: org.body.id, slug } });
    const back = await api(reader, "POST", "/api/v1/organizations", { token: tokenB, body: { name: `Back ${slug}`, slug: `${slug}-b` } });
    expect(back.status).toBe(201);
    const listed = await api(writer, "GET", "/api/v1/organizations?size=100", { token: tokenA });
    expect(listed.body.organizations.map((o: { slug: string }) => o.slug)).toEqual(expect.arrayContaining([slug, `${slug}-b`]));

    // The same slug through the other process is refused: one reservation stream for both.
    const dup = await api(reader, "POST", "/api/v1/organizations", { token: tokenB, body: { name: `Dup ${slug}`, slug } });
    expect(dup.status).toBe(409);

    expect(await stop(a)).toBe(0);
    expect(await stop(b)).toBe(0);
  }
});
