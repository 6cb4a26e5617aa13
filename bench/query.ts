/**
 * Governed SQL over HTTP next to the same SQL run directly (issue 6): how much a
 * POST /api/v1/query/sql costs on top of the database work it asks for.
 *
 * The service runs in its own process (bench/serve-app.ts) on PostgreSQL and on PGlite
 * (its own event store and read models); the data source is always the embedded demo
 * database (PGlite, the sample sales data). Set-up through the API, as an organization
 * admin would: register the `embedded-demo` data source, grant oneself access to it
 * (the admin role holds query.sql). Then, per query (a small join + aggregate, and a
 * point lookup), in rounds that rotate the order (A V B1 B2, V B1 B2 A, ...) with the same
 * concurrency:
 *
 *   A. POST /api/v1/query/sql {sql, data_source_id}, driven by bench/loadgen.ts in its
 *      own process: HTTP + authentication + permission + grant check + guard + the
 *      read-only executor + the QueryExecuted event append + waiting for the
 *      query-history projection (read-your-writes) + the JSON answer.
 *   V. POST /api/v1/query/validate {sql, data_source_id}, the same way: the same HTTP,
 *      authentication, grant check and guard, but no execution and no event. A's CPU
 *      per request minus V's minus the statement's (B2) is the event append, the
 *      projection and the read-your-writes wait.
 *   B. The same SQL on a demo database built in this process (same generator, same day):
 *      raw `PGlite.query`, and `DataSourceConnection.execute` (the executor path the
 *      service uses: plan preflight, BEGIN READ ONLY + SET LOCALs, cursor, row/byte caps,
 *      ROLLBACK), each with the same number of concurrent callers. PGlite runs one
 *      statement at a time, so concurrency mostly queues there.
 *
 * Reported: requests (queries)/s, the ratios A/B, p50/p99 latency, non-200 responses
 * (must be 0) and CPU per request from /proc (service process, its PostgreSQL backends,
 * and this process for the direct runs), and what the service's JavaScript thread did
 * during the windows (ran, waited for a CPU, idle; /proc schedstat): together they say
 * where the time goes, and whether a busy machine starved the service.
 *
 * Before anything is timed, each query's HTTP answer is checked against the direct
 * executor's rows: both sides must answer the same thing.
 *
 * Environment: BENCH_QUICK, BENCH_BACKENDS as for every module; BENCH_QUERY_CONNECTIONS
 * (concurrent requests/callers on both sides, default 8), BENCH_QUERY_ROUNDS (quick 1, full 2).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { buildDemoDatabase } from "../src/sql/demo";
import { pgliteConnection } from "../src/sql/connections";
import { loadGuard } from "../src/sql/guard";
import type { DataSourceConnection, ExecuteLimits } from "../src/sql/types";
import { DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_MS, MAX_RESULT_BYTES } from "../src/handlers/query";
import { combineRuns, databaseBackendPids, runLoadgen, runningServers, startServer, threadSchedule, type HttpFigures, type LoadRun, type Server } from "./http-bench";
import { bucketOf, histogramPercentile } from "./loadgen";
import type { Cell, ModuleResult, Row, Section } from "./report";
import { BACKENDS, fmtInt, fmtMs, fmtRatio, log, QUICK, type Backend } from "./support";

const CONNECTIONS = Number(process.env.BENCH_QUERY_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_QUERY_ROUNDS ?? (QUICK ? 1 : 2));
const SLICE_S = QUICK ? 2 : 2.5;
const WARMUP_S = QUICK ? 0.5 : 0.75;
const CORES = availableParallelism();
const load1 = () => Math.round(loadavg()[0] * 100) / 100;
/** The limits POST /query/sql applies when the request names none: the direct executor runs under the same. */
const LIMITS: ExecuteLimits = { timeoutMs: DEFAULT_TIMEOUT_MS, maxRows: DEFAULT_MAX_ROWS, maxBytes: MAX_RESULT_BYTES };

interface BenchQuery {
  key: string;
  title: string;
  sql: string;
}

const QUERIES: BenchQuery[] = [
  {
    key: "analytical",
    title: "small analytical query (join + group by over products)",
    sql: "SELECT c.name, count(*) AS n FROM categories c JOIN products p ON p.category_id = c.category_id GROUP BY c.name ORDER BY n DESC",
  },
  { key: "point", title: "point query (one customer by primary key)", sql: "SELECT * FROM customers WHERE customer_id = 42" },
];

