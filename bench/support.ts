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
}

/**
 * Runs `ops` operations with `concurrency` workers; `op(i, worker)` performs operation i.
 * Stops at the time cap (the figures then cover what finished).
 */
export async function runPool(
  label: string,
  opts: { ops: number; concurrency: number; unitsPerOp: number; unit: string; timeCapMs?: number },
  op: (i: number, worker: number) => Promise<unknown>,
): Promise<PoolResult> {
  const capMs = opts.timeCapMs ?? PHASE_TIME_CAP_MS;
  const latencies = new Float64Array(opts.ops);
  const progress = new Progress(label, opts.ops * opts.unitsPerOp, opts.unit);
  const started = performance.now();
  const deadline = started + capMs;
  let next = 0;
  let finished = 0;
  let capped = false;
  const worker = async (w: number) => {
    for (;;) {
      if (performance.now() > deadline) {
        capped = next < opts.ops;
        return;
      }
      const i = next++;
      if (i >= opts.ops) return;
      const t0 = performance.now();
      await op(i, w);
      latencies[i] = performance.now() - t0;
      finished++;
      progress.update(finished * opts.unitsPerOp);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  const ms = performance.now() - started;
  progress.done(finished * opts.unitsPerOp, capped ? `(time cap ${fmtSeconds(capMs)} reached)` : "");
  const done = latencies.slice(0, next > opts.ops ? opts.ops : next).filter((x) => x > 0).sort();
  return {
    ops: finished,
    units: finished * opts.unitsPerOp,
    ms,
    perSecond: (finished * opts.unitsPerOp * 1000) / ms,
    p50: percentile(done, 0.5),
    p99: percentile(done, 0.99),
    capped,
  };
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
