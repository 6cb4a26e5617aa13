/**
 * Audit log: search latency over 1,000,000 events (BENCH_QUICK: 100,000) and export
 * throughput, on PostgreSQL and PGlite.
 *
 * Load: the events go straight into the events table with one INSERT ... SELECT over
 * generate_series per 50,000 (realistic metadata: 100 organizations of 20 users, ten
 * event types weighted like real traffic, session events carrying a token hash the index
 * must redact, occurred_at spread over 90 days in position order). The audit index is
 * then built the way production builds it: `Projector.rebuild(["audit_log"])`, whose rate
 * is reported too.
 *
 * Measured (sequential calls, after a warm-up; each is the query the route runs, total
 * count included, plus turning rows into entries):
 * - a filtered page: one organization + one action + a 7-day range, 50 entries,
 * - one user's page: organization + user_id, 50 entries,
 * - an organization's first page, unfiltered (its count covers 1% of the events),
 * - export: keyset pages of 1,000 encoded as CSV, for a date range holding ~20% of the
 *   events, in rows/s.
 * PostgreSQL: ANALYZE events and VACUUM ANALYZE audit_log after loading (autovacuum would
 * have); PGlite as is (no autovacuum).
 */
import { auditLogProjection } from "../projections/audit-log/projection";
import { listAuditLog, type AuditFilter } from "../projections/audit-log/queries";
import { Projector } from "../projections/runner/projector";
import { PostgresEventStore } from "../src/eventstore/postgres";
import { auditEntryJson } from "../src/audit/entry-json";
import { encodeEntries } from "../src/audit/export-stream";
import { exportPagesFor } from "../src/handlers/audit";
import type { Cell, ModuleResult, Row } from "./report";
import { BACKENDS, freshDatabase, fmtInt, fmtMs, log, Progress, QUICK, size, type Backend } from "./support";

export const AUDIT_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? size(1_000_000));
const CHUNK = 50_000;
const ORGS = 100;
const USERS_PER_ORG = 20;
const DAYS = 90;
const ITERATIONS = QUICK ? 50 : 200;
const WARMUP = 10;
const PAGE = { offset: 0, limit: 50 };
const DAY_MS = 86_400_000;

/** Weighted like real traffic: logins and sessions dominate. Index = hash % 20. */
const TYPES: Array<[string, string]> = [
  ...Array<[string, string]>(5).fill(["LoginSucceeded", "login"]),
  ...Array<[string, string]>(4).fill(["SessionStarted", "session"]),
  ...Array<[string, string]>(3).fill(["SessionRefreshed", "session"]),
  ...Array<[string, string]>(2).fill(["QueryExecuted", "query"]),
  ["LoginFailed", "login"],
  ["AccessDenied", "security"],
  ["UserProfileUpdated", "user"],
  ["RoleAssigned", "user"],
  ["LocationCreated", "location"],
  ["ApiKeyCreated", "apikey"],
];
const ACTIONS = [...new Set(TYPES.map(([t]) => t))];