type Target = "http" | "validate" | "raw" | "execute";
const TARGETS: Target[] = ["http", "validate", "raw", "execute"];
const TARGET_NAMES: Record<Target, string> = {
  http: "POST /api/v1/query/sql",
  validate: "POST /api/v1/query/validate",
  raw: "raw PGlite query",
  execute: "DataSourceConnection.execute",
};

// ---------------------------------------------------------------- direct runs in this process

/**
 * `connections` concurrent callers of `op` for warm-up + `seconds`; only calls that finish
 * inside the window count. Shaped as a loadgen run so the HTTP figures' code combines it;
 * its "server" is this process (CPU per query from process.cpuUsage over the window).
 */
async function runDirect(label: string, op: () => Promise<unknown>, connections: number, seconds: number, warmupS: number): Promise<LoadRun> {
  const started = performance.now();
  const windowStart = started + warmupS * 1000;
  const windowEnd = windowStart + seconds * 1000;
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let cpuAtWindow: NodeJS.CpuUsage | null = null;
  let scheduleAtWindow: Promise<{ runS: number; waitS: number }> | null = null;
  let windowOpenedAt = windowStart;
  const loop = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= windowEnd) return;
      if (cpuAtWindow === null && t0 >= windowStart) {
        cpuAtWindow = process.cpuUsage();
        scheduleAtWindow = threadSchedule(process.pid);
        windowOpenedAt = t0;
      }
      let error: string | null = null;
      try {
        await op();
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const t1 = performance.now();
      if (t1 < windowStart || t1 > windowEnd) continue;
      requests++;
      latencies.push(t1 - t0);
      if (error) {
        errors++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const cpu = process.cpuUsage(cpuAtWindow ?? undefined);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const schedule0 = (await scheduleAtWindow) ?? { runS: 0, waitS: 0 };
  const schedule1 = await threadSchedule(process.pid);
  const windowS = Math.max(0.001, (performance.now() - windowOpenedAt) / 1000);
  const histogram: Record<string, number> = {};
  for (const l of latencies) {
    const b = bucketOf(l);
    histogram[b] = (histogram[b] ?? 0) + 1;
  }
  return {
    url: label,
    method: "direct",
    connections,
    durationS: seconds,
    warmupS,
    requests,
    errors,
    statuses: errors ? { ok: requests - errors, error: errors } : { ok: requests },
    firstError,
    rps: requests / seconds,
    okRps: (requests - errors) / seconds,
    p50: histogramPercentile(histogram, 0.5),
    p99: histogramPercentile(histogram, 0.99),
    max: latencies.length ? Math.max(...latencies) : NaN,
    histogram,
    clientCpuS: cpuS,
    serverCores: cpuS / windowS,
    databaseCores: 0,
    mainRunning: (schedule1.runS - schedule0.runS) / windowS,
    mainWaiting: (schedule1.waitS - schedule0.waitS) / windowS,
  };
}

/** Microseconds per guard check of `sql` (median of a few batches): one of the steps A adds. */
async function guardMicros(sql: string): Promise<number> {
  const guard = await loadGuard();
  const calls = QUICK ? 200 : 1000;
  const batches: number[] = [];
  for (let b = 0; b < 5; b++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < calls; i++) guard.check(sql, { allowedTables: null });
    batches.push((Bun.nanoseconds() - t0) / calls / 1000);
  }
  return batches.sort((a, b) => a - b)[2];
}

// ---------------------------------------------------------------- set-up through the API

async function call(base: string, token: string, method: string, path: string, body: unknown, expect: number): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} (expected ${expect}): ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Registers the embedded demo data source and grants the bench user (an organization admin) access to it. */
async function setUpDataSource(app: Server): Promise<string> {
  const token = app.ready.access_token!;
  const userId = app.ready.user_id;
  if (!token || !userId) throw new Error("serve-app's ready line has no access token or user id");
  const ds = await call(app.base, token, "POST", "/api/v1/datasources", { name: "Bench sales demo", type: "embedded-demo" }, 201);
  await call(app.base, token, "POST", `/api/v1/users/${userId}/database-access`, { data_source_id: ds.id }, 201);
  return ds.id as string;
}

