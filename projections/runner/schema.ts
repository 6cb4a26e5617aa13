import { bigint, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Where each projection stands in the event stream; written in the same transaction as its rows. */
export const projectionCheckpoints = pgTable("projection_checkpoints", {
  name: text("name").primaryKey(),
  position: bigint("position", { mode: "bigint" }).notNull(),
  /** Bumped when a projection's logic changes: a mismatch triggers a rebuild at start. */
  version: integer("version").notNull(),
  lastError: text("last_error"),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
