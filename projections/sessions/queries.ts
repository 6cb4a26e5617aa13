import { and, eq } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { sessions } from "./schema";

export async function activeSessionIds(db: Drizzle, userId: string): Promise<string[]> {
  const rows = await db.select({ id: sessions.id }).from(sessions).where(and(eq(sessions.userId, userId), eq(sessions.status, "active")));
  return rows.map((r) => r.id);
}
