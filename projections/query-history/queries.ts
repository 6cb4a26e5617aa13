import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { queryHistory, type QueryHistoryRow } from "./schema";

export interface HistoryFilter {
  organizationId: string;
  userId: string;
  dataSourceId?: string;
  status?: "executed" | "rejected" | "failed";
  source?: "question" | "sql" | "chat";
}

/** A user's own, not hidden queries, newest first. */
export async function listHistory(db: Drizzle, filter: HistoryFilter, page: { offset: number; limit: number }): Promise<{ rows: QueryHistoryRow[]; total: number }> {
  const conditions: SQL[] = [eq(queryHistory.organizationId, filter.organizationId), eq(queryHistory.userId, filter.userId), eq(queryHistory.hidden, false)];
  if (filter.dataSourceId) conditions.push(eq(queryHistory.dataSourceId, filter.dataSourceId));
  if (filter.status) conditions.push(eq(queryHistory.status, filter.status));
  if (filter.source) conditions.push(eq(queryHistory.source, filter.source));
  const where = and(...conditions);
  const [rows, [{ count }]] = await Promise.all([
    db.select().from(queryHistory).where(where).orderBy(desc(queryHistory.createdAt), desc(queryHistory.queryId)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(queryHistory).where(where),
  ]);
  return { rows, total: count };
}

export async function getHistoryEntry(db: Drizzle, organizationId: string, queryId: string): Promise<QueryHistoryRow | null> {
  const [row] = await db
    .select()
    .from(queryHistory)
    .where(and(eq(queryHistory.queryId, queryId), eq(queryHistory.organizationId, organizationId)))
    .limit(1);
  return row ?? null;
}
