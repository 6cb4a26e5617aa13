import { bigint, boolean, index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Registered data sources. Deleted ones stay as rows with `deleted = true` (their name is
 * free again, their grants ended), so an audit can still name them.
 * `password_sealed` is the AES-256-GCM ciphertext: never selected into a response.
 */
export const dataSources = pgTable(
  "data_sources",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    name: text("name").notNull(),
    type: text("type").notNull(),
    host: text("host"),
    port: integer("port"),
    databaseName: text("database_name"),
    username: text("username"),
    ssl: boolean("ssl").notNull(),
    passwordSealed: text("password_sealed"),
    version: integer("version").notNull(),
    createdBy: uuid("created_by"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    deleted: boolean("deleted").notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("data_sources_org_idx").on(t.organizationId, t.name)],
);

export type DataSourceRow = typeof dataSources.$inferSelect;
