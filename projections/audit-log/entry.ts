/**
 * What the audit index records about one event: a pure function of the event, so a
 * rebuild gives the same rows as live processing.
 *
 * - resource: the stream's category (`user-<id>` -> "user"), resource_id the rest.
 * - user_id: the acting user when a user acts; otherwise (API key, system, anonymous)
 *   the user the event is about when its data names one (`data.user_id`), e.g. the
 *   account of a LoginFailed. An API key's events therefore show the key as actor
 *   (actor_type "api_key", actor_id the key id) and no acting user.
 * - organization_id: the organization the event's data names (`data.organization_id`,
 *   the tenant whose resource changed, also when a super admin made the change), else
 *   the metadata's (the actor's organization, e.g. AccessDenied).
 * - status: "failure" for refusals and failures (LoginFailed, AccountLocked,
 *   RefreshTokenReused, AccessDenied, QueryRejected, QueryFailed, and any type ending in
 *   Failed, Rejected or Denied), "success" otherwise.
 * - details and metadata: redacted (src/audit/redact.ts).
 */
import type { RecordedEvent } from "../../src/eventstore/port";
import { categoryOf } from "../../src/eventstore/streams";
import { redact } from "../../src/audit/redact";
import type { AuditLogRow } from "./schema";

/** Purely technical streams (uniqueness claims, idempotency keys, seat counts): not audit entries. */
export const TECHNICAL_CATEGORIES: ReadonlySet<string> = new Set(["reservation", "idempotency", "seats"]);

/** The event types of the technical streams; listed so a test can tell them from forgotten ones. */
export const TECHNICAL_EVENT_TYPES = [
  "ReservationClaimed",
  "ReservationReleased",
  "IdempotentRequestStarted",
  "IdempotentRequestCompleted",
  "IdempotentRequestAbandoned",
  "SeatTaken",
  "SeatReleased",
] as const;

/**
 * Every event type the index records. The projector hands a projection only the types
 * it names, so a new event type must be added here (test/unit/audit-entry.test.ts
 * checks the domain modules against this list). Types named by SPEC.md that other
 * modules are still adding are listed ahead of them.
 */
export const AUDITED_EVENT_TYPES = [
  // organizations
  "OrganizationCreated",
  "OrganizationOnboarded",
  "OrganizationUpdated",
  "OrganizationDeactivated",
  "OrganizationReactivated",
  "OrganizationDeleted",
  // users
  "UserRegistered",
  "UserProfileUpdated",
  "UserDeactivated",
  "UserReactivated",
  "UserDeleted",
  "PasswordChanged",
  "RoleAssigned",
  "RoleRevoked",
  // logins and sessions
  "LoginSucceeded",
  "LoginFailed",
  "AccountLocked",
  "SessionStarted",
  "SessionRefreshed",
  "SessionEnded",
  "RefreshTokenReused",
  // roles, permissions, role requests
  "RoleCreated",
  "RoleUpdated",
  "RolePermissionsChanged",
  "RoleDeleted",
  "PermissionCreated",
  "PermissionUpdated",
  "PermissionDeleted",
  "RoleRequested",
  "RoleRequestApproved",
  "RoleRequestRejected",
  "RoleRequestCancelled",
  // locations
  "LocationCreated",
  "LocationUpdated",
  "LocationDeleted",
  "UserAssignedToLocations",
  "UserRemovedFromLocation",
  // API keys
  "ApiKeyCreated",
  "ApiKeyRotated",
  "ApiKeyRevoked",
  // refused requests
  "AccessDenied",
  // data sources, grants, queries, chat, token limits (SPEC.md "Events")
  "DataSourceRegistered",
  "DataSourceUpdated",
  "DataSourceDeleted",
  "DataSourceTested",
  "AccessGranted",
  "AccessRevoked",
  "AccessExpired",
  "QueryExecuted",
  "QueryRejected",
  "QueryFailed",
  "QueryHidden",
  "ChatSessionStarted",
  "ChatSessionDeleted",
  "ChatMessagePosted",
  "TokenLimitsSet",
] as const;

const FAILURE_TYPES: ReadonlySet<string> = new Set(["LoginFailed", "AccountLocked", "RefreshTokenReused", "AccessDenied", "QueryRejected", "QueryFailed"]);

export type AuditStatus = "success" | "failure";

export function statusOf(type: string): AuditStatus {
  return FAILURE_TYPES.has(type) || /(Failed|Rejected|Denied)$/.test(type) ? "failure" : "success";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuidOrNull = (v: unknown): string | null => (typeof v === "string" && UUID.test(v) ? v.toLowerCase() : null);

/** The organization an event belongs to, for tenancy (see the header). */
export function organizationOf(event: Pick<RecordedEvent, "data" | "metadata">): string | null {
  return uuidOrNull((event.data as { organization_id?: unknown } | null)?.organization_id) ?? uuidOrNull(event.metadata?.organization_id);
}

export function userOf(event: Pick<RecordedEvent, "data" | "metadata">): string | null {
  const actor = event.metadata?.actor;
  if (actor?.type === "user") return uuidOrNull(actor.id);
  return uuidOrNull((event.data as { user_id?: unknown } | null)?.user_id);
}

/** False for the technical streams: they stay in the raw replay only. */
export function isAudited(event: Pick<RecordedEvent, "streamId">): boolean {
  return !TECHNICAL_CATEGORIES.has(categoryOf(event.streamId));
}

export function auditEntryOf(event: RecordedEvent): AuditLogRow | null {
  if (!isAudited(event)) return null;
  const category = categoryOf(event.streamId);
  const dash = event.streamId.indexOf("-");
  const occurred = new Date(event.metadata?.occurred_at ?? "");
  return {
    position: event.position,
    eventId: event.id,
    streamId: event.streamId,
    revision: event.revision,
    eventType: event.type,
    resource: category,
    resourceId: dash < 0 ? null : event.streamId.slice(dash + 1),
    actorType: event.metadata?.actor?.type ?? "system",
    actorId: event.metadata?.actor?.id ?? null,
    userId: userOf(event),
    organizationId: organizationOf(event),
    ip: event.metadata?.ip ?? null,
    userAgent: event.metadata?.user_agent ?? null,
    status: statusOf(event.type),
    occurredAt: Number.isNaN(occurred.getTime()) ? event.recordedAt : occurred,
    recordedAt: event.recordedAt,
    details: redact(event.data ?? {}),
    metadata: redact(event.metadata ?? {}),
  };
}
