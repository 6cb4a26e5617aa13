/**
 * The embedded demo database: a sample sales database (customers, categories, products,
 * orders, order items over the two years ending today) in an in-memory PGlite, built from
 * the deterministic generator. One per process, built on first use; concurrent first
 * callers share the same build. The connection layer wraps it in read-only transactions.
 */
import { PGlite } from "@electric-sql/pglite";
import { commentStatements, DEMO_DDL, DEMO_KEYS_AND_INDEXES } from "./ddl";
import { generateDemoData, rowCounts, type DemoData, type DemoRowCounts } from "./generate";

export { generateDemoData, rowCounts, ORDER_DAYS, type DemoRowCounts } from "./generate";

/** Rows per INSERT: few statements, each small enough to parse quickly. */
const CHUNK = 2000;

const text = (s: string) => `'${s.replace(/'/g, "''")}'`;
const money = (cents: number) => (cents / 100).toFixed(2);
const instant = (d: Date) => `'${d.toISOString()}'`;

function inserts<T>(table: string, columns: string[], rows: T[], values: (row: T) => string): string {
  const statements: string[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK).map((r) => `(${values(r)})`);
    statements.push(`INSERT INTO ${table} (${columns.join(", ")}) VALUES\n${chunk.join(",\n")};`);
  }
  return statements.join("\n");
}

/** The whole load as one script: tables, rows, keys and indexes, comments, statistics for the planner's row estimates. */
export function demoScript(data: DemoData): string {
  return [
    DEMO_DDL,
    inserts("categories", ["category_id", "name", "description"], data.categories, (c) => `${c.category_id}, ${text(c.name)}, ${text(c.description)}`),
    inserts("products", ["product_id", "sku", "name", "category_id", "unit_price", "unit_cost", "is_active"], data.products, (p) =>
      `${p.product_id}, ${text(p.sku)}, ${text(p.name)}, ${p.category_id}, ${money(p.unit_price_cents)}, ${money(p.unit_cost_cents)}, ${p.is_active}`),
    inserts("customers", ["customer_id", "first_name", "last_name", "email", "city", "country", "segment", "created_at"], data.customers, (c) =>
      `${c.customer_id}, ${text(c.first_name)}, ${text(c.last_name)}, ${text(c.email)}, ${text(c.city)}, ${text(c.country)}, ${text(c.segment)}, ${instant(c.created_at)}`),
    inserts("orders", ["order_id", "customer_id", "order_date", "status", "channel", "total_amount"], data.orders, (o) =>
      `${o.order_id}, ${o.customer_id}, ${instant(o.order_date)}, ${text(o.status)}, ${text(o.channel)}, ${money(o.total_cents)}`),
    inserts("order_items", ["order_item_id", "order_id", "product_id", "quantity", "unit_price"], data.order_items, (i) =>
      `${i.order_item_id}, ${i.order_id}, ${i.product_id}, ${i.quantity}, ${money(i.unit_price_cents)}`),
    DEMO_KEYS_AND_INDEXES,
    commentStatements(),
    // A small statistics sample: enough for row estimates and plans of a 16k-row database, at a fraction of the default's cost.
    "SET default_statistics_target = 10;\nANALYZE;\nRESET default_statistics_target;",
  ].join("\n");
}

export interface BuiltDemoDatabase {
  db: PGlite;
  counts: DemoRowCounts;
  /** Milliseconds spent generating and loading the rows (PGlite's own start excluded). */
  loadMs: number;
}

/** A fresh demo database for the given day (tests; the service uses openDemoDatabase). */
export async function buildDemoDatabase(today: Date = new Date()): Promise<PGlite> {
  return (await buildDemoDatabaseWithStats(today)).db;
}

export async function buildDemoDatabaseWithStats(today: Date = new Date()): Promise<BuiltDemoDatabase> {
  // UTC so that "today", date_trunc and current_date agree with the generator's days.
  const db = await PGlite.create();
  const started = performance.now();
  const data = generateDemoData(today);
  await db.exec(`SET TIME ZONE 'UTC';\n${demoScript(data)}`);
  return { db, counts: rowCounts(data), loadMs: performance.now() - started };
}

let shared: Promise<PGlite> | null = null;

/**
 * The process-wide demo database, built once on first use with that call's `today`
 * (default now). A failed build is forgotten so the next caller tries again.
 */
export function openDemoDatabase(options: { today?: Date } = {}): Promise<PGlite> {
  if (!shared) {
    shared = buildDemoDatabase(options.today ?? new Date());
    shared.catch(() => {
      shared = null;
    });
  }
  return shared;
}

/** Closes the shared demo database (shutdown, tests); the next open builds a new one. */
export async function closeDemoDatabase(): Promise<void> {
  const current = shared;
  shared = null;
  if (current) await (await current).close().catch(() => undefined);
}
