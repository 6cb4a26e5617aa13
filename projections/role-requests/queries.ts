import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { roleRequests, type RoleRequestRow } from "./schema";

export interface RoleRequestFilter {
  /** Every organization's requests when absent (super admin). */
  organizationId?: string;
  /** Only this requester's. */
  userId?: string;
  status?: string;
  roleId?: string;
}

export async function listRoleRequests(
  db: Drizzle,
  filter: RoleRequestFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: RoleRequestRow[]; total: number }> {
  const conditions: SQL[] = [];
  if (filter.organizationId) conditions.push(eq(roleRequests.organizationId, filter.organizationId));
  if (filter.userId) conditions.push(eq(roleRequests.userId, filter.userId));
  if (filter.status) conditions.push(eq(roleRequests.status, filter.status));
  if (filter.roleId) conditions.push(eq(roleRequests.roleId, filter.roleId));
  const where = conditions.length ? and(...conditions) : undefined;
  const [rows, [{ count }]] = await Promise.all([
    db.select().from(roleRequests).where(where).orderBy(asc(roleRequests.createdAt), asc(roleRequests.id)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(roleRequests).where(where),
  ]);
  return { rows, total: count };
}

/** The request, within `organizationId` when given. */
export async function getRoleRequest(db: Drizzle, id: string, organizationId?: string): Promise<RoleRequestRow | null> {
  const [row] = await db
    .select()
    .from(roleRequests)
    .where(and(eq(roleRequests.id, id), ...(organizationId ? [eq(roleRequests.organizationId, organizationId)] : [])))
    .limit(1);
  return row ?? null;
}
