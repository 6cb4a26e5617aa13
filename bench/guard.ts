/**
 * SQL guard: time to parse and check one statement (src/sql/guard.ts, libpg-query WASM),
 * in this process on one core, over the benign corpus, the hostile corpus and a few large
 * queries of the shapes a model writes for dashboards (test/unit/sql-guard-corpus.ts).
 *
 * Every check is timed on its own (Bun.nanoseconds) after a warm-up; p50/p99 are over all
 * checks of a workload. The parse-only row runs libpg-query's parseSync on the benign
 * corpus, so the guard's own walk is the difference between the two rows.
 *
 * The guard touches no database: its figures are the same for both backends and are shown
 * in the first backend column.
 *
 * Goal: benign p99 <= 1 ms, so the guard is never a noticeable part of a query's latency.
 * Environment: BENCH_QUICK (rounds /10), BENCH_GUARD_ROUNDS (benign/hostile corpus passes).
 */
import { parseSync } from "libpg-query";
import { checkSql, loadGuard } from "../src/sql/guard";
import { BENIGN, HOSTILE, largeQueries, SALES_POLICY } from "../test/unit/sql-guard-corpus";
import type { Cell, ModuleResult, Row } from "./report";
import { loadavg } from "node:os";
import { BACKENDS, fmtInt, log, Progress, size, type Backend } from "./support";

const CORPUS_ROUNDS = Number(process.env.BENCH_GUARD_ROUNDS ?? size(2_000));
const LARGE_ROUNDS = size(1_000);
const WARMUP_ROUNDS = 50;
const BENIGN_P99_TARGET_US = 1_000;

interface Figures {
  checks: number;
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  /** Process CPU time per check (user + system), µs: steadier than wall time on a busy machine. */
  cpuPerCheck: number;
}

/** Times `op` on every statement, `rounds` times over; returns latencies in µs. */
function measure(label: string, statements: string[], rounds: number, op: (sql: string) => unknown): Figures {
  for (let r = 0; r < WARMUP_ROUNDS; r++) for (const sql of statements) op(sql);
  const total = statements.length * rounds;
  const latencies = new Float64Array(total);
  const progress = new Progress(label, total, "checks");
  let n = 0;
  const cpu0 = process.cpuUsage();
  const started = Bun.nanoseconds();
  for (let r = 0; r < rounds; r++) {
    for (const sql of statements) {
      const t0 = Bun.nanoseconds();
      op(sql);
      latencies[n++] = (Bun.nanoseconds() - t0) / 1_000;
    }
    progress.update(n);
  }
  const elapsedMs = (Bun.nanoseconds() - started) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  progress.done(n);
  latencies.sort();
  const at = (q: number) => latencies[Math.min(n - 1, Math.floor(q * n))];
  return { checks: n, p50: at(0.5), p99: at(0.99), max: latencies[n - 1], perSecond: (n * 1000) / elapsedMs, cpuPerCheck: (cpu.user + cpu.system) / n };
}

const fmtUs = (us: number) => (us < 100 ? `${us.toFixed(1)} µs` : `${fmtInt(us)} µs`);

function cell(f: Figures, pass?: boolean): Cell {
  return {
    value: f.p99,
    text: `p50 ${fmtUs(f.p50)}, p99 ${fmtUs(f.p99)}; CPU ${fmtUs(f.cpuPerCheck)}/check; ${fmtInt(f.perSecond)}/s`,
    pass,
    detail: { ...f },
  };
}

export async function benchGuard(): Promise<ModuleResult> {
  const started = performance.now();
  const column: Backend = BACKENDS[0] ?? "postgres";
  const loadStart = performance.now();
  await loadGuard();
  const loadMs = performance.now() - loadStart;
  log(`  parser loaded in ${loadMs.toFixed(0)} ms`);

  const benign = BENIGN.map((b) => b.sql);
  const hostile = HOSTILE.flatMap((c) => c.cases);
  const check = (sql: string) => {
    const verdict = checkSql(sql, SALES_POLICY);
    return verdict.valid;
  };

  // The corpus must still say what the tests say, or the timings measure the wrong path.
  const wronglyRejected = benign.filter((sql) => !check(sql)).length;
  const wronglyAccepted = hostile.filter((sql) => check(sql)).length;

  const benignFigures = measure(`benign corpus (${benign.length} queries)`, benign, CORPUS_ROUNDS, check);
  const parseFigures = measure("benign corpus, parse only", benign, CORPUS_ROUNDS, (sql) => parseSync(sql));
  const hostileFigures = measure(`hostile corpus (${hostile.length} statements)`, hostile, Math.max(1, Math.round(CORPUS_ROUNDS / 4)), check);
  const large = largeQueries().map((q) => ({ ...q, figures: measure(`large: ${q.name}`, [q.sql], LARGE_ROUNDS, check) }));

  const one = (key: string, label: string, c: Cell, extra: Partial<Row> = {}): Row => ({ key, label, cells: { [column]: c }, ...extra });
  const rows: Row[] = [
    one("guard.benign", `benign corpus: ${benign.length} queries x ${fmtInt(CORPUS_ROUNDS)}`, cell(benignFigures, benignFigures.p99 <= BENIGN_P99_TARGET_US), {
      target: `p99 <= ${fmtInt(BENIGN_P99_TARGET_US)} µs`,
    }),
    one("guard.benign_parse_only", "of which libpg-query parse alone", cell(parseFigures), { derived: true }),
    one("guard.hostile", `hostile corpus: ${hostile.length} statements x ${fmtInt(Math.max(1, Math.round(CORPUS_ROUNDS / 4)))}`, cell(hostileFigures)),
    ...large.map((q) =>
      one(`guard.large.${q.name}`, `large: ${q.name} (${(q.sql.length / 1024).toFixed(1)} kB) x ${fmtInt(LARGE_ROUNDS)}`, cell(q.figures)),
    ),
    one(
      "guard.corpus_check",
      "corpus verdicts (hostile accepted, benign rejected)",
      {
        value: wronglyAccepted + wronglyRejected,
        text: `hostile accepted ${wronglyAccepted}/${hostile.length}, benign rejected ${wronglyRejected}/${benign.length}`,
        pass: wronglyAccepted + wronglyRejected === 0,
      },
      { derived: true, target: "0 and 0" },
    ),
  ];
  return {
    module: "guard",
    sections: [{ title: "SQL guard: parse + check per statement (in-process, one core, no database)", rows }],
    notes: [
      `guard figures do not depend on the backend; they are shown in the ${column === "postgres" ? "PostgreSQL" : "PGlite"} column. Parser (WASM) load: ${loadMs.toFixed(0)} ms, once per process. p99 is wall time per check and includes GC pauses and, on a busy machine, preemption (load average at the end of this module: ${loadavg()[0].toFixed(2)}); CPU/check is the mean process CPU time.`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  console.log(renderTable([await benchGuard()], {}));
}