// ---------------------------------------------------------------- one backend

interface QueryFigures {
  http: HttpFigures;
  validate: HttpFigures;
  raw: HttpFigures;
  execute: HttpFigures;
  guardUs: number;
  rowCount: number;
}

interface BackendFigures {
  queries: Record<string, QueryFigures>;
  historyTotal: number;
  httpOk: number;
  logLines: number;
  /** 1-minute load average when the measurements started and ended. */
  load: { start: number; end: number };
}

async function benchBackend(backend: Backend, workdir: string, direct: { db: PGlite; connection: DataSourceConnection }): Promise<BackendFigures> {
  const tag = `[${backend}]`;
  log(`\n[query] ${backend}: service in its own process (bench/serve-app.ts), its event store on ${backend}; data source: embedded demo (PGlite)`);
  const app = await startServer(["--mode", "app", "--backend", backend], join(workdir, `serve-app-${backend}.log`), backend);
  let stopped = false;
  try {
    const token = app.ready.access_token!;
    const dataSourceId = await setUpDataSource(app);
    log(`  ${tag} embedded-demo data source ${dataSourceId} registered; the bench user granted access`);

    // The first query builds the service's demo database: done (and timed) before anything is measured.
    const checked: Record<string, { guardUs: number; rowCount: number }> = {};
    const runs: Record<string, Record<Target, LoadRun[]>> = {};
    for (const q of QUERIES) {
      const t0 = performance.now();
      const answer = await call(app.base, token, "POST", "/api/v1/query/sql", { sql: q.sql, data_source_id: dataSourceId }, 200);
      const ms = performance.now() - t0;
      const directResult = await direct.connection.execute(q.sql, LIMITS);
      const rawResult = await direct.db.query(q.sql);
      if (JSON.stringify(answer.rows) !== JSON.stringify(directResult.rows) || rawResult.rows.length !== directResult.rowCount || directResult.rowCount === 0) {
        throw new Error(
          `${q.key}: the HTTP answer (${answer.row_count} rows) differs from the direct run (execute ${directResult.rowCount} rows, raw ${rawResult.rows.length}): ` +
            `${JSON.stringify(answer.rows).slice(0, 200)} vs ${JSON.stringify(directResult.rows).slice(0, 200)}`,
        );
      }
      log(`  ${tag} ${q.key}: HTTP answer = direct answer (${directResult.rowCount} rows); first request ${fmtMs(ms)}${q === QUERIES[0] ? " (builds the service's demo database)" : ""}`);
      checked[q.key] = { guardUs: await guardMicros(q.sql), rowCount: directResult.rowCount };
      const verdict = await call(app.base, token, "POST", "/api/v1/query/validate", { sql: q.sql, data_source_id: dataSourceId }, 200);
      if (verdict.valid !== true) throw new Error(`${q.key}: POST /query/validate refused the benchmark SQL: ${JSON.stringify(verdict.errors)}`);
      runs[q.key] = { http: [], validate: [], raw: [], execute: [] };
    }

    const database = backend === "postgres" ? (app.ready.database ?? null) : null;
    const loadAtStart = load1();
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const overHttp = async (path: string, q: BenchQuery): Promise<LoadRun> =>
      runLoadgen({
        url: `${app.base}${path}`,
        method: "POST",
        body: JSON.stringify({ sql: q.sql, data_source_id: dataSourceId }),
        headers,
        connections: CONNECTIONS,
        seconds: SLICE_S,
        warmupS: WARMUP_S,
        serverPid: app.pid,
        // The service's pool may have opened connections since the last run.
        databasePids: database ? await databaseBackendPids(database) : [],
      });
    const runTarget = async (q: BenchQuery, target: Target): Promise<LoadRun> => {
      switch (target) {
        case "http":
          return overHttp("/api/v1/query/sql", q);
        case "validate":
          return overHttp("/api/v1/query/validate", q);
        case "raw":
          return runDirect(TARGET_NAMES.raw, () => direct.db.query(q.sql), CONNECTIONS, SLICE_S, WARMUP_S);
        case "execute":
          return runDirect(TARGET_NAMES.execute, () => direct.connection.execute(q.sql, LIMITS), CONNECTIONS, SLICE_S, WARMUP_S);
      }
    };

    for (let r = 0; r < ROUNDS; r++) {
      for (const q of QUERIES) {
        // Each round starts with a different target, so drift in machine load spreads over all three.
        for (let k = 0; k < TARGETS.length; k++) {
          const target = TARGETS[(k + r) % TARGETS.length];
          const run = await runTarget(q, target);
          runs[q.key][target].push(run);
          const thread = `main thread ran ${pct(run.mainRunning)}, waited for a CPU ${pct(run.mainWaiting)}`;
          const cpu =
            target === "http" || target === "validate"
              ? `service ${run.serverCores.toFixed(2)} cores (${thread})${database ? `, postgres ${run.databaseCores.toFixed(2)}` : ""}, loadgen ${(run.clientCpuS / run.durationS).toFixed(2)}`
              : `this process ${run.serverCores.toFixed(2)} cores (${thread})`;
          log(
            `  ${tag} ${q.key}: ${TARGET_NAMES[target]} (round ${r + 1}/${ROUNDS}, C=${CONNECTIONS}, ${WARMUP_S} s warm-up + ${SLICE_S} s): ` +
              `${fmtInt(run.rps)}/s, p50 ${fmtMs(run.p50)}, p99 ${fmtMs(run.p99)}, errors ${run.errors}${run.firstError ? ` (first: ${run.firstError.slice(0, 160)})` : ""}, ${cpu}`,
          );
        }
      }
    }
    const queries: Record<string, QueryFigures> = {};
    for (const q of QUERIES) {
      const r = runs[q.key];
      queries[q.key] = { ...checked[q.key], http: combineRuns(r.http), validate: combineRuns(r.validate), raw: combineRuns(r.raw), execute: combineRuns(r.execute) };
    }

    // Every request answered 200 appended a QueryExecuted event; the history projection must hold at least those.
    const history = await call(app.base, token, "GET", "/api/v1/query/history?limit=1", undefined, 200);
    const historyTotal = Number(history.total ?? history.pagination?.total ?? NaN);
    const httpOk = QUERIES.reduce((n, q) => n + queries[q.key].http.requests - queries[q.key].http.errors, 0);
    log(`  ${tag} query history holds ${fmtInt(historyTotal)} entries (>= ${fmtInt(httpOk)} answered 200 in the measured windows, plus warm-ups)`);
    const { logLines } = await app.stop();
    stopped = true;
    return { queries, historyTotal, httpOk, logLines, load: { start: loadAtStart, end: load1() } };
  } finally {
    if (!stopped) await app.stop().catch(() => {});
  }
}

