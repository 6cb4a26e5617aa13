/**
 * `npm run bench`: runs the benchmark modules in sequence on PostgreSQL and PGlite,
 * prints machine facts, progress (stderr) and one results table (stdout), and writes
 * bench/results/latest.json.
 *
 * Environment: BENCH_QUICK=1 (counts ~10x smaller, smoke run), BENCH_DATABASE_URL
 * (server to create bench_<random> databases on; default the local postgres),
 * BENCH_CONCURRENCY (PostgreSQL appenders, default 8), BENCH_ONLY=eventstore,rebuild,identity,access,guard,audit,query (any subset),
 * BENCH_BACKENDS=postgres (or pglite).
 */
import { mkdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { benchEventStore, POSTGRES_CONCURRENCY } from "./eventstore";
import { benchIdentity } from "./identity";
import { benchAccess } from "./access";
import { benchGuard } from "./guard";
import { benchRebuild } from "./rebuild";
import { benchAudit } from "./audit";
import { benchQuery } from "./query";
import { renderTable, type ModuleResult } from "./report";
import { fmtSeconds, log, machineFacts, QUICK } from "./support";

const MODULES: Array<{ name: string; run: () => Promise<ModuleResult> }> = [
  { name: "eventstore", run: benchEventStore },
  { name: "rebuild", run: benchRebuild },
  { name: "identity", run: benchIdentity },
  { name: "access", run: benchAccess },
  { name: "guard", run: benchGuard },
  { name: "audit", run: benchAudit },
  { name: "query", run: benchQuery },
];

const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim()).filter(Boolean);
const chosen = only?.length ? MODULES.filter((m) => only.includes(m.name)) : MODULES;

const started = performance.now();
const facts = await machineFacts();
const factLines = [
  `Ledgerline benchmarks${QUICK ? " (BENCH_QUICK=1: counts /10)" : ""} - ${new Date().toISOString()}`,
  `cores: ${facts.cores}   cpu: ${facts.cpuModel}   memory: ${facts.memoryGiB} GiB   bun: ${facts.bun}   load average (1 min): ${facts.loadAverage}`,
  `server: ${facts.postgres} at ${facts.server}`,
  `        ${Object.entries(facts.postgresSettings).map(([k, v]) => `${k}=${v}`).join("  ")}`,
  `embedded: ${facts.pglite} (in-memory)`,
];
if (facts.loadAverage > facts.cores * 0.25) {
  factLines.push(`warning: the machine is already busy (load ${facts.loadAverage} on ${facts.cores} cores); figures will be lower and noisier`);
}
console.log(factLines.join("\n"));
log(`\nrunning: ${chosen.map((m) => m.name).join(", ")}`);

const results: ModuleResult[] = [];
const failures: Array<{ module: string; error: string }> = [];
for (const m of chosen) {
  const t0 = performance.now();
  log(`\n=== ${m.name} ===`);
  try {
    results.push(await m.run());
    log(`=== ${m.name} done in ${fmtSeconds(performance.now() - t0)} ===`);
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    failures.push({ module: m.name, error });
    log(`=== ${m.name} FAILED: ${error}`);
  }
}

console.log("");
// The C=… headers describe the eventstore module (its section titles repeat them); identity
// and query run other concurrencies per section, so with them (or without eventstore) the columns are just the backends.
const headers = chosen.some((m) => m.name === "eventstore") && !chosen.some((m) => m.name === "identity" || m.name === "query") ? { postgres: `PostgreSQL (C=${POSTGRES_CONCURRENCY})`, pglite: "PGlite (C=1)" } : {};
console.log(renderTable(results, headers));
const notes = results.flatMap((r) => r.notes);
if (notes.length) console.log("\n" + notes.map((n) => `note: ${n}`).join("\n"));

const misses = results.flatMap((r) =>
  r.sections.flatMap((s) => s.rows.flatMap((row) => Object.entries(row.cells).filter(([, c]) => c?.pass === false).map(([b]) => `${row.label} [${b}]`))),
);
const total = (performance.now() - started) / 1000;
const loadAtEnd = Math.round(loadavg()[0] * 100) / 100;
console.log(`\ntotal ${total.toFixed(1)} s; load average at start ${facts.loadAverage}, at end ${loadAtEnd}; targets missed: ${misses.length ? misses.join("; ") : "none"}${failures.length ? `; FAILED modules: ${failures.map((f) => f.module).join(", ")}` : ""}`);

const dir = new URL("./results/", import.meta.url);
await mkdir(dir, { recursive: true });
const file = new URL("latest.json", dir);
await Bun.write(
  file,
  JSON.stringify(
    { startedAt: new Date(Date.now() - total * 1000).toISOString(), seconds: total, quick: QUICK, machine: facts, loadAverageAtEnd: loadAtEnd, results, failures, targetsMissed: misses },
    (_k, v) => (typeof v === "bigint" ? v.toString() : v),
    2,
  ) + "\n",
);
log(`results written to bench/results/latest.json`);
process.exit(failures.length ? 1 : 0);
