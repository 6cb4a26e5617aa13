import { bigint, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    organizationId: uuid("organization_id").notNull(),
    createdBy: uuid("created_by").notNull(),
    name: text("name").notNull(),
    /** The recognisable, non-secret start of the key, shown in lists. */
    prefix: text("prefix").notNull(),
    /** SHA-256 of the whole key: the key itself is never stored. */
    keyHash: text("key_hash").notNull(),
    scopes: text("scopes").array().notNull(),
    /** active, revoked, rotated */
    status: text("status").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }),
    /** After a rotation with a grace period, the old key works until then. */
    graceUntil: timestamp("grace_until", { withTimezone: true, mode: "date" }),
    rotatedTo: uuid("rotated_to"),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    lastPosition: bigint("last_position", { mode: "bigint" }).notNull(),
  },
  (t) => [index("api_keys_org_idx").on(t.organizationId, t.createdAt), index("api_keys_hash_idx").on(t.keyHash)],
);

/**
 * Last use of each key, written directly (not an event per request) and flushed in
 * batches; not part of any projection, so a rebuild leaves it alone.
 */
export const apiKeyUsage = pgTable("api_key_usage", {
  keyId: uuid("key_id").primaryKey(),
  lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "date" }).notNull(),
  uses: bigint("uses", { mode: "number" }).notNull(),
});

export type ApiKeyRow = typeof apiKeys.$inferSelect;
