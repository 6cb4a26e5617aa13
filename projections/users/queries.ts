import { and, asc, eq, getTableColumns, ilike, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { organizations } from "../organizations/schema";
import { roles } from "../roles/schema";
import { users, type UserRow } from "./schema";
import { emailKey } from "../../src/domain/user";

export async function getUser(db: Drizzle, organizationId: string, id: string): Promise<UserRow | null> {
  const [row] = await db.select().from(users).where(and(eq(users.id, id), eq(users.organizationId, organizationId))).limit(1);
  return row ?? null;
}

/** Every account with this e-mail, across organizations (login without an organization). */
export async function findUsersByEmail(db: Drizzle, email: string, organizationId?: string): Promise<UserRow[]> {
  const key = emailKey(email);
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

export interface UserFilter {
  /** Only this organization's users; every tenant organization when absent (super admin). */
  organizationId?: string;
  /** Case-insensitive substring of the e-mail, username, first, last or full name. */
  search?: string;
  isActive?: boolean;
  /** Holders of the role with this exact name in their own organization. */
  role?: string;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => "\\" + c);
}

/**
 * Users of an onboarding still in progress are not visible yet, and the platform's own
 * organization (super admins) is not a tenant: both are left out of every user query
 * below, whoever asks.
 */
const tenantVisible = and(eq(organizations.provisioning, false), eq(organizations.isSystem, false))!;

export async function listUsers(db: Drizzle, filter: UserFilter, page: { offset: number; limit: number }): Promise<{ rows: UserRow[]; total: number }> {
  const conditions: SQL[] = [tenantVisible];
  if (filter.organizationId) conditions.push(eq(users.organizationId, filter.organizationId));
  if (filter.isActive !== undefined) conditions.push(eq(users.isActive, filter.isActive));
  if (filter.search) {
    const p = `%${escapeLike(filter.search)}%`;
    conditions.push(
      or(
        ilike(users.email, p),
        ilike(users.username, p),
        ilike(users.firstName, p),
        ilike(users.lastName, p),
        sql`concat_ws(' ', ${users.firstName}, ${users.lastName}) ilike ${p}`,
      )!,
    );
  }
  if (filter.role) {
    // role_ids is text[]; role names are unique per organization, so the name picks one id per user's organization.
    conditions.push(
      sql`exists (select 1 from ${roles} where ${roles.organizationId} = ${users.organizationId} and ${roles.name} = ${filter.role} and ${roles.id}::text = any(${users.roleIds}))`,
    );
  }
  const where = and(...conditions);
  const [rows, [{ count }]] = await Promise.all([
    db
      .select(getTableColumns(users))
      .from(users)
      .innerJoin(organizations, eq(organizations.id, users.organizationId))
      .where(where)
      .orderBy(asc(users.createdAt), asc(users.id))
      .offset(page.offset)
      .limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(users).innerJoin(organizations, eq(organizations.id, users.organizationId)).where(where),
  ]);
  return { rows, total: count };
}

/** A user of a visible tenant organization; within `organizationId` when given. */
export async function getVisibleUser(db: Drizzle, id: string, organizationId?: string): Promise<UserRow | null> {
  const [row] = await db
    .select(getTableColumns(users))
    .from(users)
    .innerJoin(organizations, eq(organizations.id, users.organizationId))
    .where(and(eq(users.id, id), tenantVisible, ...(organizationId ? [eq(users.organizationId, organizationId)] : [])))
    .limit(1);
  return row ?? null;
}
