import { and, asc, eq, getTableColumns, ilike, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { organizations } from "../organizations/schema";
import { users } from "../users/schema";
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

export interface RoleFilter {
  /** Only this organization's roles; every tenant organization's when absent (super admin). */
  organizationId?: string;
  /** Case-insensitive substring of the name, display name or description. */
  search?: string;
  isActive?: boolean;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => "\\" + c);
}

/**
 * Roles of an onboarding still in progress and of the platform's own organization are
 * not visible to any role query below, whoever asks (as with users).
 */
const tenantVisible = and(eq(organizations.provisioning, false), eq(organizations.isSystem, false))!;

export async function listRoles(db: Drizzle, filter: RoleFilter, page: { offset: number; limit: number }): Promise<{ rows: RoleRow[]; total: number }> {
  const conditions: SQL[] = [tenantVisible];
  if (filter.organizationId) conditions.push(eq(roles.organizationId, filter.organizationId));
  if (filter.isActive !== undefined) conditions.push(eq(roles.isActive, filter.isActive));
  if (filter.search) {
    const p = `%${escapeLike(filter.search)}%`;
    conditions.push(or(ilike(roles.name, p), ilike(roles.displayName, p), ilike(roles.description, p))!);
  }
  const where = and(...conditions);
  const [rows, [{ count }]] = await Promise.all([
    db
      .select(getTableColumns(roles))
      .from(roles)
      .innerJoin(organizations, eq(organizations.id, roles.organizationId))
      .where(where)
      .orderBy(asc(roles.organizationId), asc(roles.createdAt), asc(roles.id))
      .offset(page.offset)
      .limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(roles).innerJoin(organizations, eq(organizations.id, roles.organizationId)).where(where),
  ]);
  return { rows, total: count };
}

/** A role of a visible tenant organization; within `organizationId` when given. */
export async function getVisibleRole(db: Drizzle, id: string, organizationId?: string): Promise<RoleRow | null> {
  const [row] = await db
    .select(getTableColumns(roles))
    .from(roles)
    .innerJoin(organizations, eq(organizations.id, roles.organizationId))
    .where(and(eq(roles.id, id), tenantVisible, ...(organizationId ? [eq(roles.organizationId, organizationId)] : [])))
    .limit(1);
  return row ?? null;
}

/** How many users of the role's organization hold each role. */
export async function userCountsOf(db: Drizzle, rows: readonly RoleRow[]): Promise<Map<string, number>> {
  const out = new Map<string, number>(rows.map((r) => [r.id, 0]));
  if (rows.length === 0) return out;
  const counted = await db
    .select({ roleId: roles.id, count: sql<number>`count(${users.id})::int` })
    .from(roles)
    .innerJoin(users, and(eq(users.organizationId, roles.organizationId), sql`${roles.id}::text = any(${users.roleIds})`))
    .where(inArray(roles.id, rows.map((r) => r.id)))
    .groupBy(roles.id);
  for (const c of counted) out.set(c.roleId, c.count);
  return out;
}

/** The users of the organization that hold the role, per the users read model. */
export async function roleHolderIds(db: Drizzle, organizationId: string, roleId: string): Promise<string[]> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.organizationId, organizationId), sql`${roleId}::text = any(${users.roleIds})`));
  return rows.map((r) => r.id);
}
