import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { roles, type RoleRow } from "./schema";

export async function getRole(db: Drizzle, organizationId: string, id: string): Promise<RoleRow | null> {
  const [row] = await db.select().from(roles).where(and(eq(roles.id, id), eq(roles.organizationId, organizationId))).limit(1);
  return row ?? null;
}

export async function rolesOfOrganization(db: Drizzle, organizationId: string): Promise<RoleRow[]> {
  return db.select().from(roles).where(eq(roles.organizationId, organizationId)).orderBy(asc(roles.createdAt), asc(roles.name));
}

/** Role names are unique per organization, exact match (SPEC.md). */
export async function findRoleByName(db: Drizzle, organizationId: string, name: string): Promise<RoleRow | null> {
  const [row] = await db.select().from(roles).where(and(eq(roles.organizationId, organizationId), eq(roles.name, name))).limit(1);
  return row ?? null;
}

export async function rolesByIds(db: Drizzle, organizationId: string, ids: string[]): Promise<RoleRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(roles).where(and(eq(roles.organizationId, organizationId), inArray(roles.id, ids)));
}

export async function countRoles(db: Drizzle, organizationId: string): Promise<number> {
  const [{ count }] = await db.select({ count: sql<number>`count(*)::int` }).from(roles).where(eq(roles.organizationId, organizationId));
  return count;
}
