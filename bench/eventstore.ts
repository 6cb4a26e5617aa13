/**
 * Event store append throughput through the port (`PostgresEventStore.append` ->
 * `ll_append`), against raw INSERTs of the same rows into a plain copy of the `events`
 * table on the same database.
 *
 * Goal (issue): appends >= 0.5x raw inserts, single events and batches of 100.
 *
 * PostgreSQL runs C concurrent appenders (a server takes parallel requests); PGlite is
 * one connection, so C = 1 there.
 */
import type { SqlClient } from "../src/db/client";
import { PostgresEventStore } from "../src/eventstore/postgres";
import type { NewEvent } from "../src/eventstore/port";
import { stream } from "../src/eventstore/streams";
import { adminContext, BASE_TIME, created, rng, updated } from "./data";
import type { Cell, ModuleResult, Row, Section } from "./report";
import {
  BACKENDS,
  freshDatabase,
  fmtInt,
  fmtMs,
  fmtRatio,
  log,
  runInterleaved,
  size,
  type Backend,
  type Phase,
  type PoolResult,
} from "./support";

export const POSTGRES_CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
export const SINGLE_APPENDS = size(20_000);
export const BATCH_CALLS = size(1_000);
export const BATCH_SIZE = 100;
/** Compared phases alternate in this many slices (see runInterleaved). */
const ROUNDS = 4;
const RATIO_TARGET = 0.5;

/** The `events` DDL without the append-only triggers and without ll_append. */
const RAW_DDL = `
CREATE TABLE raw_events (
  global_position bigserial PRIMARY KEY,
  stream_id       text        NOT NULL,
  stream_revision bigint      NOT NULL,
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT raw_events_stream_revision_key UNIQUE (stream_id, stream_revision),
  CONSTRAINT raw_events_event_id_key UNIQUE (event_id)
);
CREATE INDEX raw_events_type_position_idx ON raw_events (event_type, global_position);`;

interface RawRow {
  streamId: string;
  revision: number;
  event: NewEvent;
}

function rawParams(rows: readonly RawRow[]): unknown[] {
  const params: unknown[] = [];
  for (const r of rows) {
    params.push(r.streamId, r.revision, r.event.id, r.event.type, JSON.stringify(r.event.data), JSON.stringify(r.event.metadata));
  }
  return params;
}

function rawInsertSql(rows: number): string {
  const values: string[] = [];
  for (let i = 0; i < rows; i++) {
    const p = i * 6;
    values.push(`($${p + 1}, $${p + 2}, $${p + 3}::uuid, $${p + 4}, $${p + 5}::jsonb, $${p + 6}::jsonb)`);
  }
  // RETURNING: an application needs the position back, as the port returns it.
  return `INSERT INTO raw_events (stream_id, stream_revision, event_id, event_type, data, metadata) VALUES ${values.join(", ")} RETURNING global_position`;
}

/** A fresh organization stream: one OrganizationCreated, or Created + (n-1) Updated. */
function organizationStream(seed: number, n: number, events: number): { streamId: string; events: NewEvent[] } {
  const random = rng(seed);
  const orgId = Bun.randomUUIDv7();
  const at = new Date(BASE_TIME + n * 1000);
  const ctx = adminContext(random, at, ADMIN_ID);
  const list = [created(orgId, n, random, ctx)];
  for (let k = 1; k < events; k++) list.push(updated(orgId, n * 1000 + k, random, adminContext(random, new Date(at.getTime() + k), ADMIN_ID)));
  return { streamId: stream.organization(orgId), events: list };
}

const ADMIN_ID = "0190a1b2-0000-7000-8000-000000000001";

/** Updates to be appended to a worker's own stream; the org id is filled in by the worker. */
function updateBatch(seed: number, n: number, events: number): NewEvent[] {
  const random = rng(seed);
  const list: NewEvent[] = [];
  for (let k = 0; k < events; k++) list.push(updated("", n * 1000 + k, random, adminContext(random, new Date(BASE_TIME + n * 1000 + k), ADMIN_ID)));
  return list;
}

function forOrganization(events: NewEvent[], orgId: string): NewEvent[] {
  for (const e of events) {
    (e.data as { organization_id: string }).organization_id = orgId;
    e.metadata.organization_id = orgId;
  }
  return events;
}

async function checkpoint(db: SqlClient): Promise<void> {
  // Same starting line for every phase: dirty pages from the previous one are flushed.
  if (db.kind === "postgres") await db.query("CHECKPOINT");
}

interface BackendFigures {
  concurrency: number;
  singleNoStream: PoolResult;
  singleExpected: PoolResult;
  singleRaw: PoolResult;
  batchNoStream: PoolResult;
  batchExpected: PoolResult;
  batchRaw: PoolResult;
}

