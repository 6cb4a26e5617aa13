/**
 * The cost of a permission check (issue 4): the same authenticated read twice, once
 * requiring only a principal (`auth: true`) and once a permission (`auth: { permission:
 * "user.read" }`), served by bench/serve-app.ts --access-routes in its own process and
 * driven by bench/loadgen.ts in a third, as the identity benchmark drives GET /users/me.
 * Goal: the checked read >= 0.9x the unchecked one (the check must cost almost nothing).
 *
 * Fairness: one service process serves both routes; the two targets alternate ABBA over
 * ROUNDS rounds with the same connections, warm-up and window, so a change in machine
 * load hits both alike. Server CPU per request is sampled from /proc inside each window:
 * on a small shared machine the rates move with the load, the CPU per request less.
 *
 * Environment: BENCH_QUICK, BENCH_BACKENDS as for every module; BENCH_HTTP_CONNECTIONS
 * (32, as the identity benchmark), BENCH_ACCESS_ROUNDS (quick 2, full 8).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { combineRuns, runLoadgen, startServer, type HttpFigures, type LoadRun, type Server } from "./http-bench";
import type { Cell, ModuleResult, Row, Section } from "./report";
import { BENCH_PERMISSION } from "./serve-app";
import { BACKENDS, fmtInt, fmtMs, fmtRatio, log, QUICK, type Backend } from "./support";
import { authorize, type AuthRequirement, type Principal } from "../src/http/auth";
import { PLATFORM_PERMISSIONS, SYSTEM_PERMISSIONS } from "../src/domain/permissions";

const HTTP_CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ACCESS_ROUNDS ?? (QUICK ? 2 : 8));
const SLICE_S = 3;
const WARMUP_S = 1;
const RATIO_TARGET = 0.9;

const OPEN_PATH = "/bench/read-authenticated";
const CHECKED_PATH = "/bench/read-permission";

// ---------------------------------------------------------------- child processes

function startAccessServer(backend: Backend, logPath: string): Promise<Server> {
  return startServer(["--mode", "app", "--backend", backend, "--access-routes"], logPath, backend);
}

function loadgen(url: string, token: string, serverPid: number): Promise<LoadRun> {
  return runLoadgen({ url, headers: { authorization: `Bearer ${token}` }, serverPid, connections: HTTP_CONNECTIONS, seconds: SLICE_S, warmupS: WARMUP_S });
}

// ---------------------------------------------------------------- the check alone, in process

const MICRO_CALLS = QUICK ? 1_000_000 : 5_000_000;
const MICRO_ROUNDS = 3;

/**
 * authorize() as the auth macro calls it, with an organization admin's principal (every
 * organization-scoped permission): ns per call with `auth: true` and with a permission.
 * The difference is the whole cost of the check; HTTP rates above bound it only as
 * tightly as the machine's noise allows.
 */
