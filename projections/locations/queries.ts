import { and, asc, eq, ilike, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { users, type UserRow } from "../users/schema";
import { locations, userLocations, type LocationRow } from "./schema";

export interface LocationFilter {
  /** Every organization's locations when absent (super admin). */
  organizationId?: string;
  /** Case-insensitive substring of the name, code, city or description. */
  search?: string;
  isActive?: boolean;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => "\\" + c);
}

export async function listLocations(db: Drizzle, filter: LocationFilter, page: { offset: number; limit: number }): Promise<{ rows: LocationRow[]; total: number }> {
  const conditions: SQL[] = [];
  if (filter.organizationId) conditions.push(eq(locations.organizationId, filter.organizationId));
  if (filter.isActive !== undefined) conditions.push(eq(locations.isActive, filter.isActive));
  if (filter.search) {
    const p = `%${escapeLike(filter.search)}%`;
    conditions.push(or(ilike(locations.name, p), ilike(locations.code, p), ilike(locations.city, p), ilike(locations.description, p))!);
  }
  const where = conditions.length ? and(...conditions) : undefined;
  const [rows, [{ count }]] = await Promise.all([
    db.select().from(locations).where(where).orderBy(asc(locations.createdAt), asc(locations.id)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(locations).where(where),
  ]);
  return { rows, total: count };
}

/** The location, within `organizationId` when given. */
export async function getLocation(db: Drizzle, id: string, organizationId?: string): Promise<LocationRow | null> {
  const [row] = await db
    .select()
    .from(locations)
    .where(and(eq(locations.id, id), ...(organizationId ? [eq(locations.organizationId, organizationId)] : [])))
    .limit(1);
  return row ?? null;
}

export interface UserLocation {
  location: LocationRow;
  isPrimary: boolean;
  assignedAt: Date;
}

/**
 * A user's locations, primary first. Joined with the live locations: an assignment to a
 * location deleted a moment ago is not shown while its removal is being recorded.
 */
export async function locationsOfUser(db: Drizzle, organizationId: string, userId: string): Promise<UserLocation[]> {
  const rows = await db
    .select({ location: locations, isPrimary: userLocations.isPrimary, assignedAt: userLocations.assignedAt })
    .from(userLocations)
    .innerJoin(locations, eq(locations.id, userLocations.locationId))
    .where(and(eq(userLocations.userId, userId), eq(userLocations.organizationId, organizationId), eq(locations.organizationId, organizationId)))
    .orderBy(sql`${userLocations.isPrimary} desc`, asc(userLocations.assignedAt), asc(locations.name));
  return rows;
}

export interface LocationUser {
  user: UserRow;
  isPrimary: boolean;
  assignedAt: Date;
}

/** The users assigned to a location (live users only), in assignment order. */
export async function usersOfLocation(
  db: Drizzle,
  organizationId: string,
  locationId: string,
  page: { offset: number; limit: number },
): Promise<{ rows: LocationUser[]; total: number }> {
  const where = and(eq(userLocations.locationId, locationId), eq(userLocations.organizationId, organizationId), eq(users.organizationId, organizationId));
  const [rows, [{ count }]] = await Promise.all([
    db
      .select({ user: users, isPrimary: userLocations.isPrimary, assignedAt: userLocations.assignedAt })
      .from(userLocations)
      .innerJoin(users, eq(users.id, userLocations.userId))
      .where(where)
      .orderBy(asc(userLocations.assignedAt), asc(users.id))
      .offset(page.offset)
      .limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(userLocations).innerJoin(users, eq(users.id, userLocations.userId)).where(where),
  ]);
  return { rows, total: count };
}

/** Every user id with an assignment row to the location, whatever the user's state: the deletion sweep. */
export async function assignedUserIds(db: Drizzle, locationId: string): Promise<string[]> {
  const rows = await db.select({ userId: userLocations.userId }).from(userLocations).where(eq(userLocations.locationId, locationId));
  return rows.map((r) => r.userId);
}