async function benchBackend(backend: Backend): Promise<BackendFigures> {
  const concurrency = backend === "postgres" ? POSTGRES_CONCURRENCY : 1;
  log(`\n[eventstore] ${backend}: concurrency ${concurrency}, ${fmtInt(SINGLE_APPENDS)} single appends per variant, ${fmtInt(BATCH_CALLS)} calls x ${BATCH_SIZE} events per batch variant`);
  const bench = await freshDatabase(backend, { maxConnections: concurrency + 2 });
  const { db } = bench;
  const store = new PostgresEventStore(db);
  const tag = `[${backend}]`;
  try {
    for (const statement of RAW_DDL.split(";").filter((s) => s.trim())) await db.query(statement);
    const warmup = concurrency * 4;

    const between = () => checkpoint(db);

    // Each worker owns one organization stream for the expected-revision variants.
    const owned = Array.from({ length: concurrency }, (_, w) => organizationStream(9_000_000 + w, 9_000_000 + w, 1));
    const revisions: bigint[] = [];
    const ownedIds: string[] = [];
    for (const o of owned) {
      const r = await store.append(o.streamId, o.events, "no_stream");
      revisions.push(r.nextRevision);
      ownedIds.push((o.events[0].data as { organization_id: string }).organization_id);
    }

    // ---- 1. single events: a new organization stream each ("no_stream"), the worker's own
    // stream (expected revision), and raw INSERTs of the same rows, in alternating rounds.
    const singles = Array.from({ length: SINGLE_APPENDS + warmup }, (_, i) => organizationStream(1_000 + i, i, 1));
    const singleUpdates = Array.from({ length: SINGLE_APPENDS + warmup }, (_, i) => updateBatch(5_000_000 + i, i, 1));
    log(`  ${tag} generated ${fmtInt(singles.length)} OrganizationCreated streams and ${fmtInt(singleUpdates.length)} updates`);
    const rawSingleSql = rawInsertSql(1);
    const singlePhases: Phase[] = [
      {
        label: `${tag} port append 1 event, new stream, no_stream`,
        ops: SINGLE_APPENDS,
        concurrency,
        unitsPerOp: 1,
        unit: "events",
        op: (i) => store.append(singles[i].streamId, singles[i].events, "no_stream"),
      },
      {
        label: `${tag} raw INSERT 1 row`,
        ops: SINGLE_APPENDS,
        concurrency,
        unitsPerOp: 1,
        unit: "rows",
        // raw_events has its own unique index on event_id, so the same ids are fine here.
        op: (i) => db.query(rawSingleSql, rawParams([{ streamId: singles[i].streamId, revision: 0, event: singles[i].events[0] }])),
      },
      {
        label: `${tag} port append 1 event, expected revision`,
        ops: SINGLE_APPENDS,
        concurrency,
        unitsPerOp: 1,
        unit: "events",
        op: async (i, w) => {
          const r = await store.append(owned[w].streamId, forOrganization(singleUpdates[i], ownedIds[w]), revisions[w]);
          revisions[w] = r.nextRevision;
        },
      },
    ];
    // Warm every path on operations past the measured range (plans, connections, JIT).
    for (const phase of singlePhases) for (let i = SINGLE_APPENDS; i < SINGLE_APPENDS + warmup; i++) await phase.op(i, i % concurrency);
    const [singleNoStream, singleRaw, singleExpected] = await runInterleaved(singlePhases, { rounds: ROUNDS, between });
    singles.length = 0;
    singleUpdates.length = 0;

    // ---- 2. batches of 100 events: a new organization stream per call (Created + 99
    // Updated), the worker's own stream with 100 updates, and raw 100-row INSERTs.
    const batches = Array.from({ length: BATCH_CALLS + warmup }, (_, i) => organizationStream(20_000_000 + i, 100_000 + i, BATCH_SIZE));
    const batchUpdates = Array.from({ length: BATCH_CALLS + warmup }, (_, i) => updateBatch(30_000_000 + i, 200_000 + i, BATCH_SIZE));
    log(`  ${tag} generated ${fmtInt(batches.length)} streams of ${BATCH_SIZE} events and ${fmtInt(batchUpdates.length)} batches of updates`);
    const rawBatchSql = rawInsertSql(BATCH_SIZE);
    const rawRows = (b: { streamId: string; events: NewEvent[] }): RawRow[] => b.events.map((event, revision) => ({ streamId: b.streamId, revision, event }));
    const batchPhases: Phase[] = [
      {
        label: `${tag} port append ${BATCH_SIZE} events, new stream, no_stream`,
        ops: BATCH_CALLS,
        concurrency,
        unitsPerOp: BATCH_SIZE,
        unit: "events",
        op: (i) => store.append(batches[i].streamId, batches[i].events, "no_stream"),
      },
      {
        label: `${tag} raw INSERT ${BATCH_SIZE} rows/statement`,
        ops: BATCH_CALLS,
        concurrency,
        unitsPerOp: BATCH_SIZE,
        unit: "rows",
        op: (i) => db.query(rawBatchSql, rawParams(rawRows(batches[i]))),
      },
      {
        label: `${tag} port append ${BATCH_SIZE} events, expected revision`,
        ops: BATCH_CALLS,
        concurrency,
        unitsPerOp: BATCH_SIZE,
        unit: "events",
        op: async (i, w) => {
          const r = await store.append(owned[w].streamId, forOrganization(batchUpdates[i], ownedIds[w]), revisions[w]);
          revisions[w] = r.nextRevision;
        },
      },
    ];
    for (const phase of batchPhases) for (let i = BATCH_CALLS; i < BATCH_CALLS + warmup; i++) await phase.op(i, i % concurrency);
    const [batchNoStream, batchRaw, batchExpected] = await runInterleaved(batchPhases, { rounds: ROUNDS, between });
    batches.length = 0;
    batchUpdates.length = 0;

    // Sanity: everything the port acknowledged is in the table.
    const [{ n }] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM events");
    const expectedEvents =
      singleNoStream.units + singleExpected.units + batchNoStream.units + batchExpected.units + 2 * warmup * (1 + BATCH_SIZE) + concurrency;
    if (Number(n) !== expectedEvents) log(`  ${tag} WARNING: events table has ${n} rows, expected ${expectedEvents}`);
    else log(`  ${tag} events table holds ${fmtInt(Number(n))} rows as acknowledged`);

    await store.close();
    return { concurrency, singleNoStream, singleExpected, singleRaw, batchNoStream, batchExpected, batchRaw };
  } finally {
    await bench.drop();
  }
}

