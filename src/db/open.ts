/**
 * Opens the read/write database for the configured mode: a Postgres server when
 * DATABASE_URL is set, otherwise PGlite files under DATA_DIR (one process at a time).
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { Config } from "../config";
import { pgliteClient, postgresClient, type SqlClient } from "./client";
import { acquireDataDirLock, type DataDirLock } from "./datadir-lock";

export interface OpenedDatabase {
  db: SqlClient;
  close(): Promise<void>;
}

export async function openDatabase(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<OpenedDatabase> {
  if (config.databaseUrl) {
    const db = postgresClient(config.databaseUrl, { max: 20 });
    try {
      await db.query("SELECT 1");
    } catch (err) {
      await db.close().catch(() => {});
      // Name the variable (the start's one line), never its credentials.
      throw new Error(`DATABASE_URL: cannot use ${describeServer(config.databaseUrl)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { db, close: () => db.close() };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const lock: DataDirLock = acquireDataDirLock(config.dataDir);
  try {
    const lite = await PGlite.create(join(config.dataDir, "pglite"));
    const db = pgliteClient(lite);
    return {
      db,
      async close() {
        await db.close();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** host:port/database of a Postgres URL, without user or password. */
function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname || "/"}`;
  } catch {
    return "the server";
  }
}
