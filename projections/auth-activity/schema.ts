import { bigint, date, index, integer, pgTable, primaryKey, uuid } from "drizzle-orm/pg-core";

/**
 * Logins, failed logins, lockouts and registrations per organization, user and UTC day:
 * GET /auth/admin/stats. Active users are the distinct users with a login in a period.
 */
export const authActivityDaily = pgTable(
  "auth_activity_daily",
  {
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    logins: integer("logins").notNull(),
    failures: integer("failures").notNull(),
    lockouts: integer("lockouts").notNull(),
    registrations: integer("registrations").notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ name: "auth_activity_daily_pkey", columns: [t.organizationId, t.userId, t.day] }), index("auth_activity_daily_org_day_idx").on(t.organizationId, t.day)],
);
