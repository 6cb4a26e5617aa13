/**
 * Applies the committed drizzle migrations (event store + read models). On a Postgres
 * server several API processes may start at once: an advisory lock makes them take turns.
 */
import { fileURLToPath } from "node:url";
import { migrate as migratePg } from "drizzle-orm/postgres-js/migrator";
import { migrate as migrateLite } from "drizzle-orm/pglite/migrator";
import type { SqlClient } from "./client";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));
const MIGRATION_LOCK = 7_244_015_001n;

export async function migrate(db: SqlClient): Promise<void> {
  if (db.kind === "pglite") {
    await migrateLite(db.drizzle as never, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  // Wait for the lock (not try): a second process just waits until the first has migrated.
  await db.query("SELECT 1");
  const lock = await waitForLock(db);
  try {
    await migratePg(db.drizzle as never, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await lock.release();
  }
}

async function waitForLock(db: SqlClient) {
  for (;;) {
    const lock = await db.tryAdvisoryLock(MIGRATION_LOCK);
    if (lock) return lock;
    await Bun.sleep(50);
  }
}
