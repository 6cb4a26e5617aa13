/**
 * Real databases for tests: PGlite always, PostgreSQL when DATABASE_URL is set (CI sets
 * it). Every suite gets its own fresh, migrated database; nothing is mocked.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { pgliteClient, postgresClient, type SqlClient } from "../../src/db/client";
import { migrate } from "../../src/db/migrate";

export interface TestDatabase {
  kind: "pglite" | "postgres";
  db: SqlClient;
  /** Connection URL (postgres only), for child processes. */
  url?: string;
  drop(): Promise<void>;
}

let template: Promise<Blob> | undefined;

/** initdb + migrations once per test process; later instances load the migrated files. */
function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    const lite = await PGlite.create();
    await migrate(pgliteClient(lite));
    const blob = await lite.dumpDataDir("none");
    await lite.close();
    return blob;
  })();
  return template;
}

export async function freshPglite(): Promise<TestDatabase> {
  const lite = await PGlite.create({ loadDataDir: await migratedTemplate() });
  const db = pgliteClient(lite);
  return { kind: "pglite", db, drop: () => db.close() };
}

export async function freshPostgres(serverUrl = process.env.DATABASE_URL!): Promise<TestDatabase> {
  const name = `ll_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = postgresClient(url.toString(), { max: 20 });
  await migrate(db);
  return {
    kind: "postgres",
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      const again = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await again.end();
    },
  };
}

/** The database kinds this run can test: PGlite always, Postgres when DATABASE_URL is set. */
export function databaseKinds(): Array<{ kind: "pglite" | "postgres"; open: () => Promise<TestDatabase> }> {
  const kinds: Array<{ kind: "pglite" | "postgres"; open: () => Promise<TestDatabase> }> = [{ kind: "pglite", open: freshPglite }];
  if (process.env.DATABASE_URL) kinds.push({ kind: "postgres", open: () => freshPostgres() });
  return kinds;
}
