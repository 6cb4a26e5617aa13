import { bigint, boolean, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const locations = pgTable(
  "locations",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    name: text("name").notNull(),
    code: text("code").notNull(),
    description: text("description"),
    address: text("address"),
    city: text("city"),
    state: text("state"),
    country: text("country"),
    postalCode: text("postal_code"),
    isActive: boolean("is_active").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("locations_org_idx").on(t.organizationId, t.code)],
);

/** A user's assignment to a location; `id` is `<user id>:<location id>`. */
export const userLocations = pgTable(
  "user_locations",
  {
    id: text("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    userId: uuid("user_id").notNull(),
    locationId: uuid("location_id").notNull(),
    isPrimary: boolean("is_primary").notNull(),
    assignedAt: timestamp("assigned_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("user_locations_user_idx").on(t.userId), index("user_locations_location_idx").on(t.locationId)],
);

export type LocationRow = typeof locations.$inferSelect;
export type UserLocationRow = typeof userLocations.$inferSelect;
