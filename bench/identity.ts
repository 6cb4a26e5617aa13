/**
 * Identity hot paths over real HTTP, against a service in its own process
 * (bench/serve-app.ts) on PostgreSQL and on PGlite:
 *
 * 1. Logins/s (POST /api/v1/auth/login, LOGIN_CONCURRENCY workers over several
 *    registered users) next to raw argon2id verifications/s (Bun.password.verify, the
 *    service's ARGON2 parameters, same concurrency) in this process, alternating rounds.
 *    Goal: login >= 0.8x raw (a login is one verification plus bookkeeping).
 * 2. Refreshes/s (POST /api/v1/auth/refresh), REFRESH_CONCURRENCY workers, each rotating
 *    its own session's refresh token in a chain. Goal: >= 1,000/s on PostgreSQL.
 * 3. Authenticated GET /api/v1/users/me requests/s next to a bare Bun.serve hello world,
 *    both driven by bench/loadgen.ts in a separate process with the same settings
 *    (HTTP_CONNECTIONS keep-alive connections, warm-up, then a fixed window; the two
 *    targets alternate ABBA). Goal: /users/me >= 0.5x hello world; every response 200.
 *
 * The service runs with its default LOG_LEVEL (info, unless LOG_LEVEL is set for the
 * run): one JSON line per request on stdout, which goes to a temporary file here.
 *
 * CPU per operation is reported next to the rates (service process, its PostgreSQL
 * backends, this process; from /proc): on a small shared machine the rates move with
 * the load, the CPU cost per operation much less.
 *
 * Environment: BENCH_QUICK, BENCH_BACKENDS as for every module; BENCH_IDENTITY_PARTS=
 * login,refresh,http (default all), BENCH_IDENTITY_LOGINS, BENCH_IDENTITY_REFRESHES,
 * BENCH_LOGIN_CONCURRENCY (4), BENCH_LOGIN_WARMUP (300 untimed logins and verifications first),
 * BENCH_REFRESH_CONCURRENCY (8), BENCH_HTTP_CONNECTIONS (32).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ARGON2, hashPassword, verifyPassword } from "../src/auth/passwords";
import {
  combineRuns,
  cpuSeconds,
  cpuSecondsOf,
  databaseBackendPids,
  runLoadgen,
  runningServers,
  startServer,
  threadSchedule,
  threadsCpuSeconds,
  type HttpFigures,
  type LoadRun,
  type Server,
} from "./http-bench";
import type { Cell, ModuleResult, Row, Section } from "./report";
import { BENCH_USER } from "./serve-app";
import {
  BACKENDS,
  fmtInt,
  fmtMs,
  fmtRatio,
  log,
  Progress,
  QUICK,
  runInterleaved,
  size,
  type Backend,
  type Phase,
  type PoolResult,
} from "./support";

export const LOGIN_CONCURRENCY = Number(process.env.BENCH_LOGIN_CONCURRENCY ?? 4);
export const REFRESH_CONCURRENCY = Number(process.env.BENCH_REFRESH_CONCURRENCY ?? 8);
export const HTTP_CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);
const LOGIN_USERS = QUICK ? 8 : 16;
const LOGINS = Number(process.env.BENCH_IDENTITY_LOGINS ?? size(800));
const REFRESHES = Number(process.env.BENCH_IDENTITY_REFRESHES ?? size(10_000));
/** BENCH_IDENTITY_PARTS=login,refresh,http (default all three). */
const PARTS = new Set((process.env.BENCH_IDENTITY_PARTS ?? "login,refresh,http").split(",").map((p) => p.trim()));
/** Many short rounds: the cost of one argon2id verification drifts by a fifth within minutes here. */
const LOGIN_ROUNDS = QUICK ? 4 : 8;
/** Untimed logins (and raw verifications) before the measured rounds. */
const LOGIN_WARMUP = Number(process.env.BENCH_LOGIN_WARMUP ?? (QUICK ? 60 : 300));
/** /users/me and hello world: ABBA slices of SLICE_S seconds, each after WARMUP_S. */
const HTTP_SLICES = QUICK ? 1 : 2;
const SLICE_S = QUICK ? 3 : 5;
const WARMUP_S = QUICK ? 1 : 2;

