/**
 * The audit log on behalf of a caller (the /audit routes). The log is the event stream;
 * filtering and statistics read its index (projections/audit-log), raw replay reads the
 * store itself for a super admin.
 *
 * Tenancy: a caller sees its own organization's entries; a super admin every
 * organization's, or one it names with `organization_id`. A user or organization of
 * another tenant is 404, never 403, so existence does not leak.
 */
import type { Deps } from "../deps";
import { invalid, notFound } from "../domain/errors";
import { isUuid, type PageRequest } from "../http/pagination";
import { addressableOrganization, listScope, type Acting } from "./tenancy";
import {
  auditEventsAfter,
  auditPageAfter,
  listAuditLog,
  organizationOfUser,
  organizationStats,
  userActivity,
  type AuditFilter,
  type OrganizationStats,
  type UserActivity,
} from "../../projections/audit-log/queries";
import { AUDITED_EVENT_TYPES, TECHNICAL_EVENT_TYPES } from "../../projections/audit-log/entry";
import { auditEntryJson, rawEventJson, rawEventJsonFromIndex, type AuditEntryJson } from "../audit/entry-json";

/** Keyset page size of exports and streamed replays: one page is what memory holds. */
export const EXPORT_PAGE_SIZE = 1000;

export interface AuditQuery {
  organization_id?: string;
  user_id?: string;
  action?: string;
  resource?: string;
  resource_id?: string;
  status?: string;
  start_date?: string;
  end_date?: string;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * `start_date`/`end_date`: ISO 8601 dates or timestamps. A date alone means the whole
 * day in UTC, so `end_date=2025-12-31` includes the 31st; a timestamp is inclusive.
 */
export function dateRange(start?: string, end?: string): { from?: Date; to?: Date } {
  const parse = (s: string, field: string): Date => {
    const d = new Date(DATE_ONLY.test(s) ? `${s}T00:00:00Z` : s);
    if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(s)) throw invalid(`/query/${field}`, `${field} must be an ISO 8601 date or timestamp`);
    return d;
  };
  const from = start ? parse(start, "start_date") : undefined;
  let to: Date | undefined;
  if (end) {
    const d = parse(end, "end_date");
    to = new Date(d.getTime() + (DATE_ONLY.test(end) ? DAY_MS : 1));
  }
  if (from && to && from >= to) throw invalid("/query/end_date", "end_date must not be before start_date");
  return { from, to };
}

const KNOWN_TYPES = [...AUDITED_EVENT_TYPES, ...TECHNICAL_EVENT_TYPES];
const BY_LOWER = new Map(KNOWN_TYPES.map((t) => [t.toLowerCase(), t]));

/**
 * `action`: an event type, matched ignoring case (`loginfailed` is LoginFailed); several
 * separated by commas; a trailing `*` for every type starting so (`Login*`).
 */
export function actionTypes(action: string): string[] {
  const out = new Set<string>();
  for (const raw of action.split(",")) {
    const a = raw.trim();
    if (!a) continue;
    if (a.endsWith("*")) {
      const prefix = a.slice(0, -1).toLowerCase();
      for (const t of KNOWN_TYPES) if (t.toLowerCase().startsWith(prefix)) out.add(t);
      continue;
    }
    out.add(BY_LOWER.get(a.toLowerCase()) ?? a);
  }
  return [...out];
}

const STATUSES = new Set(["success", "failure"]);

/** The index filter a query asks for, within what the caller may see. */
export async function auditFilterFor(deps: Pick<Deps, "db">, acting: Acting, q: AuditQuery): Promise<AuditFilter> {
  const organizationId = await listScope(deps, acting, q.organization_id || undefined);
  const filter: AuditFilter = { organizationId, ...dateRange(q.start_date || undefined, q.end_date || undefined) };
  if (q.user_id) filter.userId = await visibleUserId(deps, acting, q.user_id, organizationId);
  if (q.action) {
    const types = actionTypes(q.action);
    if (types.length > 0) filter.eventTypes = types;
  }
  if (q.resource) filter.resource = q.resource.trim().toLowerCase();
  if (q.resource_id) filter.resourceId = q.resource_id.trim().toLowerCase();
  if (q.status) {
    const status = q.status.trim().toLowerCase();
    if (!STATUSES.has(status)) throw invalid("/query/status", "status must be success or failure");
    filter.status = status as AuditFilter["status"];
  }
  return filter;
}

