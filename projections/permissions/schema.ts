import { bigint, boolean, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** The permission catalog: system permissions (immutable) and custom ones (super admin). Global, not per organization. */
export const permissions = pgTable(
  "permissions",
  {
    id: uuid("id").primaryKey(),
    /** `resource.action` */
    name: text("name").notNull(),
    resource: text("resource").notNull(),
    action: text("action").notNull(),
    description: text("description"),
    isSystem: boolean("is_system").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("permissions_name_idx").on(t.name), index("permissions_resource_idx").on(t.resource, t.action)],
);

export type PermissionRow = typeof permissions.$inferSelect;
