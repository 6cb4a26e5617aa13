/**
 * Projection rebuild: the organizations read model replayed from 200,000 events
 * (BENCH_QUICK: 20,000) with `Projector.rebuild`, as `npm run replay` does.
 *
 * Goal (issue): >= 20,000 events/s on PostgreSQL.
 *
 * The events are mostly OrganizationCreated across many organizations plus
 * OrganizationUpdated for some of them, appended through the port 1,000 per call. One
 * append call writes one stream, so the seed uses import streams of 1,000 events; the
 * projection keys its rows by data.organization_id, so the stream layout does not change
 * what the rebuild reads or writes.
 */
import { organizationsProjection } from "../projections/organizations/projection";
import { Projector } from "../projections/runner/projector";
import { PostgresEventStore } from "../src/eventstore/postgres";
import type { NewEvent } from "../src/eventstore/port";
import { adminContext, BASE_TIME, created, rng, updated } from "./data";
import type { Cell, ModuleResult, Row } from "./report";
import { BACKENDS, freshDatabase, fmtInt, log, Progress, QUICK, size, type Backend } from "./support";

export const REBUILD_EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? size(200_000));
export const SEED_BATCH = 1_000;
const UPDATE_SHARE = 0.2;
const TARGET_POSTGRES = 20_000;
const REBUILD_TIME_CAP_MS = QUICK ? 60_000 : 600_000;
const ADMIN_ID = "0190a1b2-0000-7000-8000-000000000002";

class TimeCap extends Error {}

/** What the read model must hold after the rebuild, folded here independently. */
interface Expected {
  organizations: number;
  updatedOrganizations: number;
  renamed: number;
  maxUsersSum: number;
}

/** Deterministic event stream: creates, and updates of organizations created earlier. */
function* seedBatches(total: number): Generator<NewEvent[], Expected> {
  const random = rng(42);
  const orgIds: string[] = [];
  const state = new Map<string, { renamed: boolean; maxUsers: number | null; updated: boolean }>();
  let made = 0;
  while (made < total) {
    const batch: NewEvent[] = [];
    const n = Math.min(SEED_BATCH, total - made);
    for (let k = 0; k < n; k++, made++) {
      const at = new Date(BASE_TIME + made * 10);
      const ctx = adminContext(random, at, ADMIN_ID);
      if (orgIds.length < 10 || random() >= UPDATE_SHARE) {
        const orgId = Bun.randomUUIDv7();
        const event = created(orgId, orgIds.length, random, ctx);
        orgIds.push(orgId);
        const d = event.data as { max_users: number | null; name: string };
        state.set(orgId, { renamed: false, maxUsers: d.max_users, updated: false });
        batch.push(event);
      } else {
        const orgId = orgIds[Math.floor(random() * orgIds.length)];
        const event = updated(orgId, made, random, ctx);
        const changes = (event.data as { changes: { name?: string; max_users?: number } }).changes;
        const s = state.get(orgId)!;
        s.updated = true;
        if (changes.name !== undefined) s.renamed = changes.name.startsWith("Renamed");
        if (changes.max_users !== undefined) s.maxUsers = changes.max_users;
        batch.push(event);
      }
    }
    yield batch;
  }
  let updatedOrganizations = 0;
  let renamed = 0;
  let maxUsersSum = 0;
  for (const s of state.values()) {
    if (s.updated) updatedOrganizations++;
    if (s.renamed) renamed++;
    maxUsersSum += s.maxUsers ?? 0;
  }
  return { organizations: orgIds.length, updatedOrganizations, renamed, maxUsersSum };
}

interface BackendFigures {
  seed: { events: number; seconds: number };
  rebuild: { events: number; seconds: number; capped: boolean };
  expected: Expected;
  actual: { rows: number; updatedRows: number; renamed: number; maxUsersSum: number };
  ok: boolean;
}

