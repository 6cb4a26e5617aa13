/**
 * How audit entries and raw events look to auditors, in every output (the /audit
 * routes, the exports, `npm run audit:export`). Positions and revisions are strings:
 * they are 64-bit integers, and a JSON number loses precision above 2^53.
 */
import type { RecordedEvent } from "../eventstore/port";
import type { AuditLogRow } from "../../projections/audit-log/schema";
import type { AuditEntryRow } from "../../projections/audit-log/queries";
import { redact } from "./redact";

export function auditEntryJson(r: AuditEntryRow) {
  return {
    id: r.eventId,
    event_id: r.eventId,
    position: r.position.toString(),
    timestamp: r.occurredAt.toISOString(),
    action: r.eventType,
    resource: r.resource,
    resource_id: r.resourceId,
    user_id: r.userId,
    actor_type: r.actorType,
    actor_id: r.actorId,
    organization_id: r.organizationId,
    ip_address: r.ip,
    user_agent: r.userAgent,
    status: r.status,
    details: r.details as Record<string, unknown>,
  };
}

export type AuditEntryJson = ReturnType<typeof auditEntryJson>;

/** A raw event as the store holds it, redacted like every audit output. */
export function rawEventJson(e: RecordedEvent) {
  return {
    id: e.id,
    position: e.position.toString(),
    stream_id: e.streamId,
    revision: e.revision.toString(),
    type: e.type,
    data: redact(e.data) as Record<string, unknown>,
    metadata: redact(e.metadata) as Record<string, unknown>,
    recorded_at: e.recordedAt.toISOString(),
  };
}

/** The same raw event, rebuilt from its index row (already redacted there). */
export function rawEventJsonFromIndex(r: AuditLogRow): ReturnType<typeof rawEventJson> {
  return {
    id: r.eventId,
    position: r.position.toString(),
    stream_id: r.streamId,
    revision: r.revision.toString(),
    type: r.eventType,
    data: r.details as Record<string, unknown>,
    metadata: r.metadata as Record<string, unknown>,
    recorded_at: r.recordedAt.toISOString(),
  };
}
