/**
 * `npm run audit:verify` (scripts/audit-verify.ts) as an operator runs it: a child process
 * against the configured database. It prints the report as JSON and exits 0 when every
 * chain is whole, 1 when one is broken (naming the event), 2 on a usage error.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pgliteClient, type SqlClient } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";
import { PostgresEventStore } from "../../src/eventstore/postgres";
import { metadataFor, systemContext } from "../../src/eventstore/context";
import { freshPostgres } from "../support/databases";
import { HOOK_TIMEOUT_MS } from "../api/_helpers";

interface Target {
  env: Record<string, string>;
  /** Runs SQL on the target's database (the script must not be running). */
  withDb<T>(fn: (db: SqlClient) => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

async function seed(db: SqlClient): Promise<string> {
  const store = new PostgresEventStore(db);
  const ev = (type: string, n: number) => ({ id: Bun.randomUUIDv7(), type, data: { n }, metadata: metadataFor(systemContext()) });
  await store.append("ledger-1", [ev("Opened", 0), ev("Credited", 1), ev("Credited", 2)], "no_stream");
  await store.append("ledger-2", [ev("Opened", 0)], "no_stream");
  const [victim] = await store.readStream("ledger-1", { fromRevision: 1n, limit: 1 });
  await store.close();
  return victim.id;
}

async function pgliteTarget(): Promise<Target & { victim: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ll-audit-verify-"));
  const path = join(dir, "pglite");
  const open = async () => pgliteClient(await PGlite.create(path));
  const db = await open();
  await migrate(db);
  const victim = await seed(db);
  await db.close();
  return {
    victim,
    env: { DATA_DIR: dir },
    async withDb(fn) {
      const client = await open();
      try {
        return await fn(client);
      } finally {
        await client.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresTarget(): Promise<Target & { victim: string }> {
  const database = await freshPostgres();
  const victim = await seed(database.db);
  return { victim, env: { DATABASE_URL: database.url! }, withDb: (fn) => fn(database.db), cleanup: () => database.drop() };
}

const targets: Array<[string, () => Promise<Target & { victim: string }>]> = [["pglite", pgliteTarget]];
if (process.env.DATABASE_URL) targets.push(["postgres", postgresTarget]);

describe.each(targets)("npm run audit:verify (%s)", (_kind, open) => {
  let target: Target & { victim: string };

  beforeAll(async () => {
    target = await open();
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await target?.cleanup();
  }, HOOK_TIMEOUT_MS);

  const run = (args: string[] = []) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "error", ...target.env };
    const child = Bun.spawnSync([process.execPath, "scripts/audit-verify.ts", ...args], { cwd: join(import.meta.dir, "../.."), env, stdout: "pipe", stderr: "pipe" });
    return { code: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
  };

  test("given untouched chains, when run, then it exits 0 with a valid report and a progress line", () => {
    const r = run();
    expect({ code: r.code, stderr: r.stderr.slice(-300) }).toMatchObject({ code: 0 });
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ valid: true, first_broken: null, events_checked: 4, streams_checked: 2 });
    expect(r.stderr).toContain("audit:verify");
  }, 120_000);

  test("given one event altered in the database, when run, then it exits 1 and names that event", async () => {
    await target.withDb(async (db) => {
      await db.query("ALTER TABLE events DISABLE TRIGGER USER");
      await db.query(`UPDATE events SET data = '{"n": 100}'::jsonb WHERE event_id = $1`, [target.victim]);
      await db.query("ALTER TABLE events ENABLE TRIGGER USER");
    });
    const r = run();
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.valid).toBe(false);
    expect(report.first_broken).toMatchObject({ event_id: target.victim, stream_id: "ledger-1", revision: "1" });
  }, 120_000);

  test("given an unknown flag, when run, then it exits 2 with the usage line", () => {
    const r = run(["--frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("usage: npm run audit:verify");
  }, 60_000);
});