// ---------------------------------------------------------------- cells

function rateCell(f: HttpFigures, unit: string): Cell {
  return {
    value: f.rps,
    text: `${fmtInt(f.rps)} ${unit}/s (p50 ${fmtMs(f.p50)}, p99 ${fmtMs(f.p99)})`,
    detail: { ...f },
  };
}

const us = (x: number) => `${fmtInt(x)} us`;
const pct = (x: number) => `${Math.round(x * 100)}%`;

export async function benchQuery(): Promise<ModuleResult> {
  const started = performance.now();
  log(
    `[query] ${QUERIES.length} queries x ${ROUNDS} round(s) x 3 targets x (${WARMUP_S} s warm-up + ${SLICE_S} s), C=${CONNECTIONS} on every target; ` +
      `building the direct demo database in this process...`,
  );
  const t0 = performance.now();
  // The same generator and day as the service's openDemoDatabase(): the same rows.
  const db = await buildDemoDatabase(new Date());
  const connection = pgliteConnection(db, { owned: false });
  log(`[query] direct demo database ready in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  const workdir = await mkdtemp(join(tmpdir(), "ledgerline-bench-query-"));
  const figures: Partial<Record<Backend, BackendFigures>> = {};
  try {
    for (const backend of BACKENDS) figures[backend] = await benchBackend(backend, workdir, { db, connection });
  } finally {
    for (const s of [...runningServers]) await s.stop().catch(() => {});
    await connection.close();
    await db.close();
    await rm(workdir, { recursive: true, force: true });
  }

  const row = (key: string, label: string, pick: (f: BackendFigures) => Cell, extra: Partial<Row> = {}): Row => {
    const cells: Row["cells"] = {};
    for (const b of BACKENDS) if (figures[b]) cells[b] = pick(figures[b]!);
    return { key, label, cells, ...extra };
  };

  const sections: Section[] = QUERIES.map((q) => {
    const Q = (f: BackendFigures) => f.queries[q.key];
    return {
      title: `SQL over HTTP vs direct, ${q.title}: C=${CONNECTIONS} on every target, ${ROUNDS}x(${WARMUP_S} s + ${SLICE_S} s) each, rotating order`,
      rows: [
        row(`query.${q.key}.http`, `A  ${TARGET_NAMES.http} (loadgen process)`, (f) => rateCell(Q(f).http, "req")),
        row(`query.${q.key}.validate`, `V  ${TARGET_NAMES.validate} (same checks, no execution, no event)`, (f) => rateCell(Q(f).validate, "req")),
        row(`query.${q.key}.raw`, `B1 ${TARGET_NAMES.raw} (this process)`, (f) => rateCell(Q(f).raw, "queries")),
        row(`query.${q.key}.execute`, `B2 ${TARGET_NAMES.execute} (this process)`, (f) => rateCell(Q(f).execute, "queries")),
        row(
          `query.${q.key}.ratio`,
          "ratio A/B1; A/B2",
          (f) => {
            const g = Q(f);
            const value = g.http.rps / g.execute.rps;
            return { value, text: `${fmtRatio(g.http.rps / g.raw.rps)}; ${fmtRatio(value)}`, detail: { overRaw: g.http.rps / g.raw.rps, overExecute: value } };
          },
          { derived: true },
        ),
        row(
          `query.${q.key}.per`,
          "time per request at the bottleneck: A; B1; B2",
          (f) => {
            const g = Q(f);
            const per = (rps: number) => 1000 / rps;
            return {
              value: per(g.http.rps),
              text: `${fmtMs(per(g.http.rps))}; ${fmtMs(per(g.raw.rps))}; ${fmtMs(per(g.execute.rps))} (A adds ${fmtMs(per(g.http.rps) - per(g.execute.rps))} over B2)`,
            };
          },
          { derived: true },
        ),
        row(
          `query.${q.key}.cpu`,
          "CPU per request: A service + postgres; V service + postgres; B2; guard",
          (f) => {
            const g = Q(f);
            return {
              value: g.http.serverUsPerRequest,
              text: `${us(g.http.serverUsPerRequest)} + ${us(g.http.databaseUsPerRequest)}; ${us(g.validate.serverUsPerRequest)} + ${us(g.validate.databaseUsPerRequest)}; ${us(g.execute.serverUsPerRequest)}; ${us(g.guardUs)}`,
              detail: {
                serverUs: g.http.serverUsPerRequest,
                databaseUs: g.http.databaseUsPerRequest,
                validateServerUs: g.validate.serverUsPerRequest,
                validateDatabaseUs: g.validate.databaseUsPerRequest,
                executeUs: g.execute.serverUsPerRequest,
                rawUs: g.raw.serverUsPerRequest,
                guardUs: g.guardUs,
                serverCores: g.http.serverCores,
                databaseCores: g.http.databaseCores,
                loadgenCores: g.http.clientCores,
              },
            };
          },
          { derived: true },
        ),
        row(
          `query.${q.key}.thread`,
          "service main thread during A: ran; waited for a CPU; idle",
          (f) => {
            const g = Q(f).http;
            return {
              value: g.mainRunning,
              text: `${pct(g.mainRunning)}; ${pct(g.mainWaiting)}; ${pct(Math.max(0, 1 - g.mainRunning - g.mainWaiting))}`,
              detail: { running: g.mainRunning, waitingForCpu: g.mainWaiting },
            };
          },
          { derived: true },
        ),
        row(
          `query.${q.key}.errors`,
          "non-200 responses (A; V); failed direct calls (B1, B2)",
          (f) => {
            const g = Q(f);
            return {
              value: g.http.errors,
              text: `${fmtInt(g.http.errors)} of ${fmtInt(g.http.requests)}; ${fmtInt(g.validate.errors)} of ${fmtInt(g.validate.requests)}; ${fmtInt(g.raw.errors)}, ${fmtInt(g.execute.errors)}`,
              pass: g.http.errors === 0 && g.validate.errors === 0 && g.raw.errors === 0 && g.execute.errors === 0,
              detail: { statuses: g.http.statuses, validateStatuses: g.validate.statuses, firstError: g.http.firstError ?? g.validate.firstError ?? g.raw.firstError ?? g.execute.firstError },
            };
          },
          { derived: true, target: "0" },
        ),
      ],
    };
  });

  const notes = [
    `query: A is the whole governed path (HTTP, JWT, permission query.sql, grant check on the data source, libpg-query guard, read-only executor with plan preflight on the demo PGlite, one QueryExecuted event appended, waiting for the query-history projection, JSON answer); V (/query/validate) the same checks without execution or event; B1 is PGlite.query on a demo database built in this process, B2 the executor path alone (pgliteConnection(db).execute, the limits POST /query/sql uses by default). Rows of A and B2 were compared before timing.`,
    `query: CPU per request is the service process (all threads; with the PGlite backend its event store runs there too) and its PostgreSQL backends over the steady part of each window; B2's is this process's CPU per query. A's CPU minus B2's is what the governance and bookkeeping cost on top of running the statement.`,
    `query: ` +
      Object.entries(figures)
        .map(
          ([b, f]) =>
            `${b}: ${fmtInt(f!.httpOk)} requests answered 200 in the windows, query history ${fmtInt(f!.historyTotal)} entries at the end, ${fmtInt(f!.logLines)} service log lines, load average ${f!.load.start} -> ${f!.load.end} on ${CORES} cores`,
        )
        .join("; ") +
      ".",
    ...dominates(figures),
  ];
  return { module: "query", sections, notes, seconds: (performance.now() - started) / 1000 };
}

/**
 * One line per backend and query: where A's time per request goes, from the service's
 * CPU per request against the statement's own (B2), and from what its JavaScript thread
 * did during the windows (ran, waited for a CPU, idle).
 */
function dominates(figures: Partial<Record<Backend, BackendFigures>>): string[] {
  const out: string[] = [];
  for (const [b, f] of Object.entries(figures)) {
    for (const q of QUERIES) {
      const g = f!.queries[q.key];
      const total = g.http.serverUsPerRequest + g.http.databaseUsPerRequest;
      const statement = g.execute.serverUsPerRequest;
      const busy = g.http.mainRunning + g.http.mainWaiting;
      const idle = Math.max(0, 1 - busy);
      let verdict: string;
      if (busy >= 0.85) {
        verdict =
          `the service's JavaScript thread was the bottleneck (ran ${pct(g.http.mainRunning)}, waited for a CPU ${pct(g.http.mainWaiting)} of the time): ` +
          `its CPU per request, ${statement / total < 0.5 ? "mostly the work around the statement" : "mostly the statement itself"}, sets the rate`;
      } else {
        verdict =
          `the service's JavaScript thread was idle ${pct(idle)} of the time (ran ${pct(g.http.mainRunning)}, waited for a CPU ${pct(g.http.mainWaiting)}): ` +
          (b === "postgres" ? "requests also wait on PostgreSQL round trips (event append, projection transaction, read-your-writes)" : "requests also wait between steps (projector hand-off, timers)");
      }
      if (g.http.mainWaiting >= 0.2) verdict += `; the machine was oversubscribed (the thread waited ${pct(g.http.mainWaiting)} of the time for a CPU), so absolute rates are low`;
      const checks = g.validate.serverUsPerRequest + g.validate.databaseUsPerRequest;
      const rest = total - checks - statement;
      out.push(
        `query: ${b}, ${q.key}: of ${us(total)} CPU per request (service${b === "postgres" ? " + postgres" : ""}), ` +
          `~${us(checks)} (${pct(checks / total)}) is what /query/validate also does (HTTP, JWT, permission, grant check, guard ~${us(g.guardUs)}), ` +
          `~${us(statement)} (${pct(statement / total)}) the statement on PGlite through the executor, ` +
          `~${us(rest)} (${pct(rest / total)}) the rest: QueryExecuted append, projection, read-your-writes wait, the answer; ${verdict}.`,
      );
    }
  }
  return out;
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  const result = await benchQuery();
  console.log(renderTable([result], {}));
  for (const n of result.notes) console.log(`note: ${n}`);
  process.exit(0);
}