const LOGIN_RATIO_TARGET = 0.8;
const REFRESH_TARGET_POSTGRES = 1_000;
const HTTP_RATIO_TARGET = 0.5;


const CORES = availableParallelism();
const load1 = () => Math.round(loadavg()[0] * 100) / 100;

// ---------------------------------------------------------------- CPU accounting for phases 1-2

/** CPU used per phase, attributed slice by slice (runInterleaved's `between` runs before each). */
interface PhaseCpu {
  /** The service process (all threads; with PGlite the database runs in it too). */
  server: number;
  /** Of which its main thread: JavaScript (and PGlite). */
  serverMain: number;
  /** Of which Bun's thread pool: the argon2id verifications. (The rest: JIT, GC and allocator threads.) */
  serverPool: number;
  /** PostgreSQL backends serving the bench database (0 with PGlite). */
  database: number;
  /** This process: the HTTP client, or the argon2id verifications of the raw phase. */
  self: number;
  /** The service's projector transactions and the events in them (from its /metrics). */
  batches: number;
  batchEvents: number;
}

/** The service's projector counters (ledgerline_projector_*_total) from its /metrics. */
async function projectorCounters(metricsUrl: string): Promise<{ batches: number; batchEvents: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string) => Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1] ?? 0);
  return { batches: read("ledgerline_projector_batches_total"), batchEvents: read("ledgerline_projector_events_total") };
}

class CpuAccounting {
  readonly totals: PhaseCpu[];
  private order: number[] = [];
  private current = -1;
  private last: PhaseCpu | null = null;
  private dbPids: number[] = [];

  constructor(
    phases: Phase[],
    rounds: number,
    private readonly serverPid: number,
    private readonly database: string | null,
    private readonly metricsUrl: string,
  ) {
    this.totals = phases.map(() => ({ server: 0, serverMain: 0, serverPool: 0, database: 0, self: 0, batches: 0, batchEvents: 0 }));
    // The slice order of runInterleaved.
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < phases.length; k++) {
        const index = (k + r) % phases.length;
        const from = Math.floor((phases[index].ops * r) / rounds);
        const to = Math.floor((phases[index].ops * (r + 1)) / rounds);
        if (to > from) this.order.push(index);
      }
    }
  }

  private async sample(): Promise<PhaseCpu> {
    const self = process.cpuUsage();
    return {
      server: await cpuSeconds(this.serverPid),
      serverMain: (await threadSchedule(this.serverPid)).runS,
      serverPool: await threadsCpuSeconds(this.serverPid, "Bun Pool"),
      database: await cpuSecondsOf(this.dbPids),
      self: (self.user + self.system) / 1e6,
      ...(await projectorCounters(this.metricsUrl)),
    };
  }

  private async close(): Promise<void> {
    if (this.current < 0 || !this.last) return;
    const now = await this.sample();
    const t = this.totals[this.current];
    t.server += now.server - this.last.server;
    t.serverMain += now.serverMain - this.last.serverMain;
    t.serverPool += now.serverPool - this.last.serverPool;
    t.batches += now.batches - this.last.batches;
    t.batchEvents += now.batchEvents - this.last.batchEvents;
    t.database += now.database - this.last.database;
    t.self += now.self - this.last.self;
  }

  /** Pass as runInterleaved's `between`. */
  readonly between = async (): Promise<void> => {
    await this.close();
    // The service's pool may have opened connections since; backends are per connection.
    if (this.database) this.dbPids = await databaseBackendPids(this.database);
    this.current = this.order.shift() ?? -1;
    this.last = await this.sample();
  };

  async finish(): Promise<PhaseCpu[]> {
    await this.close();
    this.current = -1;
    return this.totals;
  }
}

