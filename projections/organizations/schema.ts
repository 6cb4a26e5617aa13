import { bigint, boolean, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const organizations = pgTable(
  "organizations",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    domain: text("domain"),
    description: text("description"),
    maxUsers: integer("max_users"),
    registrationPolicy: text("registration_policy").notNull(),
    isActive: boolean("is_active").notNull(),
    isSystem: boolean("is_system").notNull(),
    /** An onboarding in progress: invisible until OrganizationOnboarded. */
    provisioning: boolean("provisioning").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    /** Global position of the last event folded into this row: replays below it are no-ops. */
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("organizations_slug_idx").on(t.slug), index("organizations_created_idx").on(t.createdAt)],
);

export type OrganizationRow = typeof organizations.$inferSelect;