async function benchBackend(backend: Backend): Promise<BackendFigures> {
  log(`\n[rebuild] ${backend}: seeding ${fmtInt(REBUILD_EVENTS)} organization events, ${fmtInt(SEED_BATCH)} per append`);
  const bench = await freshDatabase(backend);
  const { db } = bench;
  const store = new PostgresEventStore(db);
  const tag = `[${backend}]`;
  try {
    // ---- seed through the port
    const seedProgress = new Progress(`${tag} seed (generate + append ${SEED_BATCH}/call)`, REBUILD_EVENTS, "events");
    const seedStarted = performance.now();
    const batches = seedBatches(REBUILD_EVENTS);
    let appended = 0;
    let appendMs = 0;
    let expected: Expected;
    for (let k = 0; ; k++) {
      const next = batches.next();
      if (next.done) {
        expected = next.value;
        break;
      }
      const t0 = performance.now();
      await store.append(`import-organizations-${k}`, next.value, "no_stream");
      appendMs += performance.now() - t0;
      appended += next.value.length;
      seedProgress.update(appended);
    }
    seedProgress.done(appended, `(append calls alone: ${fmtInt((appended * 1000) / appendMs)} events/s)`);
    const seedSeconds = appendMs / 1000;
    log(`  ${tag} seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s, of which appending ${seedSeconds.toFixed(1)} s`);
    if (db.kind === "postgres") {
      // A live server's autovacuum would have analyzed `events` long before a replay; a
      // fresh bench database has not yet. PGlite has no autovacuum: it is measured as is.
      await db.query("ANALYZE events");
      await db.query("CHECKPOINT");
    }

    // ---- rebuild
    const projector = new Projector(store, db, [organizationsProjection]);
    const progress = new Progress(`${tag} rebuild organizations`, appended, "events");
    const started = performance.now();
    let capped = false;
    let result: { events: number; seconds: number };
    try {
      result = await projector.rebuild(["organizations"], (p) => {
        progress.update(p.applied);
        if (performance.now() - started > REBUILD_TIME_CAP_MS) {
          lastApplied = p.applied;
          throw new TimeCap();
        }
      });
    } catch (err) {
      if (!(err instanceof TimeCap)) throw err;
      capped = true;
      result = { events: lastApplied, seconds: (performance.now() - started) / 1000 };
    }
    progress.done(result.events, capped ? "(time-capped)" : "");

    // ---- verify the read model against the independent fold
    const [row] = await db.query<{ rows: string; updated_rows: string; renamed: string; max_users: string }>(
      `SELECT count(*)::text AS rows,
              count(*) FILTER (WHERE updated_at > created_at)::text AS updated_rows,
              count(*) FILTER (WHERE name LIKE 'Renamed %')::text AS renamed,
              coalesce(sum(max_users), 0)::text AS max_users
         FROM organizations`,
    );
    const actual = { rows: Number(row.rows), updatedRows: Number(row.updated_rows), renamed: Number(row.renamed), maxUsersSum: Number(row.max_users) };
    const ok =
      !capped &&
      result.events === appended &&
      actual.rows === expected.organizations &&
      actual.updatedRows === expected.updatedOrganizations &&
      actual.renamed === expected.renamed &&
      actual.maxUsersSum === expected.maxUsersSum;
    if (result.events !== appended) log(`  ${tag} WARNING: the rebuild applied ${fmtInt(result.events)} of the ${fmtInt(appended)} events appended`);
    log(
      `  ${tag} organizations: ${fmtInt(actual.rows)} rows, expected ${fmtInt(expected.organizations)} distinct organizations` +
        ` (${fmtInt(actual.updatedRows)}/${fmtInt(expected.updatedOrganizations)} updated, sum(max_users) ${actual.maxUsersSum}/${expected.maxUsersSum}) -> ${ok ? "OK" : "MISMATCH"}`,
    );
    await store.close();
    return { seed: { events: appended, seconds: seedSeconds }, rebuild: { ...result, capped }, expected, actual, ok };
  } finally {
    await bench.drop();
  }
}

let lastApplied = 0;

export async function benchRebuild(): Promise<ModuleResult> {
  const started = performance.now();
  const figures: Partial<Record<Backend, BackendFigures>> = {};
  for (const backend of BACKENDS) figures[backend] = await benchBackend(backend);
  const row = (key: string, label: string, pick: (f: BackendFigures, b: Backend) => Cell, extra: Partial<Row> = {}): Row => {
    const cells: Row["cells"] = {};
    for (const b of BACKENDS) if (figures[b]) cells[b] = pick(figures[b]!, b);
    return { key, label, cells, ...extra };
  };
  return {
    module: "rebuild",
    sections: [
      {
        title: `Projection rebuild: organizations from ${fmtInt(REBUILD_EVENTS)} events (${Math.round((1 - UPDATE_SHARE) * 100)}% OrganizationCreated, ${Math.round(UPDATE_SHARE * 100)}% OrganizationUpdated)`,
        rows: [
          row("seed.append_1000", `seed: port append, ${fmtInt(SEED_BATCH)} events per call`, (f) => {
            const rate = f.seed.events / f.seed.seconds;
            return { value: rate, text: `${fmtInt(rate)} ev/s (${f.seed.seconds.toFixed(1)} s)`, detail: f.seed };
          }),
          row(
            "rebuild.organizations",
            "Projector.rebuild(['organizations'])",
            (f, b) => {
              const rate = f.rebuild.events / f.rebuild.seconds;
              return {
                value: rate,
                text: `${fmtInt(rate)} ev/s (${fmtInt(f.rebuild.events)} ev in ${f.rebuild.seconds.toFixed(1)} s)${f.rebuild.capped ? " [time-capped]" : ""}`,
                pass: b === "postgres" ? rate >= TARGET_POSTGRES : undefined,
                detail: f.rebuild,
              };
            },
            { target: `>= ${fmtInt(TARGET_POSTGRES)} ev/s (postgres)` },
          ),
          row(
            "rebuild.check",
            "rows = distinct organizations (and fold checks)",
            (f) => ({
              value: f.actual.rows,
              text:
                `${f.ok ? "OK" : "MISMATCH"} ${fmtInt(f.actual.rows)}/${fmtInt(f.expected.organizations)} rows` +
                (f.rebuild.events !== f.seed.events ? `, applied ${fmtInt(f.rebuild.events)}/${fmtInt(f.seed.events)} events` : ""),
              pass: f.ok,
              detail: { expected: f.expected, actual: f.actual },
            }),
            { derived: true, target: "OK" },
          ),
          row("rebuild.vs_postgres", "rate relative to PostgreSQL", (f) => {
            const pg = figures.postgres;
            const r = pg ? f.rebuild.events / f.rebuild.seconds / (pg.rebuild.events / pg.rebuild.seconds) : NaN;
            return { value: r, text: Number.isFinite(r) ? `${r.toFixed(2)}x` : "-" };
          }, { derived: true }),
        ],
      },
    ],
    notes: [
      `Seed: import streams of ${fmtInt(SEED_BATCH)} events per append call (rate counts the append calls only, not generating the events); the rebuild uses the Projector's default batch size. PostgreSQL: ANALYZE events after the seed (autovacuum would have); PGlite: no statistics (it has no autovacuum).`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  console.log(renderTable([await benchRebuild()], {}));
}