/** One loadgen run against `url` with this module's connections and warm-up. */
function loadgen(url: string, headers: Record<string, string>, serverPid: number, seconds: number): Promise<LoadRun> {
  return runLoadgen({ url, headers, serverPid, seconds, connections: HTTP_CONNECTIONS, warmupS: WARMUP_S });
}

// ---------------------------------------------------------------- HTTP client for phases 1-2

interface Tokens {
  access_token: string;
  refresh_token: string;
}

async function postJson(url: string, body: unknown, expect: number): Promise<Tokens> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`POST ${new URL(url).pathname}: ${res.status} (expected ${expect}): ${text.slice(0, 300)}`);
  return JSON.parse(text) as Tokens;
}

const loginUser = (i: number) => ({ email: `login-${i}@bench-identity.test`, password: `Bench-Login-${i}-Passw0rd!` });

// ---------------------------------------------------------------- one backend

interface BackendFigures {
  users: number;
  logins?: { login: PoolResult; raw: PoolResult; loginCpu: PhaseCpu; rawCpu: PhaseCpu };
  refreshes?: { refresh: PoolResult; refreshCpu: PhaseCpu };
  http?: { hello: HttpFigures; me: HttpFigures };
  logLevel: string;
  logLines: number;
  logBytes: number;
  load: Record<string, number>;
}

