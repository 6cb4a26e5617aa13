/**
 * The audit index projection: appends one `audit_log` row per audited event (see
 * entry.ts). Rows are never updated: an event is immutable, so a replayed event hits the
 * primary key and is skipped (ON CONFLICT DO NOTHING). A batch is one INSERT, its rows
 * shipped as one jsonb parameter (the same technique as runner/entity-projection.ts).
 */
import { sql } from "drizzle-orm";
import type { Projection } from "../runner/projection";
import { AUDITED_EVENT_TYPES, auditEntryOf } from "./entry";

const COLUMNS: Array<[string, string]> = [
  ["position", "bigint"],
  ["event_id", "uuid"],
  ["stream_id", "text"],
  ["revision", "bigint"],
  ["event_type", "text"],
  ["resource", "text"],
  ["resource_id", "text"],
  ["actor_type", "text"],
  ["actor_id", "text"],
  ["user_id", "uuid"],
  ["organization_id", "uuid"],
  ["ip", "text"],
  ["user_agent", "text"],
  ["status", "text"],
  ["occurred_at", "timestamptz"],
  ["recorded_at", "timestamptz"],
  ["details", "jsonb"],
  ["metadata", "jsonb"],
];
const names = COLUMNS.map(([n]) => `"${n}"`).join(", ");
const INSERT_HEAD = `INSERT INTO audit_log (${names}) SELECT ${names} FROM jsonb_to_recordset(`;
const INSERT_TAIL = `::jsonb) AS r(${COLUMNS.map(([n, t]) => `"${n}" ${t}`).join(", ")}) ON CONFLICT DO NOTHING`;

export const auditLogProjection: Projection = {
  name: "audit_log",
  version: 1,
  handles: AUDITED_EVENT_TYPES,
  tables: ["audit_log"],
  async apply(tx, events) {
    const rows: Record<string, unknown>[] = [];
    for (const event of events) {
      const e = auditEntryOf(event);
      if (!e) continue;
      rows.push({
        position: e.position.toString(),
        event_id: e.eventId,
        stream_id: e.streamId,
        revision: e.revision.toString(),
        event_type: e.eventType,
        resource: e.resource,
        resource_id: e.resourceId,
        actor_type: e.actorType,
        actor_id: e.actorId,
        user_id: e.userId,
        organization_id: e.organizationId,
        ip: e.ip,
        user_agent: e.userAgent,
        status: e.status,
        occurred_at: e.occurredAt.toISOString(),
        recorded_at: e.recordedAt.toISOString(),
        details: e.details,
        metadata: e.metadata,
      });
    }
    if (rows.length === 0) return;
    await tx.execute(sql`${sql.raw(INSERT_HEAD)}${sql.param(JSON.stringify(rows))}${sql.raw(INSERT_TAIL)}`);
  },
};
