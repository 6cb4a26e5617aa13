/**
 * What the /audit routes, the export and the benchmark ask of the audit index. Every
 * query takes the organization it is scoped to; only a super admin's calls pass none.
 */
import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, lt, sql, type SQL } from "drizzle-orm";
import type { Drizzle } from "../../src/db/client";
import { auditLog, type AuditLogRow } from "./schema";

/** An entry without the event's metadata, which only the raw replay shows: lists and exports skip parsing it. */
export type AuditEntryRow = Omit<AuditLogRow, "metadata">;
const { metadata: _metadata, ...entryColumns } = getTableColumns(auditLog);

export interface AuditFilter {
  /** Every organization when absent (super admin). */
  organizationId?: string;
  userId?: string;
  /** Any of these event types. */
  eventTypes?: readonly string[];
  resource?: string;
  resourceId?: string;
  status?: "success" | "failure";
  /** occurred_at >= from */
  from?: Date;
  /** occurred_at < to */
  to?: Date;
}

function conditions(f: AuditFilter): SQL | undefined {
  const c: SQL[] = [];
  if (f.organizationId) c.push(eq(auditLog.organizationId, f.organizationId));
  if (f.userId) c.push(eq(auditLog.userId, f.userId));
  if (f.eventTypes && f.eventTypes.length === 1) c.push(eq(auditLog.eventType, f.eventTypes[0]));
  else if (f.eventTypes && f.eventTypes.length > 1) c.push(inArray(auditLog.eventType, [...f.eventTypes]));
  if (f.resource) c.push(eq(auditLog.resource, f.resource));
  if (f.resourceId) c.push(eq(auditLog.resourceId, f.resourceId));
  if (f.status) c.push(eq(auditLog.status, f.status));
  if (f.from) c.push(gte(auditLog.occurredAt, f.from));
  if (f.to) c.push(lt(auditLog.occurredAt, f.to));
  return c.length ? and(...c) : undefined;
}

/** One page, newest first, and how many entries match in all. */
export async function listAuditLog(db: Drizzle, filter: AuditFilter, page: { offset: number; limit: number }): Promise<{ rows: AuditEntryRow[]; total: number }> {
  const where = conditions(filter);
  const [rows, [{ count }]] = await Promise.all([
    db.select(entryColumns).from(auditLog).where(where).orderBy(desc(auditLog.position)).offset(page.offset).limit(page.limit),
    db.select({ count: sql<number>`count(*)::int` }).from(auditLog).where(where),
  ]);
  return { rows, total: count };
}

/**
 * Keyset page in position order: the entries after `afterPosition`. Exports walk the
 * index with it, one page at a time, so memory does not grow with the export's size.
 */
export async function auditPageAfter(db: Drizzle, filter: AuditFilter, afterPosition: bigint, limit: number): Promise<AuditEntryRow[]> {
  const where = and(gt(auditLog.position, afterPosition), conditions(filter));
  return db.select(entryColumns).from(auditLog).where(where).orderBy(asc(auditLog.position)).limit(limit);
}

/** The same keyset page with each event's metadata: the raw replay of an organization's events. */
export async function auditEventsAfter(db: Drizzle, organizationId: string, afterPosition: bigint, limit: number): Promise<AuditLogRow[]> {
  const where = and(gt(auditLog.position, afterPosition), eq(auditLog.organizationId, organizationId));
  return db.select().from(auditLog).where(where).orderBy(asc(auditLog.position)).limit(limit);
}

/**
 * The organization of a user as the audit index knows it: from the events of the
 * user's own stream, so a deleted user's activity stays reachable. Null: never seen.
 */
export async function organizationOfUser(db: Drizzle, userId: string): Promise<string | null> {
  const [row] = await db
    .select({ organizationId: auditLog.organizationId })
    .from(auditLog)
    .where(and(eq(auditLog.resource, "user"), eq(auditLog.resourceId, userId.toLowerCase())))
    .orderBy(asc(auditLog.position))
    .limit(1);
  return row?.organizationId ?? null;
}

type Rows<T> = T[] | { rows: T[] };
const rowsOf = <T>(r: unknown): T[] => ((r as { rows?: T[] }).rows ?? (r as T[])) as T[];

async function query<T>(db: Drizzle, q: SQL): Promise<T[]> {
  return rowsOf<T>((await db.execute(q)) as unknown as Rows<T>);
}