async function benchBackend(backend: Backend, hello: Server, workdir: string): Promise<BackendFigures> {
  const tag = `[${backend}]`;
  log(`\n[identity] ${backend}: service in its own process (bench/serve-app.ts)`);
  const app = await startServer(["--mode", "app", "--backend", backend], join(workdir, `serve-app-${backend}.log`), backend);
  const load: Record<string, number> = { start: load1() };
  let stopped: { logLines: number; logBytes: number } | undefined;
  try {
    const api = `${app.base}/api/v1`;

    // ---- users: registered through the API (each costs an argon2id hash), then raw hashes
    // of the same passwords for the verification baseline.
    const reg = new Progress(`${tag} registering users via POST /auth/register`, LOGIN_USERS, "users");
    let registered = 0;
    let nextUser = 0;
    await Promise.all(
      Array.from({ length: LOGIN_CONCURRENCY }, async () => {
        for (let i = nextUser++; i < LOGIN_USERS; i = nextUser++) {
          await postJson(`${api}/auth/register`, { ...loginUser(i), organization: BENCH_USER.organization }, 201);
          reg.update(++registered);
        }
      }),
    );
    reg.done(registered);
    const database = backend === "postgres" ? (app.ready.database ?? null) : null;
    const figures: Pick<BackendFigures, "logins" | "refreshes" | "http"> = {};

    // ---- 1. login vs raw verification, same concurrency, alternating rounds.
    if (PARTS.has("login")) {
    const hashes: string[] = [];
    for (let i = 0; i < LOGIN_USERS; i++) hashes.push(await hashPassword(loginUser(i).password));
    const loginPhases: Phase[] = [
      {
        label: `${tag} POST /auth/login (C=${LOGIN_CONCURRENCY}, ${LOGIN_USERS} users)`,
        ops: LOGINS,
        concurrency: LOGIN_CONCURRENCY,
        unitsPerOp: 1,
        unit: "logins",
        op: async (i) => {
          const t = await postJson(`${api}/auth/login`, loginUser(i % LOGIN_USERS), 200);
          if (!t.access_token) throw new Error("login answered without an access token");
        },
      },
      {
        label: `${tag} raw argon2id verify (C=${LOGIN_CONCURRENCY})`,
        ops: LOGINS,
        concurrency: LOGIN_CONCURRENCY,
        unitsPerOp: 1,
        unit: "verifies",
        op: async (i) => {
          if (!(await verifyPassword(loginUser(i % LOGIN_USERS).password, hashes[i % LOGIN_USERS]))) throw new Error("raw verify returned false");
        },
      },
    ];
    // Warm-up, untimed: a fresh service is still compiling (JSC tiers up PGlite's WASM
    // Postgres for seconds), which would be measured as login cost, not steady state.
    for (const phase of loginPhases) {
      const warm = new Progress(`${tag} warm-up: ${phase.label}`, LOGIN_WARMUP, phase.unit);
      let next = 0;
      let done = 0;
      await Promise.all(
        Array.from({ length: LOGIN_CONCURRENCY }, async (_, w) => {
          for (let i = next++; i < LOGIN_WARMUP; i = next++) {
            await phase.op(i, w);
            warm.update(++done);
          }
        }),
      );
      warm.done(done);
    }
    load.login = load1();
    const loginAccounting = new CpuAccounting(loginPhases, LOGIN_ROUNDS, app.pid, database, `${app.base}/metrics`);
    const [login, raw] = await runInterleaved(loginPhases, { rounds: LOGIN_ROUNDS, between: loginAccounting.between });
    const [loginCpu, rawCpu] = await loginAccounting.finish();
    figures.logins = { login, raw, loginCpu, rawCpu };
    }

    // ---- 2. refresh chains: each worker its own session, rotated on every call.
    if (PARTS.has("refresh")) {
    const chains: string[] = [];
    for (let w = 0; w < REFRESH_CONCURRENCY; w++) chains.push((await postJson(`${api}/auth/login`, loginUser(w % LOGIN_USERS), 200)).refresh_token);
    const refreshPhase: Phase = {
      label: `${tag} POST /auth/refresh (C=${REFRESH_CONCURRENCY}, one chain per worker)`,
      ops: REFRESHES,
      concurrency: REFRESH_CONCURRENCY,
      unitsPerOp: 1,
      unit: "refreshes",
      op: async (_i, w) => {
        const t = await postJson(`${api}/auth/refresh`, { refresh_token: chains[w] }, 200);
        chains[w] = t.refresh_token;
      },
    };
    for (let k = 0; k < 5; k++) await Promise.all(chains.map((_, w) => refreshPhase.op(0, w)));
    load.refresh = load1();
    const refreshAccounting = new CpuAccounting([refreshPhase], 1, app.pid, database, `${app.base}/metrics`);
    const [refresh] = await runInterleaved([refreshPhase], { rounds: 1, between: refreshAccounting.between });
    const [refreshCpu] = await refreshAccounting.finish();
    figures.refreshes = { refresh, refreshCpu };
    }

    // ---- 3. GET /users/me vs hello world, loadgen in its own process, ABBA.
    if (PARTS.has("http")) {
    const meUrl = `${api}/users/me`;
    const auth = { authorization: `Bearer ${app.ready.access_token}` };
    const check = await fetch(meUrl, { headers: auth });
    if (check.status !== 200) throw new Error(`GET /users/me answered ${check.status}: ${(await check.text()).slice(0, 300)}`);
    await check.arrayBuffer().catch(() => {});
    load.http = load1();
    const helloRuns: LoadRun[] = [];
    const meRuns: LoadRun[] = [];
    const targets = [
      { name: "hello world", run: () => loadgen(`${hello.base}/`, {}, hello.pid, SLICE_S), into: helloRuns },
      { name: "GET /users/me", run: () => loadgen(meUrl, auth, app.pid, SLICE_S), into: meRuns },
    ];
    for (let s = 0; s < HTTP_SLICES; s++) {
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(k + s) % targets.length];
        const r = await t.run();
        t.into.push(r);
        log(
          `  ${tag} ${t.name} (slice ${s + 1}/${HTTP_SLICES}, ${HTTP_CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${SLICE_S} s): ` +
            `${fmtInt(r.rps)} req/s, p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)}, errors ${r.errors}` +
            `${r.firstError ? ` (first: ${r.firstError.slice(0, 120)})` : ""}, server ${r.serverCores.toFixed(2)} cores, loadgen ${(r.clientCpuS / r.durationS).toFixed(2)} cores`,
        );
      }
    }
    figures.http = { hello: combineRuns(helloRuns), me: combineRuns(meRuns) };
    }
    load.end = load1();
    const result = { users: LOGIN_USERS, ...figures, logLevel: app.ready.log_level ?? "?", load };
    stopped = await app.stop();
    log(`  ${tag} service wrote ${fmtInt(stopped.logLines)} log lines (${(stopped.logBytes / 2 ** 20).toFixed(1)} MiB) at LOG_LEVEL=${result.logLevel}`);
    return { ...result, ...stopped };
  } finally {
    if (!stopped) await app.stop().catch(() => {});
  }
}

