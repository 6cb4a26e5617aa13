import { and, asc, eq, ilike, inArray, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { permissions, type PermissionRow } from "./schema";

export interface PermissionFilter {
  /** Case-insensitive substring of the name, resource, action or description. */
  search?: string;
  resource?: string;
  action?: string;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => "\\" + c);
}

function conditionsOf(filter: PermissionFilter): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.resource) conditions.push(eq(permissions.resource, filter.resource));
  if (filter.action) conditions.push(eq(permissions.action, filter.action));
  if (filter.search) {
    const p = `%${escapeLike(filter.search)}%`;
    // `user:create` finds `user.create`: the separator is either.
    const asName = `%${escapeLike(filter.search.replace(":", "."))}%`;
    conditions.push(or(ilike(permissions.name, asName), ilike(permissions.resource, p), ilike(permissions.action, p), ilike(permissions.description, p))!);
  }
  return conditions.length ? and(...conditions) : undefined;
}

export async function listPermissions(
  db: Drizzle,
  filter: PermissionFilter,
  page?: { offset: number; limit: number },
): Promise<{ rows: PermissionRow[]; total: number }> {
  const where = conditionsOf(filter);
  const query = db.select().from(permissions).where(where).orderBy(asc(permissions.resource), asc(permissions.action));
  const [rows, [{ count }]] = await Promise.all([
    page ? query.offset(page.offset).limit(page.limit) : query,
    db.select({ count: sql<number>`count(*)::int` }).from(permissions).where(where),
  ]);
  return { rows, total: count };
}

export async function getPermission(db: Drizzle, id: string): Promise<PermissionRow | null> {
  const [row] = await db.select().from(permissions).where(eq(permissions.id, id)).limit(1);
  return row ?? null;
}

export async function permissionsByIds(db: Drizzle, ids: string[]): Promise<PermissionRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(permissions).where(inArray(permissions.id, ids));
}

export async function permissionsByNames(db: Drizzle, names: string[]): Promise<PermissionRow[]> {
  if (names.length === 0) return [];
  return db.select().from(permissions).where(inArray(permissions.name, names));
}