const orgId = (n: number) => `0190a1b2-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;
const userId = (org: number, n: number) => `0190a1b2-0001-7000-8${org.toString(16).padStart(3, "0")}-${n.toString(16).padStart(12, "0")}`;

/** Events g in [from, to], all derived from g in SQL. */
function seedSql(): string {
  const types = TYPES.map(([t, c], i) => `(${i}, '${t}', '${c}')`).join(", ");
  return `
    WITH base AS (
      SELECT g,
             (g % ${ORGS}) AS org_n,
             ((g / 7) % ${USERS_PER_ORG}) AS user_n,
             ((g * 2654435761) % 20) AS type_n,
             $3::timestamptz + (g * $4::double precision) * interval '1 millisecond' AS at
        FROM generate_series($1::bigint, $2::bigint) AS g
    ), ids AS (
      SELECT b.*, t.type, t.category,
             '0190a1b2-0000-7000-8000-' || lpad(to_hex(b.org_n), 12, '0') AS org,
             '0190a1b2-0001-7000-8' || lpad(to_hex(b.org_n), 3, '0') || '-' || lpad(to_hex(b.user_n), 12, '0') AS usr
        FROM base b JOIN (VALUES ${types}) AS t(n, type, category) ON t.n = b.type_n
    )
    INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, recorded_at)
    SELECT category || '-' || usr, g,
           ('01a00000-' || lpad(to_hex(g >> 32), 4, '0') || '-7000-8000-' || lpad(to_hex(g & 4294967295), 12, '0'))::uuid,
           type,
           jsonb_build_object('user_id', usr, 'organization_id', org, 'session_id', md5(g::text)::uuid, 'reason', CASE WHEN type = 'LoginFailed' THEN 'bad_password' END)
             || CASE WHEN category = 'session' THEN jsonb_build_object('refresh_token_hash', md5('r' || g)) ELSE '{}'::jsonb END,
           jsonb_build_object(
             'actor', jsonb_build_object('type', 'user', 'id', usr),
             'organization_id', org,
             'correlation_id', md5('c' || g)::uuid,
             'causation_id', NULL,
             'ip', '10.' || (g % 200) || '.' || (g % 250) || '.' || (g % 97),
             'user_agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
             'occurred_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'schema_version', 1),
           at
      FROM ids`;
}

interface Latency {
  p50: number;
  p99: number;
  rows: number;
}

interface BackendFigures {
  load: { events: number; seconds: number };
  rebuild: { events: number; seconds: number };
  filtered: Latency;
  user: Latency;
  organization: Latency;
  export: { rows: number; bytes: number; seconds: number };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function timed(label: string, make: (random: () => number) => AuditFilter, run: (f: AuditFilter) => Promise<number>): Promise<Latency> {
  const random = rng(7);
  for (let i = 0; i < WARMUP; i++) await run(make(random));
  const ms: number[] = [];
  let rows = 0;
  const progress = new Progress(label, ITERATIONS, "queries");
  for (let i = 0; i < ITERATIONS; i++) {
    const filter = make(random);
    const t0 = performance.now();
    rows += await run(filter);
    ms.push(performance.now() - t0);
    progress.update(i + 1);
  }
  progress.done(ITERATIONS);
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return { p50: at(0.5), p99: at(0.99), rows: rows / ITERATIONS };
}

async function benchBackend(backend: Backend): Promise<BackendFigures> {
  log(`\n[audit] ${backend}: loading ${fmtInt(AUDIT_EVENTS)} events with INSERT ... SELECT generate_series, ${fmtInt(CHUNK)} per statement`);
  const bench = await freshDatabase(backend);
  const { db } = bench;
  const tag = `[${backend}]`;
  try {
    const start = new Date(Date.now() - DAYS * DAY_MS);
    const step = (DAYS * DAY_MS) / AUDIT_EVENTS;
    const sql = seedSql();
    const loading = new Progress(`${tag} load events`, AUDIT_EVENTS, "events");
    const loadStarted = performance.now();
    for (let from = 1; from <= AUDIT_EVENTS; from += CHUNK) {
      const to = Math.min(AUDIT_EVENTS, from + CHUNK - 1);
      await db.query(sql, [from, to, start.toISOString(), step]);
      loading.update(to);
    }
    const loadMs = loading.done(AUDIT_EVENTS);
    if (db.kind === "postgres") await db.query("ANALYZE events");

    const store = new PostgresEventStore(db);
    const projector = new Projector(store, db, [auditLogProjection]);
    const rebuilding = new Progress(`${tag} rebuild audit_log`, AUDIT_EVENTS, "events");
    const rebuilt = await projector.rebuild(["audit_log"], (p) => rebuilding.update(p.applied));
    rebuilding.done(rebuilt.events);
    const [{ n }] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_log");
    if (Number(n) !== AUDIT_EVENTS) throw new Error(`audit_log holds ${n} rows, expected ${AUDIT_EVENTS}`);
    // Autovacuum also vacuums insert-only tables (PostgreSQL 13+), which lets counts scan the index alone.
    if (db.kind === "postgres") await db.query("VACUUM ANALYZE audit_log");

    const d = db.drizzle;
    const page = async (f: AuditFilter) => {
      const { rows } = await listAuditLog(d, f, PAGE);
      return rows.map(auditEntryJson).length;
    };
    const end = start.getTime() + DAYS * DAY_MS;
    const filtered = await timed(`${tag} org + action + 7 days, page of 50`, (r) => {
      const from = start.getTime() + Math.floor(r() * (DAYS - 7)) * DAY_MS;
      return { organizationId: orgId(Math.floor(r() * ORGS)), eventTypes: [ACTIONS[Math.floor(r() * ACTIONS.length)]], from: new Date(from), to: new Date(from + 7 * DAY_MS) };
    }, page);
    const user = await timed(`${tag} one user's page of 50`, (r) => {
      const org = Math.floor(r() * ORGS);
      return { organizationId: orgId(org), userId: userId(org, Math.floor(r() * USERS_PER_ORG)) };
    }, page);
    const organization = await timed(`${tag} organization's first page of 50`, (r) => ({ organizationId: orgId(Math.floor(r() * ORGS)) }), page);

    const expected = Math.round(AUDIT_EVENTS * 0.2);
    const exporting = new Progress(`${tag} export csv (last 18 of ${DAYS} days)`, expected, "rows");
    const exportStarted = performance.now();
    let rows = 0;
    let bytes = 0;
    const counted = (async function* () {
      for await (const p of exportPagesFor({ db }, { from: new Date(end - 18 * DAY_MS) })) {
        rows += p.length;
        exporting.update(rows);
        yield p;
      }
    })();
    for await (const chunk of encodeEntries(counted, "csv")) bytes += Buffer.byteLength(chunk);
    exporting.done(rows);
    const exportSeconds = (performance.now() - exportStarted) / 1000;
    await store.close();
    return {
      load: { events: AUDIT_EVENTS, seconds: loadMs / 1000 },
      rebuild: rebuilt,
      filtered,
      user,
      organization,
      export: { rows, bytes, seconds: exportSeconds },
    };
  } finally {
    await bench.drop();
  }
}

