/**
 * `npm run audit:export` (scripts/audit-export.ts) as an operator runs it: a child
 * process against the configured database (PGlite files under DATA_DIR; PostgreSQL by
 * DATABASE_URL when the run has one), writing redacted ndjson with a progress line.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pgliteClient, type SqlClient } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { PostgresEventStore } from "../../src/eventstore/postgres";
import type { NewEvent } from "../../src/eventstore/port";
import { SCHEMA_VERSION } from "../../src/eventstore/context";
import { freshPostgres, type TestDatabase } from "../support/databases";
import { HOOK_TIMEOUT_MS } from "./_helpers";

const ORG_A = "0190a1b2-0000-7000-8000-0000000000aa";
const ORG_B = "0190a1b2-0000-7000-8000-0000000000bb";
const USER = "0190a1b2-0000-7000-8000-000000000011";
const ARGON = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

const event = (type: string, org: string | null, data: Record<string, unknown>): NewEvent => ({
  id: Bun.randomUUIDv7(),
  type,
  data,
  metadata: { actor: { type: "user", id: USER }, organization_id: org, correlation_id: Bun.randomUUIDv7(), causation_id: null, ip: "10.0.0.9", user_agent: "cli", occurred_at: new Date().toISOString(), schema_version: SCHEMA_VERSION },
});

async function seed(db: SqlClient): Promise<void> {
  const store = new PostgresEventStore(db);
  await store.append(`user-${USER}`, [event("UserRegistered", ORG_A, { user_id: USER, organization_id: ORG_A, email: "a@x.test", password_sealed: "v1.k.iv.ct" })], "no_stream");
  await store.append(`user-${USER}`, [event("PasswordChanged", ORG_A, { user_id: USER, password_sealed: ARGON, reason: "change" })], "any");
  await store.append("reservation-email-x", [event("ReservationClaimed", ORG_A, { kind: "email", key: "x", owner: USER })], "no_stream");
  await store.append(`security-${ORG_B}`, [event("AccessDenied", ORG_B, { route: "/x", status: 403, reason: "no" })], "any");
  await store.append(`role-${USER}`, [event("RoleCreated", null, { role_id: USER, organization_id: ORG_B, name: "r" })], "any");
  await store.close();
}

interface Target {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "ll-audit-export-"));
  const lite = await PGlite.create(join(dir, "pglite"));
  const db = pgliteClient(lite);
  await migrate(db);
  await seed(db);
  await db.close();
  return { env: { DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function postgresTarget(): Promise<Target> {
  const database: TestDatabase = await freshPostgres();
  await seed(database.db);
  return { env: { DATABASE_URL: database.url! }, cleanup: () => database.drop() };
}

const targets: Array<[string, () => Promise<Target>]> = [["pglite", pgliteTarget]];
if (process.env.DATABASE_URL) targets.push(["postgres", postgresTarget]);

describe.each(targets)("npm run audit:export (%s)", (_kind, open) => {
  let target: Target;
  const outDir = mkdtempSync(join(tmpdir(), "ll-audit-out-"));

  beforeAll(async () => {
    target = await open();
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await target?.cleanup();
    rmSync(outDir, { recursive: true, force: true });
  }, HOOK_TIMEOUT_MS);

  const run = (args: string[]) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "error", ...target.env };
    const child = Bun.spawnSync([process.execPath, "scripts/audit-export.ts", ...args], { cwd: join(import.meta.dir, "../.."), env, stdout: "pipe", stderr: "pipe" });
    return { code: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
  };
  const lines = (file: string) => readFileSync(file, "utf8").trimEnd().split("\n").filter(Boolean).map((l) => JSON.parse(l));

  test("given a store with events, when exported to a file, then every event is a redacted ndjson line in position order, with progress", () => {
    const out = join(outDir, "all.ndjson");
    const r = run(["--out", out]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).toContain("audit:export: 5 events written");
    expect(r.stderr).toMatch(/audit:export: .*\(100%\)/);
    const events = lines(out);
    expect(events.map((e) => e.type)).toEqual(["UserRegistered", "PasswordChanged", "ReservationClaimed", "AccessDenied", "RoleCreated"]);
    expect(Object.keys(events[0]).sort()).toEqual(["data", "id", "metadata", "position", "recorded_at", "revision", "stream_id", "type"]);
    const text = readFileSync(out, "utf8");
    expect(text).not.toContain("$argon2");
    expect(text).not.toContain("password_sealed");
    expect(events[0].data).toEqual({ user_id: USER, organization_id: ORG_A, email: "a@x.test" });
    expect((statSync(out).mode & 0o777).toString(8)).toBe("600");
  });

  test("given --organization and --after-position, then only that organization's audited events after the position", () => {
    const all = lines(join(outDir, "all.ndjson"));
    const outB = join(outDir, "b.ndjson");
    expect(run(["--out", outB, "--organization", ORG_B]).code).toBe(0);
    // The index's rule: the data's organization first, so RoleCreated (metadata null) is B's.
    expect(lines(outB).map((e) => e.type)).toEqual(["AccessDenied", "RoleCreated"]);
    const outA = join(outDir, "a.ndjson");
    expect(run(["--out", outA, "--organization", ORG_A.toUpperCase(), "--after-position", all[0].position]).code).toBe(0);
    // The reservation is technical: not an organization's audit event.
    expect(lines(outA).map((e) => e.type)).toEqual(["PasswordChanged"]);
  });

  test("given bad arguments, then exit status 2 and the usage line", () => {
    for (const args of [[], ["--out"], ["--out", "x", "--after-position", "-1"], ["--out", "x", "--organization", "acme"], ["--bogus", "1"]]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("usage: npm run audit:export");
    }
  });
});
