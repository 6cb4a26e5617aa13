import { and, eq } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { users, type UserRow } from "./schema";

export async function getUser(db: Drizzle, organizationId: string, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(and(eq(users.id, id), eq(users.organizationId, organizationId))).limit(1);
  return row ?? null;
}

/** Every account with this e-mail, across organizations (login without an organization). */
export async function findUsersByEmail(db: Drizzle, email: string, organizationId?: string): Promise<UserRow[]> {
  const key = email.trim().toLowerCase();
  return db
    .select()
    .from(users)
    .where(organizationId ? and(eq(users.emailKey, key), eq(users.organizationId, organizationId)) : eq(users.emailKey, key))
    .limit(50);
}

export async function countUsers(db: Drizzle, organizationId: string): Promise<{ total: number; active: number }> {
  const rows = await db.select({ isActive: users.isActive }).from(users).where(eq(users.organizationId, organizationId));
  return { total: rows.length, active: rows.filter((r) => r.isActive).length };
}
