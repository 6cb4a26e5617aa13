/**
 * What the HTTP benchmarks (identity, access, query) share: the service in its own
 * process (bench/serve-app.ts), bench/loadgen.ts runs against it in a third process with
 * the server's CPU sampled inside the measured window, and the figures of several such
 * runs combined. Not a benchmark module itself.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import postgres from "postgres";
import { histogramPercentile, mergeHistograms, type LoadgenResult } from "./loadgen";
import type { ReadyLine } from "./serve-app";
import { log, SERVER_URL } from "./support";

const SERVE_APP = new URL("./serve-app.ts", import.meta.url).pathname;
const LOADGEN = new URL("./loadgen.ts", import.meta.url).pathname;
const START_TIMEOUT_MS = 180_000;

// ---------------------------------------------------------------- the served app

export interface Server {
  ready: ReadyLine;
  base: string;
  logPath: string;
  pid: number;
  /** Stops the process (SIGTERM, SIGKILL after 20 s) and reports what it logged. */
  stop(): Promise<{ logLines: number; logBytes: number }>;
}

/** Servers started and not stopped yet: a module's `finally` stops what an error left running. */
export const runningServers = new Set<Server>();

/** Starts bench/serve-app.ts with `args`, stdout (the service's log) going to `logPath`. */
export async function startServer(args: string[], logPath: string, label: string): Promise<Server> {
  const started = performance.now();
  // Empty first: the ready line is looked for in this file.
  await Bun.write(logPath, "");
  // BENCH_SERVER_CPU_PROF=<dir>: the service writes a CPU profile (and its markdown summary) there on exit.
  const profile = process.env.BENCH_SERVER_CPU_PROF ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${process.env.BENCH_SERVER_CPU_PROF}`] : [];
  const proc = Bun.spawn([process.execPath, ...profile, SERVE_APP, ...args, "--watch-stdin"], {
    stdin: "pipe",
    stdout: Bun.file(logPath),
    stderr: "inherit",
    env: process.env,
  });
  let exited: number | null = null;
  void proc.exited.then((code) => (exited = code));
  let ready: ReadyLine | undefined;
  while (!ready) {
    if (exited !== null) throw new Error(`${label}: serve-app exited with code ${exited} before it was ready`);
    if (performance.now() - started > START_TIMEOUT_MS) {
      proc.kill("SIGKILL");
      throw new Error(`${label}: serve-app not ready after ${START_TIMEOUT_MS / 1000} s`);
    }
    await Bun.sleep(100);
    const text = await readFile(logPath, "utf8").catch(() => "");
    const line = text.split("\n").find((l) => l.startsWith('{"ready":true'));
    if (line) ready = JSON.parse(line) as ReadyLine;
  }
  log(`  [${label}] serve-app ${ready.mode} ready on 127.0.0.1:${ready.port} (pid ${ready.pid}) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  const server: Server = {
    ready,
    base: `http://127.0.0.1:${ready.port}`,
    logPath,
    pid: proc.pid,
    async stop() {
      runningServers.delete(server);
      if (exited === null) {
        proc.kill("SIGTERM");
        const killed = await Promise.race([proc.exited, Bun.sleep(20_000).then(() => null)]);
        if (killed === null) {
          log(`  [${label}] serve-app did not stop within 20 s; SIGKILL`);
          proc.kill("SIGKILL");
          await proc.exited;
        }
      }
      const bytes = (await stat(logPath).catch(() => ({ size: 0 }))).size;
      let lines = 0;
      const text = await readFile(logPath, "utf8").catch(() => "");
      for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines++;
      return { logLines: lines, logBytes: bytes };
    },
  };
  runningServers.add(server);
  return server;
}

// ---------------------------------------------------------------- CPU from /proc

