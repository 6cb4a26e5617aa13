import { bigint, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const roleRequests = pgTable(
  "role_requests",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    roleId: uuid("role_id").notNull(),
    reason: text("reason"),
    /** PENDING, APPROVED, REJECTED, CANCELLED */
    status: text("status").notNull(),
    notes: text("notes"),
    decidedBy: uuid("decided_by"),
    decidedAt: timestamp("decided_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("role_requests_org_idx").on(t.organizationId, t.status, t.createdAt), index("role_requests_user_idx").on(t.userId, t.status)],
);

export type RoleRequestRow = typeof roleRequests.$inferSelect;