const DAY = sql`to_char(${auditLog.occurredAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;

export interface UserActivity {
  totalEvents: number;
  failures: number;
  byAction: Record<string, number>;
  byDay: Array<{ date: string; count: number }>;
  /** When the user last acted itself (any time, not only within the window). */
  lastSeen: Date | null;
  lastEvent: { id: string; position: bigint; action: string; occurredAt: Date } | null;
}

export async function userActivity(db: Drizzle, organizationId: string | undefined, userId: string, since: Date): Promise<UserActivity> {
  const scope = and(eq(auditLog.userId, userId), organizationId ? eq(auditLog.organizationId, organizationId) : undefined);
  const window = and(scope, gte(auditLog.occurredAt, since));
  const [byType, byDay, [seen], [last]] = await Promise.all([
    query<{ action: string; count: number; failures: number }>(
      db,
      sql`SELECT ${auditLog.eventType} AS action, count(*)::int AS count, count(*) FILTER (WHERE ${auditLog.status} = 'failure')::int AS failures
            FROM ${auditLog} WHERE ${window} GROUP BY 1 ORDER BY 2 DESC, 1`,
    ),
    query<{ date: string; count: number }>(db, sql`SELECT ${DAY} AS date, count(*)::int AS count FROM ${auditLog} WHERE ${window} GROUP BY 1 ORDER BY 1`),
    db
      .select({ at: auditLog.occurredAt })
      .from(auditLog)
      .where(and(scope, eq(auditLog.actorType, "user"), eq(auditLog.actorId, userId)))
      .orderBy(desc(auditLog.position))
      .limit(1),
    db
      .select({ id: auditLog.eventId, position: auditLog.position, action: auditLog.eventType, occurredAt: auditLog.occurredAt })
      .from(auditLog)
      .where(scope)
      .orderBy(desc(auditLog.position))
      .limit(1),
  ]);
  return {
    totalEvents: byType.reduce((n, r) => n + Number(r.count), 0),
    failures: byType.reduce((n, r) => n + Number(r.failures), 0),
    byAction: Object.fromEntries(byType.map((r) => [r.action, Number(r.count)])),
    byDay: byDay.map((r) => ({ date: r.date, count: Number(r.count) })),
    lastSeen: seen?.at ?? null,
    lastEvent: last ?? null,
  };
}

export interface OrganizationStats {
  totalEvents: number;
  byType: Record<string, number>;
  byDay: Array<{ date: string; count: number; failures: number }>;
  activeUsers: number;
  mostActiveUsers: Array<{ userId: string; events: number }>;
  failures: number;
  failuresByType: Record<string, number>;
}

export async function organizationStats(db: Drizzle, organizationId: string, since: Date): Promise<OrganizationStats> {
  const window = and(eq(auditLog.organizationId, organizationId), gte(auditLog.occurredAt, since));
  const acting = and(window, eq(auditLog.actorType, "user"));
  const [byType, byDay, [active], top] = await Promise.all([
    query<{ action: string; count: number; failures: number }>(
      db,
      sql`SELECT ${auditLog.eventType} AS action, count(*)::int AS count, count(*) FILTER (WHERE ${auditLog.status} = 'failure')::int AS failures
            FROM ${auditLog} WHERE ${window} GROUP BY 1 ORDER BY 2 DESC, 1`,
    ),
    query<{ date: string; count: number; failures: number }>(
      db,
      sql`SELECT ${DAY} AS date, count(*)::int AS count, count(*) FILTER (WHERE ${auditLog.status} = 'failure')::int AS failures
            FROM ${auditLog} WHERE ${window} GROUP BY 1 ORDER BY 1`,
    ),
    query<{ n: number }>(db, sql`SELECT count(DISTINCT ${auditLog.userId})::int AS n FROM ${auditLog} WHERE ${acting}`),
    query<{ user_id: string; events: number }>(
      db,
      sql`SELECT ${auditLog.userId} AS user_id, count(*)::int AS events FROM ${auditLog} WHERE ${acting} AND ${auditLog.userId} IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`,
    ),
  ]);
  return {
    totalEvents: byType.reduce((n, r) => n + Number(r.count), 0),
    byType: Object.fromEntries(byType.map((r) => [r.action, Number(r.count)])),
    byDay: byDay.map((r) => ({ date: r.date, count: Number(r.count), failures: Number(r.failures) })),
    activeUsers: Number(active?.n ?? 0),
    mostActiveUsers: top.map((r) => ({ userId: r.user_id, events: Number(r.events) })),
    failures: byType.reduce((n, r) => n + Number(r.failures), 0),
    failuresByType: Object.fromEntries(byType.filter((r) => Number(r.failures) > 0).map((r) => [r.action, Number(r.failures)])),
  };
}
