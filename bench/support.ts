/**
 * Shared pieces of the benchmarks: sizes (BENCH_QUICK), fresh databases, progress on
 * stderr, timed worker pools and number formatting.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { cpus, loadavg, totalmem } from "node:os";
import { pgliteClient, postgresClient, type SqlClient } from "../src/db/client";
import { migrate } from "../src/db/migrate";

export const QUICK = process.env.BENCH_QUICK === "1";
export const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Counts shrink ~10x for smoke runs; time caps shrink too, so a slow machine stays bounded. */
export function size(full: number): number {
  return QUICK ? Math.max(1, Math.round(full / 10)) : full;
}
export const PHASE_TIME_CAP_MS = QUICK ? 10_000 : 60_000;

export type Backend = "postgres" | "pglite";
/** BENCH_BACKENDS=postgres (or pglite) runs one side only. */
export const BACKENDS: readonly Backend[] = (["postgres", "pglite"] as const).filter(
  (b) => !process.env.BENCH_BACKENDS || process.env.BENCH_BACKENDS.split(",").map((s) => s.trim()).includes(b),
);

export interface BenchDatabase {
  backend: Backend;
  db: SqlClient;
  /** Postgres: bench_<random>; PGlite: "memory". */
  name: string;
  drop(): Promise<void>;
}

const cleanups = new Set<() => Promise<void>>();
let signalsHooked = false;

/** Drops what is still open when the run is interrupted, so no bench_* database is left behind. */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, async () => {
      process.stderr.write(`\n${sig}: dropping ${cleanups.size} bench database(s)...\n`);
      await Promise.allSettled([...cleanups].map((c) => c()));
      process.exit(130);
    });
  }
}