export const CLOCK_TICKS = (() => {
  try {
    return Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system, all threads) a process has used so far; Linux only. */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process's threads whose name starts with `prefix` (e.g. "Bun Pool": argon2id runs there). */
export async function threadsCpuSeconds(pid: number, prefix: string): Promise<number> {
  let total = 0;
  let tids: string[] = [];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  for (const tid of tids) {
    try {
      if (!(await readFile(`/proc/${pid}/task/${tid}/comm`, "utf8")).startsWith(prefix)) continue;
      const text = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      // the thread ended
    }
  }
  return total;
}

/** Summed CPU seconds of several processes (vanished ones count 0). */
export async function cpuSecondsOf(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await cpuSeconds(pid)) || 0;
  return total;
}

/**
 * Seconds a thread has run and has waited, runnable, for a CPU (/proc/<pid>/task/<tid>/schedstat;
 * the main thread by default, where the service's JavaScript runs). The rest of a window
 * the thread was idle: waiting for I/O, a timer or work. Zeros where schedstat is missing.
 */
export async function threadSchedule(pid: number, tid = pid): Promise<{ runS: number; waitS: number }> {
  try {
    const [run, wait] = (await readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8")).trim().split(/\s+/).map(Number);
    return { runS: run / 1e9, waitS: wait / 1e9 };
  } catch {
    return { runS: 0, waitS: 0 };
  }
}

/** PIDs of the PostgreSQL backends connected to `database` (one per connection of the service's pool). */
export async function databaseBackendPids(database: string): Promise<number[]> {
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin.unsafe("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]);
    return rows.map((r) => Number(r.pid));
  } finally {
    await admin.end();
  }
}

// ---------------------------------------------------------------- load generator runs

export interface LoadRun extends LoadgenResult {
  /** Server CPU cores busy during the steady part of the window (sampled by this process). */
  serverCores: number;
  /** Cores of the given PostgreSQL backends over the same part (0 when none were given). */
  databaseCores: number;
  /** Share of that part the server's main thread ran, and waited (runnable) for a CPU. */
  mainRunning: number;
  mainWaiting: number;
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
  connections: number;
  seconds: number;
  warmupS: number;
  serverPid: number;
  /** PostgreSQL backends whose CPU is sampled with the server's. */
  databasePids?: number[];
}

/** One bench/loadgen.ts process; samples the server's CPU inside the measured window. */
export async function runLoadgen(o: LoadOptions): Promise<LoadRun> {
  const args = [LOADGEN, "--url", o.url, "--connections", String(o.connections), "--duration", String(o.seconds), "--warmup", String(o.warmupS)];
  if (o.method) args.push("--method", o.method);
  if (o.body !== undefined) args.push("--body", o.body);
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push("-H", `${k}: ${v}`);
  const proc = Bun.spawn([process.execPath, ...args], { stdout: "pipe", stderr: "pipe", env: process.env });
  const stdout = new Response(proc.stdout).text();
  const stderr = new Response(proc.stderr).text();
  const dbPids = o.databasePids ?? [];
  // Sample well inside the loaded period: after the warm-up (plus startup slack), before its end.
  const t0 = performance.now();
  await Bun.sleep(o.warmupS * 1000 + 300);
  const cpu0 = await cpuSeconds(o.serverPid);
  const db0 = await cpuSecondsOf(dbPids);
  const main0 = await threadSchedule(o.serverPid);
  const at0 = performance.now();
  await Bun.sleep(Math.max(100, (o.warmupS + o.seconds) * 1000 - 200 - (performance.now() - t0)));
  const cpu1 = await cpuSeconds(o.serverPid);
  const db1 = await cpuSecondsOf(dbPids);
  const main1 = await threadSchedule(o.serverPid);
  const at1 = performance.now();
  const code = await proc.exited;
  if (code !== 0) throw new Error(`loadgen exited with ${code}: ${(await stderr).trim()}`);
  const result = JSON.parse((await stdout).trim().split("\n").pop()!) as LoadgenResult;
  const seconds = (at1 - at0) / 1000;
  return {
    ...result,
    serverCores: (cpu1 - cpu0) / seconds,
    databaseCores: (db1 - db0) / seconds,
    mainRunning: (main1.runS - main0.runS) / seconds,
    mainWaiting: (main1.waitS - main0.waitS) / seconds,
  };
}

export interface HttpFigures {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  firstError: string | null;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  serverCores: number;
  databaseCores: number;
  clientCores: number;
  /** Server CPU per request, microseconds. */
  serverUsPerRequest: number;
  /** PostgreSQL backend CPU per request, microseconds (0 when not sampled). */
  databaseUsPerRequest: number;
  /** Requests/s of each run, in order: the spread, and per-round ratios. */
  perRound: number[];
  /** Share of the windows the server's main thread ran; waited (runnable) for a CPU. */
  mainRunning: number;
  mainWaiting: number;
}

/** Several runs against one target as one figure: totals over the summed windows, percentiles of the merged histograms. */
export function combineRuns(runs: LoadRun[]): HttpFigures {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const seconds = runs.reduce((n, r) => n + r.durationS, 0);
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  const histogram = mergeHistograms(runs.map((r) => r.histogram));
  const weighted = (pick: (r: LoadRun) => number) => runs.reduce((n, r) => n + pick(r) * r.durationS, 0) / seconds;
  const rps = requests / seconds;
  const serverCores = weighted((r) => r.serverCores);
  const databaseCores = weighted((r) => r.databaseCores);
  return {
    requests,
    errors,
    statuses,
    firstError: runs.find((r) => r.firstError)?.firstError ?? null,
    seconds,
    rps,
    p50: histogramPercentile(histogram, 0.5),
    p99: histogramPercentile(histogram, 0.99),
    serverCores,
    databaseCores,
    clientCores: weighted((r) => r.clientCpuS / r.durationS),
    serverUsPerRequest: (serverCores / rps) * 1e6,
    databaseUsPerRequest: (databaseCores / rps) * 1e6,
    perRound: runs.map((r) => r.rps),
    mainRunning: weighted((r) => r.mainRunning),
    mainWaiting: weighted((r) => r.mainWaiting),
  };
}
