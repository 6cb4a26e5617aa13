import { and, asc, eq, ilike, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { organizations, type OrganizationRow } from "./schema";

export interface OrganizationFilter {
  isActive?: boolean;
  search?: string;
  includeSystem?: boolean;
}

/**
 * An organization being onboarded (`provisioning`) is invisible to every query here until
 * OrganizationOnboarded: all of an onboarding or none of it becomes visible. The
 * onboarding itself reads it with `getOrganization(..., { includeProvisioning: true })`.
 */
function visible(): SQL {
  return eq(organizations.provisioning, false);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => "\\" + c);
}

export async function listOrganizations(
  db: Drizzle,
  filter: OrganizationFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: OrganizationRow[]; total: number }> {
  const conditions: SQL[] = [visible()];
  if (filter.isActive !== undefined) conditions.push(eq(organizations.isActive, filter.isActive));
  if (!filter.includeSystem) conditions.push(eq(organizations.isSystem, false));
  if (filter.search) {
    const p = `%${escapeLike(filter.search)}%`;
    conditions.push(or(ilike(organizations.name, p), ilike(organizations.slug, p), ilike(organizations.domain, p))!);
  }
  const where = and(...conditions);
  const [rows, [{ count }]] = await Promise.all([
    db.select().from(organizations).where(where).orderBy(asc(organizations.createdAt), asc(organizations.id)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(organizations).where(where),
  ]);
  return { rows, total: count };
}

export async function getOrganization(db: Drizzle, id: string, options: { includeProvisioning?: boolean } = {}): Promise<OrganizationRow | null> {
  const condition = options.includeProvisioning ? eq(organizations.id, id) : and(eq(organizations.id, id), visible());
  const [row] = await db.select().from(organizations).where(condition).limit(1);
  return row ?? null;
}

/** Login accepts an organization by id, slug, domain or name, case-insensitively. */
export async function findOrganizationByIdentifier(db: Drizzle, identifier: string): Promise<OrganizationRow | null> {
  const key = identifier.trim().toLowerCase();
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(key);
  const [row] = await db
    .select()
    .from(organizations)
    .where(
      and(
        visible(),
        or(
          ...(isUuid ? [eq(organizations.id, key)] : []),
          eq(organizations.slug, key),
          eq(sql`lower(${organizations.domain})`, key),
          eq(sql`lower(${organizations.name})`, key),
        ),
      ),
    )
    .limit(1);
  return row ?? null;
}