function measureAuthorize(): { openNs: number; checkedNs: number } {
  const principal: Principal = {
    type: "user",
    id: "bench",
    userId: "bench",
    organizationId: "bench",
    sessionId: "bench",
    email: "bench@bench.test",
    isSuperAdmin: false,
    permissions: new Set(SYSTEM_PERMISSIONS.filter((p) => !PLATFORM_PERMISSIONS.includes(p))),
  };
  const time = (requirement: AuthRequirement) => {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < MICRO_CALLS; i++) authorize(principal, requirement);
    return (Bun.nanoseconds() - t0) / MICRO_CALLS;
  };
  const open: number[] = [];
  const checked: number[] = [];
  for (let r = 0; r < MICRO_ROUNDS; r++) {
    // A fresh object per round, as each route's macro holds its own requirement.
    if (r % 2 === 0) {
      open.push(time(true));
      checked.push(time({ permission: BENCH_PERMISSION }));
    } else {
      checked.push(time({ permission: BENCH_PERMISSION }));
      open.push(time(true));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { openNs: median(open), checkedNs: median(checked) };
}

type Figures = HttpFigures;

// ---------------------------------------------------------------- one backend

async function benchBackend(backend: Backend, workdir: string): Promise<{ open: Figures; checked: Figures }> {
  log(`\n[access] ${backend}: service in its own process (bench/serve-app.ts --access-routes)`);
  const app = await startAccessServer(backend, join(workdir, `serve-app-${backend}.log`));
  try {
    const token = app.ready.access_token!;
    // Both routes must answer 200 (the bench user holds the permission) before anything is timed.
    for (const path of [OPEN_PATH, CHECKED_PATH]) {
      const res = await fetch(`${app.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    }
    const targets = [
      { name: `GET ${OPEN_PATH} (auth: true)`, url: `${app.base}${OPEN_PATH}`, runs: [] as LoadRun[] },
      { name: `GET ${CHECKED_PATH} (permission ${BENCH_PERMISSION})`, url: `${app.base}${CHECKED_PATH}`, runs: [] as LoadRun[] },
    ];
    for (let r = 0; r < ROUNDS; r++) {
      // ABBA: the target that went second leads the next round.
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(k + r) % targets.length];
        const run = await loadgen(t.url, token, app.pid);
        t.runs.push(run);
        log(
          `  [${backend}] ${t.name} (round ${r + 1}/${ROUNDS}, ${HTTP_CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${SLICE_S} s): ` +
            `${fmtInt(run.rps)} req/s, p50 ${fmtMs(run.p50)}, p99 ${fmtMs(run.p99)}, errors ${run.errors}${run.firstError ? ` (first: ${run.firstError.slice(0, 120)})` : ""}, ` +
            `server ${run.serverCores.toFixed(2)} cores`,
        );
      }
    }
    return { open: combineRuns(targets[0].runs), checked: combineRuns(targets[1].runs) };
  } finally {
    await app.stop();
  }
}

function httpCell(f: Figures): Cell {
  return {
    value: f.rps,
    text: `${fmtInt(f.rps)} req/s (p50 ${fmtMs(f.p50)}, p99 ${fmtMs(f.p99)}; rounds ${f.perRound.map(fmtInt).join("/")})`,
    detail: { ...f },
  };
}

/** Median over rounds of checked/open within the same round (each pair ran back to back). */
function pairedRatio(f: { open: Figures; checked: Figures }): number {
  const ratios = f.open.perRound.map((o, r) => f.checked.perRound[r] / o).sort((a, b) => a - b);
  const mid = Math.floor(ratios.length / 2);
  return ratios.length % 2 ? ratios[mid] : (ratios[mid - 1] + ratios[mid]) / 2;
}

export async function benchAccess(): Promise<ModuleResult> {
  const started = performance.now();
  const micro = measureAuthorize();
  log(`[access] authorize() in process: ${micro.openNs.toFixed(1)} ns per call with auth: true, ${micro.checkedNs.toFixed(1)} ns with a permission (${fmtInt(MICRO_CALLS)} calls x ${MICRO_ROUNDS} rounds, median)`);
  const workdir = await mkdtemp(join(tmpdir(), "ledgerline-bench-access-"));
  const figures: Partial<Record<Backend, { open: Figures; checked: Figures }>> = {};
  log(`[access] ${ROUNDS} rounds x 2 targets x (${WARMUP_S} s warm-up + ${SLICE_S} s), ${HTTP_CONNECTIONS} connections, ABBA`);
  try {
    for (const backend of BACKENDS) figures[backend] = await benchBackend(backend, workdir);
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }

  const row = (key: string, label: string, pick: (f: { open: Figures; checked: Figures }) => Cell, extra: Partial<Row> = {}): Row => {
    const cells: Row["cells"] = {};
    for (const b of BACKENDS) if (figures[b]) cells[b] = pick(figures[b]!);
    return { key, label, cells, ...extra };
  };
  const section: Section = {
    title: `Permission check: one read handler, with and without a permission requirement; loadgen process, ${HTTP_CONNECTIONS} connections, ${ROUNDS}x(${WARMUP_S} s + ${SLICE_S} s) per route, ABBA`,
    rows: [
      {
        key: "access.authorize",
        label: "authorize() in process, ns per call (with permission; auth: true)",
        cells: Object.fromEntries(
          BACKENDS.filter((b) => figures[b]).map((b) => {
            const share = (micro.checkedNs - micro.openNs) / (figures[b]!.checked.serverUsPerRequest * 1000);
            return [b, { value: micro.checkedNs, text: `${micro.checkedNs.toFixed(1)} ns; ${micro.openNs.toFixed(1)} ns (the check: ${(share * 100).toFixed(3)}% of server CPU per request)`, detail: { ...micro, shareOfServerCpu: share } }];
          }),
        ),
      },
      row("access.open", `GET ${OPEN_PATH} (auth: true, no permission)`, (f) => httpCell(f.open)),
      row("access.checked", `GET ${CHECKED_PATH} (auth: { permission: "${BENCH_PERMISSION}" })`, (f) => httpCell(f.checked)),
      row(
        "access.ratio",
        "ratio with check / without",
        (f) => {
          const value = f.checked.rps / f.open.rps;
          return { value, text: fmtRatio(value), pass: value >= RATIO_TARGET };
        },
        { derived: true, target: `>= ${RATIO_TARGET}x` },
      ),
      row(
        "access.ratio.paired",
        "median of per-round ratios (each round's pair back to back)",
        (f) => {
          const value = pairedRatio(f);
          return { value, text: `${fmtRatio(value)} (rounds ${f.open.perRound.map((o, r) => fmtRatio(f.checked.perRound[r] / o)).join(", ")})` };
        },
        { derived: true },
      ),
      row(
        "access.cpu",
        "server CPU per request (with check; without)",
        (f) => ({
          value: f.checked.serverUsPerRequest,
          text: `${fmtInt(f.checked.serverUsPerRequest)} us; ${fmtInt(f.open.serverUsPerRequest)} us`,
        }),
        { derived: true },
      ),
      row(
        "access.errors",
        "non-200 responses (with check; without)",
        (f) => ({
          value: f.checked.errors + f.open.errors,
          text: `${fmtInt(f.checked.errors)} of ${fmtInt(f.checked.requests)}; ${fmtInt(f.open.errors)} of ${fmtInt(f.open.requests)}`,
          pass: f.checked.errors === 0 && f.open.errors === 0,
          detail: { firstError: f.checked.firstError ?? f.open.firstError },
        }),
        { derived: true, target: "0" },
      ),
    ],
  };
  const notes = [
    `access: both routes run the handler of GET /users/me (currentUserJson) in one service process (bench/serve-app.ts --access-routes); only the auth requirement differs. The service logs at its LOG_LEVEL (default info: one line per request) to a temporary file.`,
    `access: the permission check is a Set lookup in the principal's permissions, which the security state computes once per user and keeps until an event that can change permissions arrives.`,
  ];
  return { module: "access", sections: [section], notes, seconds: (performance.now() - started) / 1000 };
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  const result = await benchAccess();
  console.log(renderTable([result], {}));
  for (const n of result.notes) console.log(`note: ${n}`);
}
