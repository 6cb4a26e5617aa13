import { and, asc, eq, ilike, or, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { dataSources, type DataSourceRow } from "./schema";

/** A data source as routes show it: every column but the sealed password. */
export type DataSourceView = Omit<DataSourceRow, "passwordSealed" | "lastPosition"> & { hasPassword: boolean };

const view = {
  id: dataSources.id,
  organizationId: dataSources.organizationId,
  name: dataSources.name,
  type: dataSources.type,
  host: dataSources.host,
  port: dataSources.port,
  databaseName: dataSources.databaseName,
  username: dataSources.username,
  ssl: dataSources.ssl,
  version: dataSources.version,
  createdBy: dataSources.createdBy,
  createdAt: dataSources.createdAt,
  updatedAt: dataSources.updatedAt,
  deleted: dataSources.deleted,
  hasPassword: sql<boolean>`(${dataSources.passwordSealed} is not null)`.mapWith(Boolean),
};

export interface DataSourceFilter {
  /** Every organization's when absent (super admin). */
  organizationId?: string;
  /** Case-insensitive substring of the name, host or database name. */
  search?: string;
  type?: string;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => "\\" + c);

export async function listDataSources(db: Drizzle, filter: DataSourceFilter, page: { offset: number; limit: number }): Promise<{ rows: DataSourceView[]; total: number }> {
  const conditions: SQL[] = [eq(dataSources.deleted, false)];
  if (filter.organizationId) conditions.push(eq(dataSources.organizationId, filter.organizationId));
  if (filter.type) conditions.push(eq(dataSources.type, filter.type));
  if (filter.search) {
    const p = `%${escapeLike(filter.search)}%`;
    conditions.push(or(ilike(dataSources.name, p), ilike(dataSources.host, p), ilike(dataSources.databaseName, p))!);
  }
  const where = and(...conditions);
  const [rows, [{ count }]] = await Promise.all([
    db.select(view).from(dataSources).where(where).orderBy(asc(dataSources.createdAt), asc(dataSources.id)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(dataSources).where(where),
  ]);
  return { rows, total: count };
}

/** A live data source, within `organizationId` when given. */
export async function getDataSource(db: Drizzle, id: string, organizationId?: string): Promise<DataSourceView | null> {
  const [row] = await db
    .select(view)
    .from(dataSources)
    .where(and(eq(dataSources.id, id), eq(dataSources.deleted, false), ...(organizationId ? [eq(dataSources.organizationId, organizationId)] : [])))
    .limit(1);
  return row ?? null;
}

/** A live data source of the organization by name (exact, then ignoring case). */
export async function findDataSourceByName(db: Drizzle, organizationId: string, name: string): Promise<DataSourceView | null> {
  const rows = await db
    .select(view)
    .from(dataSources)
    .where(and(eq(dataSources.organizationId, organizationId), eq(dataSources.deleted, false), sql`lower(${dataSources.name}) = lower(${name.trim()})`))
    .limit(2);
  return rows.find((r) => r.name === name.trim()) ?? rows[0] ?? null;
}

/** Ids of the organization's live data sources (for the schema browser's default). */
export async function liveDataSourceIds(db: Drizzle, organizationId: string): Promise<string[]> {
  const rows = await db
    .select({ id: dataSources.id })
    .from(dataSources)
    .where(and(eq(dataSources.organizationId, organizationId), eq(dataSources.deleted, false)))
    .limit(2);
  return rows.map((r) => r.id);
}
