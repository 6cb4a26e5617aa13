import { bigint, boolean, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    email: text("email").notNull(),
    /** Lower-cased: e-mails are unique per organization ignoring case. */
    emailKey: text("email_key").notNull(),
    username: text("username"),
    firstName: text("first_name"),
    lastName: text("last_name"),
    /** Sealed (AES-GCM) argon2id hash; opened only to verify a login. */
    passwordSealed: text("password_sealed").notNull(),
    isActive: boolean("is_active").notNull(),
    isVerified: boolean("is_verified").notNull(),
    roleIds: text("role_ids").array().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("users_org_idx").on(t.organizationId, t.createdAt), index("users_email_key_idx").on(t.emailKey)],
);

export type UserRow = typeof users.$inferSelect;
