import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Every database access grant ever given; `status` active, revoked or expired (as recorded). */
export const databaseAccess = pgTable(
  "database_access",
  {
    accessId: uuid("access_id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    dataSourceId: uuid("data_source_id").notNull(),
    dataSourceName: text("data_source_name").notNull(),
    tables: jsonb("tables").$type<string[] | null>(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }),
    grantedBy: uuid("granted_by").notNull(),
    grantedAt: timestamp("granted_at", { withTimezone: true, mode: "date" }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
    revokedBy: uuid("revoked_by"),
    expiredAt: timestamp("expired_at", { withTimezone: true, mode: "date" }),
    status: text("status").notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("database_access_user_idx").on(t.userId), index("database_access_data_source_idx").on(t.dataSourceId)],
);

export type DatabaseAccessRow = typeof databaseAccess.$inferSelect;
