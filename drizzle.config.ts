import { defineConfig } from "drizzle-kit";

// Migrations are generated from every read model's schema.ts and committed under drizzle/.
// The event store's own SQL is a custom migration (drizzle/0000_*.sql).
export default defineConfig({
  dialect: "postgresql",
  schema: ["./projections/*/schema.ts"],
  out: "./drizzle",
});