// ---------------------------------------------------------------- cells

function rateCell(r: PoolResult, unit: string): Cell {
  return {
    value: r.perSecond,
    text: `${fmtInt(r.perSecond)} ${unit}/s (p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)})${r.capped ? " [time-capped]" : ""}`,
    detail: { ...r },
  };
}

function httpCell(f: HttpFigures): Cell {
  return {
    value: f.rps,
    text: `${fmtInt(f.rps)} req/s (p50 ${fmtMs(f.p50)}, p99 ${fmtMs(f.p99)})`,
    detail: { ...f },
  };
}

export async function benchIdentity(): Promise<ModuleResult> {
  const started = performance.now();
  const workdir = await mkdtemp(join(tmpdir(), "ledgerline-bench-identity-"));
  const figures: Partial<Record<Backend, BackendFigures>> = {};
  log(
    `[identity] logins ${fmtInt(LOGINS)} + raw verifies ${fmtInt(LOGINS)} (C=${LOGIN_CONCURRENCY}), refreshes ${fmtInt(REFRESHES)} (C=${REFRESH_CONCURRENCY}), ` +
      `HTTP ${HTTP_SLICES * SLICE_S} s per target (${HTTP_CONNECTIONS} connections); argon2id m=${ARGON2.memoryCost} t=${ARGON2.timeCost}`,
  );
  const hello = await startServer(["--mode", "hello"], join(workdir, "serve-hello.log"), "hello");
  try {
    for (const backend of BACKENDS) figures[backend] = await benchBackend(backend, hello, workdir);
  } finally {
    await hello.stop().catch(() => {});
    for (const s of [...runningServers]) await s.stop().catch(() => {});
    await rm(workdir, { recursive: true, force: true });
  }

  /** A row whose cells come from one part's figures (absent when that part did not run). */
  function rowOf<G>(group: (f: BackendFigures) => G | undefined, key: string, label: string, pick: (g: G, b: Backend) => Cell, extra: Partial<Row> = {}): Row {
    const cells: Row["cells"] = {};
    for (const b of BACKENDS) {
      const g = figures[b] && group(figures[b]!);
      if (g) cells[b] = pick(g, b);
    }
    return { key, label, cells, ...extra };
  }
  const any = Object.values(figures)[0];
  const logLevel = any?.logLevel ?? "info";
  const ms = (seconds: number, ops: number) => (ops > 0 ? (seconds / ops) * 1000 : NaN);
  const L = (f: BackendFigures) => f.logins;
  const R = (f: BackendFigures) => f.refreshes;
  const H = (f: BackendFigures) => f.http;

  const logins: Section = {
    title: `Login vs raw argon2id (m=${ARGON2.memoryCost}, t=${ARGON2.timeCost}), C=${LOGIN_CONCURRENCY} on both sides, ${LOGIN_USERS} users, ${fmtInt(LOGINS)} each`,
    rows: [
      rowOf(L, "login.http", "POST /api/v1/auth/login (HTTP, separate process)", (g) => rateCell(g.login, "logins")),
      rowOf(L, "login.raw", "raw Bun.password.verify (this process)", (g) => rateCell(g.raw, "verifies")),
      rowOf(
        L,
        "login.cpu",
        "CPU per login (service [main thread, argon2 pool, other threads] + postgres + client); per raw verify",
        (g) => {
          const c = g.loginCpu;
          const n = g.login.ops;
          const login = ms(c.server + c.database + c.self, n);
          const raw = ms(g.rawCpu.self, g.raw.ops);
          return {
            value: login,
            text:
              `${fmtMs(login)} (${fmtMs(ms(c.server, n))} [main ${fmtMs(ms(c.serverMain, n))}, argon2 pool ${fmtMs(ms(c.serverPool, n))}, other ${fmtMs(ms(c.server - c.serverMain - c.serverPool, n))}]` +
              ` + ${fmtMs(ms(c.database, n))} + ${fmtMs(ms(c.self, n))}); ${fmtMs(raw)}`,
            detail: { loginCpu: c, rawCpu: g.rawCpu, loginCpuMsPerOp: login, rawCpuMsPerOp: raw },
          };
        },
        { derived: true },
      ),
      rowOf(
        L,
        "login.batches",
        "projector transactions per login (events per transaction)",
        (g) => {
          const c = g.loginCpu;
          const value = c.batches / g.login.ops;
          return { value, text: `${value.toFixed(2)} (${(c.batchEvents / Math.max(1, c.batches)).toFixed(1)})`, detail: { batches: c.batches, events: c.batchEvents } };
        },
        { derived: true },
      ),
      rowOf(
        L,
        "login.ratio",
        "ratio login/raw",
        (g) => {
          const value = g.login.perSecond / g.raw.perSecond;
          // Round r of the logins against round r of the raw verifications (adjacent in
          // time): how much the machine's own drift moves the ratio.
          const rounds = (g.login.sliceRates ?? []).map((rate, r) => rate / (g.raw.sliceRates?.[r] ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
          const spread = rounds.length > 1 ? ` (rounds: median ${fmtRatio(rounds[Math.floor(rounds.length / 2)])}, ${fmtRatio(rounds[0])} to ${fmtRatio(rounds[rounds.length - 1])})` : "";
          return { value, text: `${fmtRatio(value)}${spread}`, pass: value >= LOGIN_RATIO_TARGET, detail: { rounds } };
        },
        { derived: true, target: `>= ${LOGIN_RATIO_TARGET}x raw` },
      ),
    ],
  };
  const refreshes: Section = {
    title: `Refresh token rotation, C=${REFRESH_CONCURRENCY}, each worker its own session chain (${fmtInt(REFRESHES)} calls, up to ~${fmtInt(REFRESHES / REFRESH_CONCURRENCY)} rotations per session)`,
    rows: [
      rowOf(
        R,
        "refresh.http",
        "POST /api/v1/auth/refresh (HTTP, separate process)",
        (g, b) => ({ ...rateCell(g.refresh, "refreshes"), ...(b === "postgres" ? { pass: g.refresh.perSecond >= REFRESH_TARGET_POSTGRES } : {}) }),
        { target: `>= ${fmtInt(REFRESH_TARGET_POSTGRES)}/s (postgres)` },
      ),
      rowOf(
        R,
        "refresh.cpu",
        "CPU per refresh (service + postgres + client)",
        (g) => {
          const c = g.refreshCpu;
          const n = g.refresh.ops;
          const total = ms(c.server + c.database + c.self, n);
          return {
            value: total,
            text: `${fmtMs(total)} (${fmtMs(ms(c.server, n))} + ${fmtMs(ms(c.database, n))} + ${fmtMs(ms(c.self, n))}) -> CPU-bound ceiling ${fmtInt((CORES * 1000) / total)}/s on ${CORES} idle cores`,
            detail: { ...c, msPerOp: total },
          };
        },
        { derived: true },
      ),
    ],
  };
  const http: Section = {
    title: `Authenticated read vs bare Bun.serve: loadgen process, ${HTTP_CONNECTIONS} keep-alive connections, ${HTTP_SLICES}x(${WARMUP_S} s warm-up + ${SLICE_S} s) per target${HTTP_SLICES > 1 ? ", ABBA" : ""}`,
    rows: [
      rowOf(H, "http.hello", "GET / on bare Bun.serve (hello world)", (g) => httpCell(g.hello)),
      rowOf(H, "http.me", `GET /api/v1/users/me (Bearer JWT, LOG_LEVEL=${logLevel})`, (g) => httpCell(g.me)),
      rowOf(
        H,
        "http.ratio",
        "ratio /users/me / hello world",
        (g) => {
          const value = g.me.rps / g.hello.rps;
          return { value, text: fmtRatio(value), pass: value >= HTTP_RATIO_TARGET };
        },
        { derived: true, target: `>= ${HTTP_RATIO_TARGET}x hello` },
      ),
      rowOf(
        H,
        "http.me.errors",
        "non-200 responses (/users/me; hello)",
        (g) => ({
          value: g.me.errors,
          text: `${fmtInt(g.me.errors)} of ${fmtInt(g.me.requests)}; ${fmtInt(g.hello.errors)} of ${fmtInt(g.hello.requests)}`,
          pass: g.me.errors === 0 && g.hello.errors === 0,
          detail: { me: g.me.statuses, hello: g.hello.statuses, firstError: g.me.firstError ?? g.hello.firstError },
        }),
        { derived: true, target: "0" },
      ),
      rowOf(
        H,
        "http.cpu",
        "server CPU per request (/users/me; hello)",
        (g) => ({
          value: g.me.serverUsPerRequest,
          text: `${fmtInt(g.me.serverUsPerRequest)} us; ${fmtInt(g.hello.serverUsPerRequest)} us (server ${g.me.serverCores.toFixed(2)}/${g.hello.serverCores.toFixed(2)} cores, loadgen ${g.me.clientCores.toFixed(2)}/${g.hello.clientCores.toFixed(2)})`,
          detail: { meServerCores: g.me.serverCores, helloServerCores: g.hello.serverCores, meClientCores: g.me.clientCores, helloClientCores: g.hello.clientCores },
        }),
        { derived: true },
      ),
    ],
  };

  const notes = [
    `identity: the service runs in its own process (bench/serve-app.ts: migrate, buildDeps, projector, security state, bootstrap, createApp().listen on 127.0.0.1); logins and refreshes are sent by this process with fetch, /users/me and hello world by bench/loadgen.ts in a third process. All three share the machine's cores.`,
    `identity: LOG_LEVEL=${logLevel} (the service default is info: one JSON access-log line per request on stdout, written to a temporary file here); ` +
      Object.entries(figures)
        .map(([b, f]) => `${b}: ${fmtInt(f!.logLines)} lines, ${(f!.logBytes / 2 ** 20).toFixed(1)} MiB`)
        .join("; ") +
      ".",
    `identity: load average (1 min) at each phase start: ` +
      Object.entries(figures)
        .map(([b, f]) => `${b} ${Object.entries(f!.load).map(([k, v]) => `${k} ${v}`).join(", ")}`)
        .join("; ") +
      ".",
    `identity: CPU per login/refresh = CPU of the service process (all threads) + the PostgreSQL backends serving the bench database (pids from pg_stat_activity, /proc) + this process, over the measured slices only; the ceiling is cores / CPU per operation, what an otherwise idle machine could reach.`,
    `identity: server CPU per request = server process CPU (all threads, /proc) over the steady part of the window / req/s; the loadgen itself needs about one core, so on a 2-core machine the hello world figure is bounded by the client as much as by the server.`,
  ];
  const sections = [PARTS.has("login") && logins, PARTS.has("refresh") && refreshes, PARTS.has("http") && http].filter((x): x is Section => Boolean(x));
  return { module: "identity", sections, notes, seconds: (performance.now() - started) / 1000 };
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  const result = await benchIdentity();
  console.log(renderTable([result], {}));
  for (const n of result.notes) console.log(`note: ${n}`);
}
