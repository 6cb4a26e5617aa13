import { and, asc, eq, gt, isNull, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { dataSources } from "../data-sources/schema";
import { databaseAccess, type DatabaseAccessRow } from "./schema";

/** A grant with its data source's current name (it may have been renamed since the grant). */
export type AccessView = DatabaseAccessRow & { database: string };

export type AccessStatusFilter = "active" | "revoked" | "expired" | "all";

/**
 * A user's grants. "active" means usable now: a grant whose expiry has passed but whose
 * AccessExpired is not recorded yet (nobody has tried to use it) is already "expired".
 */
export async function listUserAccess(
  db: Drizzle,
  organizationId: string,
  userId: string,
  status: AccessStatusFilter,
  page: { offset: number; limit: number },
  now = new Date(),
): Promise<{ rows: AccessView[]; total: number }> {
  const conditions: SQL[] = [eq(databaseAccess.userId, userId), eq(databaseAccess.organizationId, organizationId)];
  const runOut = and(eq(databaseAccess.status, "active"), sql`${databaseAccess.expiresAt} <= ${now.toISOString()}::timestamptz`)!;
  if (status === "active") conditions.push(eq(databaseAccess.status, "active"), or(isNull(databaseAccess.expiresAt), gt(databaseAccess.expiresAt, now))!);
  else if (status === "expired") conditions.push(or(eq(databaseAccess.status, "expired"), runOut)!);
  else if (status === "revoked") conditions.push(eq(databaseAccess.status, "revoked"));
  const where = and(...conditions);
  const [rows, [{ count }]] = await Promise.all([
    db
      .select({ access: databaseAccess, currentName: dataSources.name })
      .from(databaseAccess)
      .leftJoin(dataSources, eq(dataSources.id, databaseAccess.dataSourceId))
      .where(where)
      .orderBy(asc(databaseAccess.grantedAt), asc(databaseAccess.accessId))
      .offset(page.offset)
      .limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(databaseAccess).where(where),
  ]);
  return { rows: rows.map((r) => ({ ...r.access, database: r.currentName ?? r.access.dataSourceName })), total: count };
}

export async function getAccess(db: Drizzle, accessId: string): Promise<AccessView | null> {
  const [row] = await db
    .select({ access: databaseAccess, currentName: dataSources.name })
    .from(databaseAccess)
    .leftJoin(dataSources, eq(dataSources.id, databaseAccess.dataSourceId))
    .where(eq(databaseAccess.accessId, accessId))
    .limit(1);
  return row ? { ...row.access, database: row.currentName ?? row.access.dataSourceName } : null;
}

/** Users holding a live grant on the data source (for ending them when it is deleted). */
export async function usersWithAccessTo(db: Drizzle, dataSourceId: string): Promise<string[]> {
  const rows = await db
    .selectDistinct({ userId: databaseAccess.userId })
    .from(databaseAccess)
    .where(and(eq(databaseAccess.dataSourceId, dataSourceId), eq(databaseAccess.status, "active")));
  return rows.map((r) => r.userId);
}