/** A user the caller may audit: known to the log and, unless super admin, of its organization. */
async function visibleUserId(deps: Pick<Deps, "db">, acting: Acting, userId: string, scope: string | undefined): Promise<string> {
  if (!isUuid(userId)) throw notFound("User");
  const id = userId.toLowerCase();
  const organizationId = await organizationOfUser(deps.db.drizzle, id);
  if (!organizationId) throw notFound("User");
  if (!acting.isSuperAdmin && organizationId !== acting.organizationId) throw notFound("User");
  if (scope && organizationId !== scope) throw notFound("User");
  return id;
}

export async function auditLogsFor(deps: Pick<Deps, "db">, acting: Acting, q: AuditQuery, page: PageRequest): Promise<{ entries: AuditEntryJson[]; total: number }> {
  const filter = await auditFilterFor(deps, acting, q);
  const { rows, total } = await listAuditLog(deps.db.drizzle, filter, page);
  return { entries: rows.map(auditEntryJson), total };
}

export const sinceDays = (days: number, now = Date.now()) => new Date(now - days * DAY_MS);

export async function userActivityFor(deps: Pick<Deps, "db">, acting: Acting, userId: string, days: number): Promise<{ userId: string; organizationId: string; since: Date; activity: UserActivity }> {
  const id = await visibleUserId(deps, acting, userId, undefined);
  const organizationId = (await organizationOfUser(deps.db.drizzle, id))!;
  const since = sinceDays(days);
  return { userId: id, organizationId, since, activity: await userActivity(deps.db.drizzle, acting.isSuperAdmin ? undefined : acting.organizationId, id, since) };
}

export async function organizationStatsFor(deps: Pick<Deps, "db">, acting: Acting, organizationId: string, days: number): Promise<{ organizationId: string; since: Date; stats: OrganizationStats }> {
  const id = await addressableOrganization(deps, acting, organizationId);
  const since = sinceDays(days);
  return { organizationId: id, since, stats: await organizationStats(deps.db.drizzle, id, since) };
}

/** Keyset pages in position order, from `after` on, until `limit` rows or the end. */
async function* keysetPages<Row extends { position: bigint }>(
  read: (after: bigint, limit: number) => Promise<Row[]>,
  after: bigint,
  limit = Number.POSITIVE_INFINITY,
): AsyncGenerator<Row[]> {
  let position = after;
  let left = limit;
  while (left > 0) {
    const page = await read(position, Math.min(EXPORT_PAGE_SIZE, left));
    if (page.length === 0) return;
    yield page;
    left -= page.length;
    position = page[page.length - 1].position;
    if (page.length < Math.min(EXPORT_PAGE_SIZE, left + page.length)) return;
  }
}

/** Every entry the query matches, in position order, a page at a time (the export). */
export async function* exportPagesFor(deps: Pick<Deps, "db">, filter: AuditFilter): AsyncGenerator<AuditEntryJson[]> {
  for await (const page of keysetPages((after, limit) => auditPageAfter(deps.db.drizzle, filter, after, limit), 0n)) yield page.map(auditEntryJson);
}

export type RawEventJson = ReturnType<typeof rawEventJson>;

/**
 * Raw events after a position, in position order, redacted. A super admin reads the
 * store itself (every event, the technical streams too); anyone else reads its
 * organization's events through the index, so no other tenant's event can slip in.
 * Stops at `limit` events, or at the store's head when the read began.
 */
export async function* rawEventPagesFor(deps: Pick<Deps, "db" | "store">, acting: Acting, after: bigint, limit = Number.POSITIVE_INFINITY): AsyncGenerator<RawEventJson[]> {
  if (!acting.isSuperAdmin) {
    const organizationId = acting.organizationId;
    const read = (from: bigint, n: number) => auditEventsAfter(deps.db.drizzle, organizationId, from, n);
    for await (const page of keysetPages(read, after, limit)) yield page.map(rawEventJsonFromIndex);
    return;
  }
  const head = await deps.store.headPosition();
  let position = after;
  let left = limit;
  while (left > 0 && position < head) {
    const batch = (await deps.store.readAll({ fromPosition: position, limit: Math.min(EXPORT_PAGE_SIZE, left) })).filter((e) => e.position <= head);
    if (batch.length === 0) return;
    yield batch.map(rawEventJson);
    left -= batch.length;
    position = batch[batch.length - 1].position;
  }
}

export async function rawEventsFor(deps: Pick<Deps, "db" | "store">, acting: Acting, after: bigint, limit: number): Promise<{ events: RawEventJson[]; nextPosition: string }> {
  const events: RawEventJson[] = [];
  for await (const page of rawEventPagesFor(deps, acting, after, limit)) events.push(...page);
  return { events, nextPosition: events.length > 0 ? events[events.length - 1].position : after.toString() };
}
