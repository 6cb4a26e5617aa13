import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { chatMessages, chatSessions, type ChatMessageRow, type ChatSessionRow } from "./schema";

/** A user's own sessions, most recently active first. */
export async function listSessions(db: Drizzle, organizationId: string, userId: string, page: { offset: number; limit: number }): Promise<{ rows: ChatSessionRow[]; total: number }> {
  const where = and(eq(chatSessions.organizationId, organizationId), eq(chatSessions.userId, userId));
  const [rows, [{ count }]] = await Promise.all([
    db.select().from(chatSessions).where(where).orderBy(desc(chatSessions.updatedAt), desc(chatSessions.id)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(chatSessions).where(where),
  ]);
  return { rows, total: count };
}

/** The session, only if it is the user's own in the organization. */
export async function getSession(db: Drizzle, organizationId: string, userId: string, id: string): Promise<ChatSessionRow | null> {
  const [row] = await db
    .select()
    .from(chatSessions)
    .where(and(eq(chatSessions.id, id), eq(chatSessions.organizationId, organizationId), eq(chatSessions.userId, userId)))
    .limit(1);
  return row ?? null;
}

/** A session's transcript in posting order. */
export async function listMessages(db: Drizzle, organizationId: string, sessionId: string, page: { offset: number; limit: number }): Promise<{ rows: ChatMessageRow[]; total: number }> {
  const where = and(eq(chatMessages.sessionId, sessionId), eq(chatMessages.organizationId, organizationId));
  const [rows, [{ count }]] = await Promise.all([
    db.select().from(chatMessages).where(where).orderBy(asc(chatMessages.lastPosition), asc(chatMessages.id)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(chatMessages).where(where),
  ]);
  return { rows, total: count };
}