export async function benchAudit(): Promise<ModuleResult> {
  const started = performance.now();
  const figures: Partial<Record<Backend, BackendFigures>> = {};
  for (const backend of BACKENDS) figures[backend] = await benchBackend(backend);
  const row = (key: string, label: string, pick: (f: BackendFigures) => Cell, extra: Partial<Row> = {}): Row => {
    const cells: Row["cells"] = {};
    for (const b of BACKENDS) if (figures[b]) cells[b] = pick(figures[b]!);
    return { key, label, cells, ...extra };
  };
  const latency = (l: Latency): Cell => ({ value: l.p99, text: `p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)} (${l.rows.toFixed(0)} rows)`, detail: { ...l } });
  return {
    module: "audit",
    sections: [
      {
        title: `Audit log over ${fmtInt(AUDIT_EVENTS)} events (${ORGS} organizations x ${USERS_PER_ORG} users, ${DAYS} days)`,
        rows: [
          row("audit.load", "load: INSERT ... SELECT generate_series into events", (f) => {
            const rate = f.load.events / f.load.seconds;
            return { value: rate, text: `${fmtInt(rate)} ev/s (${f.load.seconds.toFixed(1)} s)`, detail: f.load };
          }),
          row("audit.rebuild", "index: Projector.rebuild(['audit_log'])", (f) => {
            const rate = f.rebuild.events / f.rebuild.seconds;
            return { value: rate, text: `${fmtInt(rate)} ev/s (${f.rebuild.seconds.toFixed(1)} s)`, detail: f.rebuild };
          }),
          row("audit.search.filtered", "page of 50: organization + action + 7-day range, with total", (f) => latency(f.filtered)),
          row("audit.search.user", "page of 50: one user of an organization, with total", (f) => latency(f.user)),
          row("audit.search.organization", "page of 50: an organization, unfiltered, with total", (f) => latency(f.organization)),
          row("audit.export", "export CSV, keyset pages of 1,000 (~20% of the events)", (f) => {
            const rate = f.export.rows / f.export.seconds;
            return { value: rate, text: `${fmtInt(rate)} rows/s (${fmtInt(f.export.rows)} rows, ${(f.export.bytes / 1048576).toFixed(0)} MiB, ${f.export.seconds.toFixed(1)} s)`, detail: f.export };
          }),
        ],
      },
    ],
    notes: [
      `Audit: events loaded straight into the events table (not through the port), then indexed by the projector's rebuild; latencies are sequential calls of the route's query (page + total count) after ${WARMUP} warm-up calls, ${ITERATIONS} samples each. PostgreSQL: ANALYZE events and VACUUM ANALYZE audit_log after loading (as autovacuum would); PGlite: no statistics.`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  console.log(renderTable([await benchAudit()], {}));
}
