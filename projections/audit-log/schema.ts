import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * The audit index: one row per event of the stream, keyed by its global position, so
 * every entry is an event and points back to it (event id + position). Filters and
 * statistics read this table; nothing but the projector writes it, and it can be rebuilt
 * from the events at any time. `details` and `metadata` are already redacted.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    position: bigint("position", { mode: "bigint" }).primaryKey(),
    eventId: uuid("event_id").notNull().unique("audit_log_event_id_key"),
    streamId: text("stream_id").notNull(),
    revision: bigint("revision", { mode: "bigint" }).notNull(),
    eventType: text("event_type").notNull(),
    /** The stream's category: user, role, organization, apikey, session, login, security... */
    resource: text("resource").notNull(),
    resourceId: text("resource_id"),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    /** The acting user; for events without a user actor, the user the event is about (see projection.ts). */
    userId: uuid("user_id"),
    organizationId: uuid("organization_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    status: text("status").notNull(),
    occurredAt: timestamp("occurred_at", { withTimezone: true, mode: "date" }).notNull(),
    recordedAt: timestamp("recorded_at", { withTimezone: true, mode: "date" }).notNull(),
    details: jsonb("details").notNull(),
    metadata: jsonb("metadata").notNull(),
  },
  (t) => [
    index("audit_log_org_position_idx").on(t.organizationId, t.position.desc()),
    index("audit_log_org_type_position_idx").on(t.organizationId, t.eventType, t.position.desc()),
    index("audit_log_org_user_position_idx").on(t.organizationId, t.userId, t.position.desc()),
    index("audit_log_user_position_idx").on(t.userId, t.position.desc()),
    index("audit_log_resource_idx").on(t.resource, t.resourceId),
    index("audit_log_occurred_at_idx").on(t.occurredAt),
  ],
);

export type AuditLogRow = typeof auditLog.$inferSelect;