function rateCell(r: PoolResult, unit: string): Cell {
  return {
    value: r.perSecond,
    text: `${fmtInt(r.perSecond)} ${unit}/s (p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)})${r.capped ? " [time-capped]" : ""}`,
    detail: { ...r },
  };
}

function ratioCell(port: PoolResult, raw: PoolResult, target: number): Cell {
  const value = port.perSecond / raw.perSecond;
  return { value, text: fmtRatio(value), pass: value >= target };
}

export async function benchEventStore(): Promise<ModuleResult> {
  const started = performance.now();
  const figures: Partial<Record<Backend, BackendFigures>> = {};
  for (const backend of BACKENDS) figures[backend] = await benchBackend(backend);

  const row = (key: string, label: string, pick: (f: BackendFigures) => Cell, extra: Partial<Row> = {}): Row => {
    const cells: Row["cells"] = {};
    for (const b of BACKENDS) if (figures[b]) cells[b] = pick(figures[b]!);
    return { key, label, cells, ...extra };
  };
  const target = `>= ${RATIO_TARGET}x raw`;
  const single: Section = {
    title: `Appends, 1 event per call (${fmtInt(SINGLE_APPENDS)} calls; concurrency: postgres ${POSTGRES_CONCURRENCY}, pglite 1)`,
    rows: [
      row("append.single.no_stream", "port append, new stream (no_stream)", (f) => rateCell(f.singleNoStream, "ev")),
      row("append.single.expected", "port append, own stream (expected revision)", (f) => rateCell(f.singleExpected, "ev")),
      row("raw.single", "raw INSERT, 1 row per statement", (f) => rateCell(f.singleRaw, "rows")),
      row("ratio.single.no_stream", "ratio port/raw (no_stream)", (f) => ratioCell(f.singleNoStream, f.singleRaw, RATIO_TARGET), { derived: true, target }),
      row("ratio.single.expected", "ratio port/raw (expected revision)", (f) => ratioCell(f.singleExpected, f.singleRaw, RATIO_TARGET), { derived: true, target }),
    ],
  };
  const batch: Section = {
    title: `Appends, ${BATCH_SIZE} events per call (${fmtInt(BATCH_CALLS)} calls = ${fmtInt(BATCH_CALLS * BATCH_SIZE)} events)`,
    rows: [
      row("append.batch.no_stream", `port append, new stream (no_stream)`, (f) => rateCell(f.batchNoStream, "ev")),
      row("append.batch.expected", `port append, own stream (expected revision)`, (f) => rateCell(f.batchExpected, "ev")),
      row("raw.batch", `raw INSERT, ${BATCH_SIZE} rows per statement`, (f) => rateCell(f.batchRaw, "rows")),
      row("ratio.batch.no_stream", "ratio port/raw (no_stream)", (f) => ratioCell(f.batchNoStream, f.batchRaw, RATIO_TARGET), { derived: true, target }),
      row("ratio.batch.expected", "ratio port/raw (expected revision)", (f) => ratioCell(f.batchExpected, f.batchRaw, RATIO_TARGET), { derived: true, target }),
    ],
  };
  return {
    module: "eventstore",
    sections: [single, batch],
    notes: [
      "raw = INSERT ... RETURNING global_position into raw_events (same columns, constraints and indexes as events; no triggers, no ll_append), same driver and pool.",
      `Port and raw phases alternate in ${ROUNDS} rounds (each slice after CHECKPOINT on PostgreSQL), so background load hits them alike; every path is warmed on rows outside the measured range.`,
    ],
    seconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.main) {
  const { renderTable } = await import("./report");
  const result = await benchEventStore();
  console.log(renderTable([result], {}));
}