export async function freshDatabase(backend: Backend, opts: { maxConnections?: number } = {}): Promise<BenchDatabase> {
  hookSignals();
  const started = performance.now();
  if (backend === "pglite") {
    const lite = await PGlite.create();
    const db = pgliteClient(lite);
    await migrate(db);
    const drop = async () => {
      cleanups.delete(drop);
      await db.close();
    };
    cleanups.add(drop);
    log(`  [pglite] in-memory database created and migrated in ${fmtSeconds(performance.now() - started)}`);
    return { backend, db, name: "memory", drop };
  }
  const name = `bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const db = postgresClient(url.toString(), { max: opts.maxConnections ?? 10 });
  const drop = async () => {
    cleanups.delete(drop);
    await db.close().catch(() => {});
    const again = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
    await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err) => log(`  could not drop ${name}: ${err}`));
    await again.end();
  };
  cleanups.add(drop);
  try {
    await migrate(db);
  } catch (err) {
    await drop();
    throw err;
  }
  log(`  [postgres] database ${name} created and migrated in ${fmtSeconds(performance.now() - started)}`);
  return { backend, db, name, drop };
}

// ---------------------------------------------------------------- progress on stderr

export function log(line: string): void {
  process.stderr.write(line + "\n");
}

const TTY = Boolean(process.stderr.isTTY);

/**
 * A progress bar redrawn with \r on a terminal; when stderr is a file or pipe, a plain
 * line every 2 s instead, so CI logs still show the run moving.
 */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly drawEveryMs = TTY ? 100 : 2000;

  constructor(private readonly label: string, private readonly total: number, private readonly unit = "ops") {}

  update(done: number): void {
    const now = performance.now();
    if (now - this.lastDraw < this.drawEveryMs && done < this.total) return;
    this.lastDraw = now;
    const elapsed = now - this.started;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const rate = elapsed > 0 ? (done / elapsed) * 1000 : 0;
    const text = `  ${this.label} [${bar}] ${fmtInt(done)}/${fmtInt(this.total)} ${this.unit}  ${fmtInt(rate)} ${this.unit}/s  ${fmtSeconds(elapsed)}`;
    process.stderr.write(TTY ? `\r${text}\x1b[K` : text + "\n");
  }

  /** Ends the bar with one summary line. */
  done(done: number, note = ""): number {
    const elapsed = performance.now() - this.started;
    const rate = elapsed > 0 ? (done / elapsed) * 1000 : 0;
    const text = `  ${this.label}: ${fmtInt(done)} ${this.unit} in ${fmtSeconds(elapsed)} = ${fmtInt(rate)} ${this.unit}/s${note ? "  " + note : ""}`;
    process.stderr.write(TTY ? `\r${text}\x1b[K\n` : text + "\n");
    return elapsed;
  }
}

// ---------------------------------------------------------------- timed worker pool

export interface PoolResult {
  /** Operations completed (each may carry several rows/events). */
  ops: number;
  /** Rows or events written. */
  units: number;
  ms: number;
  perSecond: number;
  /** Latency of one operation, ms. */
  p50: number;
  p99: number;
  /** Stopped by the time cap before all operations ran. */
  capped: boolean;
  /** Units per second of each slice, in the order they ran (runInterleaved: one per round). */
  sliceRates?: number[];
}

export interface Phase {
  label: string;
  ops: number;
  concurrency: number;
  unitsPerOp: number;
  unit: string;
  /** Performs operation i (0 <= i < ops) on worker `worker` (0 <= worker < concurrency). */
  op: (i: number, worker: number) => Promise<unknown>;
}

interface Slice {
  ops: number;
  units: number;
  ms: number;
  latencies: Float64Array;
  capped: boolean;
}

/** Runs operations [from, to) of a phase with its workers; stops at the deadline. */
async function runSlice(phase: Phase, from: number, to: number, capMs: number, label: string): Promise<Slice> {
  const count = to - from;
  const latencies = new Float64Array(count);
  const progress = new Progress(label, count * phase.unitsPerOp, phase.unit);
  const started = performance.now();
  const deadline = started + capMs;
  let next = from;
  let finished = 0;
  let capped = false;
  const worker = async (w: number) => {
    for (;;) {
      if (performance.now() > deadline) {
        capped ||= next < to;
        return;
      }
      const i = next++;
      if (i >= to) return;
      const t0 = performance.now();
      await phase.op(i, w);
      latencies[finished++] = performance.now() - t0;
      progress.update(finished * phase.unitsPerOp);
    }
  };
  await Promise.all(Array.from({ length: phase.concurrency }, (_, w) => worker(w)));
  const ms = performance.now() - started;
  progress.done(finished * phase.unitsPerOp, capped ? `(time cap ${fmtSeconds(capMs)} reached)` : "");
  return { ops: finished, units: finished * phase.unitsPerOp, ms, latencies: latencies.slice(0, finished), capped };
}

/**
 * Runs phases that are compared with each other in alternating slices: round r runs the
 * r-th slice of every phase (starting with a different phase each round), so a change
 * in background load or table size hits all of them alike instead of whichever ran
 * last. `between` runs untimed before every slice (e.g. CHECKPOINT). The time cap is
 * per phase, shared over its slices.
 */
export async function runInterleaved(
  phases: Phase[],
  opts: { rounds: number; timeCapMs?: number; between?: () => Promise<void> },
): Promise<PoolResult[]> {
  const capMs = opts.timeCapMs ?? PHASE_TIME_CAP_MS;
  const slices: Slice[][] = phases.map(() => []);
  for (let r = 0; r < opts.rounds; r++) {
    for (let k = 0; k < phases.length; k++) {
      const index = (k + r) % phases.length;
      const phase = phases[index];
      const from = Math.floor((phase.ops * r) / opts.rounds);
      const to = Math.floor((phase.ops * (r + 1)) / opts.rounds);
      if (to <= from) continue;
      await opts.between?.();
      slices[index].push(await runSlice(phase, from, to, capMs / opts.rounds, `${phase.label} (round ${r + 1}/${opts.rounds})`));
    }
  }
  return slices.map((parts) => {
    const ops = parts.reduce((n, p) => n + p.ops, 0);
    const units = parts.reduce((n, p) => n + p.units, 0);
    const ms = parts.reduce((n, p) => n + p.ms, 0);
    const all = new Float64Array(parts.reduce((n, p) => n + p.latencies.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p.latencies, at);
      at += p.latencies.length;
    }
    all.sort();
    return {
      ops,
      units,
      ms,
      perSecond: ms > 0 ? (units * 1000) / ms : 0,
      p50: percentile(all, 0.5),
      p99: percentile(all, 0.99),
      capped: parts.some((p) => p.capped),
      sliceRates: parts.map((p) => (p.ms > 0 ? (p.units * 1000) / p.ms : 0)),
    };
  });
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// ---------------------------------------------------------------- formatting

export function fmtInt(n: number): string {
  if (!Number.isFinite(n)) return "-";
  return Math.round(n).toLocaleString("en-US");
}

export function fmtSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function fmtRatio(r: number | null | undefined): string {
  return r === null || r === undefined || !Number.isFinite(r) ? "-" : `${r.toFixed(2)}x`;
}

export function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms` : "-";
}

// ---------------------------------------------------------------- machine facts

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  bun: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  pglite: string;
  quick: boolean;
  server: string;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  loadAverage: number;
}

export async function machineFacts(): Promise<MachineFacts> {
  let cores = cpus().length;
  try {
    const out = Bun.spawnSync(["nproc"]).stdout.toString().trim();
    if (out) cores = Number(out);
  } catch {
    /* keep os.cpus() */
  }
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const info = await Bun.file("/proc/cpuinfo").text();
    cpuModel = info.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? cpuModel;
  } catch {
    /* not Linux */
  }
  let pgVersion = "unreachable";
  const settings: Record<string, string> = {};
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [v] = await admin.unsafe("SELECT version() AS v");
    pgVersion = String(v.v).replace(/ on .*$/, "");
    const rows = await admin.unsafe(
      "SELECT name, setting, unit FROM pg_settings WHERE name IN ('synchronous_commit','fsync','shared_buffers','max_connections','wal_sync_method')",
    );
    for (const r of rows) settings[r.name] = r.unit && r.unit !== "" ? `${r.setting} (${r.unit})` : r.setting;
  } catch (err) {
    pgVersion = `unreachable (${(err as Error).message})`;
  } finally {
    await admin.end();
  }
  let pglite = "unknown";
  try {
    const pkg = await Bun.file(new URL("../node_modules/@electric-sql/pglite/package.json", import.meta.url)).json();
    pglite = `@electric-sql/pglite ${pkg.version}`;
  } catch {
    /* leave unknown */
  }
  return {
    cores,
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    bun: Bun.version,
    postgres: pgVersion,
    postgresSettings: settings,
    pglite,
    quick: QUICK,
    loadAverage: Math.round(loadavg()[0] * 100) / 100,
    server: SERVER_URL.replace(/\/\/([^:@/]+):[^@]*@/, "//$1:***@"),
  };
}
