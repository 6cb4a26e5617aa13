import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { apiKeys, apiKeyUsage, type ApiKeyRow } from "./schema";

/** A key as lists show it: the row (its hash is never selected) and its last use. */
export type ApiKeyListing = Omit<ApiKeyRow, "keyHash" | "lastPosition"> & { lastUsedAt: Date | null; uses: number };

const listing = {
  id: apiKeys.id,
  organizationId: apiKeys.organizationId,
  createdBy: apiKeys.createdBy,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  scopes: apiKeys.scopes,
  status: apiKeys.status,
  expiresAt: apiKeys.expiresAt,
  graceUntil: apiKeys.graceUntil,
  rotatedTo: apiKeys.rotatedTo,
  revokedAt: apiKeys.revokedAt,
  createdAt: apiKeys.createdAt,
  updatedAt: apiKeys.updatedAt,
  lastUsedAt: apiKeyUsage.lastUsedAt,
  uses: sql<number>`coalesce(${apiKeyUsage.uses}, 0)::int`,
};

export async function getApiKey(db: Drizzle, id: string): Promise<ApiKeyListing | null> {
  const [row] = await db.select(listing).from(apiKeys).leftJoin(apiKeyUsage, eq(apiKeyUsage.keyId, apiKeys.id)).where(eq(apiKeys.id, id)).limit(1);
  return (row as ApiKeyListing | undefined) ?? null;
}

export interface ApiKeyFilter {
  /** Only this organization's keys; every organization's when absent (super admin). */
  organizationId?: string;
  /** Only keys this user created. */
  createdBy?: string;
  status?: string;
}

export async function listApiKeys(db: Drizzle, filter: ApiKeyFilter, page: { offset: number; limit: number }): Promise<{ rows: ApiKeyListing[]; total: number }> {
  const conditions: SQL[] = [];
  if (filter.organizationId) conditions.push(eq(apiKeys.organizationId, filter.organizationId));
  if (filter.createdBy) conditions.push(eq(apiKeys.createdBy, filter.createdBy));
  if (filter.status) conditions.push(eq(apiKeys.status, filter.status));
  const where = conditions.length ? and(...conditions) : undefined;
  const rows = await db
    .select(listing)
    .from(apiKeys)
    .leftJoin(apiKeyUsage, eq(apiKeyUsage.keyId, apiKeys.id))
    .where(where)
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .limit(page.limit)
    .offset(page.offset);
  const [{ count }] = await db.select({ count: sql<number>`count(*)::int` }).from(apiKeys).where(where);
  return { rows: rows as ApiKeyListing[], total: count };
}
