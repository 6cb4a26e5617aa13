/**
 * The embedded demo sales database: deterministic for a day, the expected size, keys that
 * hold, a comment on every table and column, and two years of orders ending on its "today".
 * PGlite in memory, nothing mocked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { PGlite } from "@electric-sql/pglite";
import { HOOK_TIMEOUT_MS } from "../api/_helpers";
import { buildDemoDatabaseWithStats, closeDemoDatabase, generateDemoData, openDemoDatabase, rowCounts, type DemoRowCounts } from "../../src/sql/demo";

const TABLES = ["categories", "products", "customers", "orders", "order_items"] as const;
const PRIMARY_KEYS: Record<(typeof TABLES)[number], string> = {
  categories: "category_id",
  products: "product_id",
  customers: "customer_id",
  orders: "order_id",
  order_items: "order_item_id",
};
// Two instants of the same UTC day, hours apart: the data depends on the day only.
const MORNING = new Date("2026-03-15T06:10:00Z");
const EVENING = new Date("2026-03-15T22:45:00Z");

async function checksums(db: PGlite): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const table of TABLES) {
    const { rows } = await db.query<{ sum: string }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t.${PRIMARY_KEYS[table]})) AS sum FROM ${table} t`);
    sums[table] = rows[0].sum;
  }
  return sums;
}

async function one<T>(db: PGlite, sql: string): Promise<T> {
  return (await db.query<T>(sql)).rows[0];
}

describe("embedded demo database", () => {
  let shared: PGlite;
  let second: PGlite;
  let counts: DemoRowCounts;
  let sameInstance = false;

  beforeAll(async () => {
    // Other suites in this process may have built the shared database already (for today):
    // start from none, so the concurrent first callers below really are the first.
    await closeDemoDatabase();
    // Given two concurrent first callers of the shared database, and a separate build for the same day
    const [a, b] = await Promise.all([openDemoDatabase({ today: MORNING }), openDemoDatabase({ today: EVENING })]);
    sameInstance = a === b;
    shared = a;
    const built = await buildDemoDatabaseWithStats(EVENING);
    second = built.db;
    counts = built.counts;
    console.log(`demo database: ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(", ")}; generated and loaded in ${built.loadMs.toFixed(0)} ms (PGlite start excluded)`);
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await second?.close();
    await closeDemoDatabase();
  }, HOOK_TIMEOUT_MS);

  test("given concurrent first callers, then they share one database", () => {
    expect(sameInstance).toBe(true);
  });

  test("given two builds for the same day, then every table has the same checksum", async () => {
    const first = await checksums(shared);
    const again = await checksums(second);
    expect(Object.keys(first)).toEqual([...TABLES]);
    for (const table of TABLES) expect(first[table]).toMatch(/^[0-9a-f]{32}$/);
    expect(again).toEqual(first);
  });

  test("given two different days, then the generated data differs", () => {
    const today = generateDemoData(EVENING);
    const tomorrow = generateDemoData(new Date("2026-03-16T06:00:00Z"));
    expect(tomorrow.orders.at(-1)!.order_date.getTime()).toBeGreaterThan(today.orders.at(-1)!.order_date.getTime());
    expect(JSON.stringify(tomorrow.order_items.slice(0, 50))).not.toBe(JSON.stringify(today.order_items.slice(0, 50)));
  });

  test("row counts are the generator's, at the intended size", async () => {
    for (const table of TABLES) {
      const { n } = await one<{ n: number }>(shared, `SELECT count(*)::int AS n FROM ${table}`);
      expect(n).toBe(counts[table]);
    }
    expect(counts).toEqual(rowCounts(generateDemoData(MORNING)));
    expect(counts.categories).toBe(12);
    expect(counts.customers).toBe(500);
    expect(counts.products).toBeGreaterThanOrEqual(140);
    expect(counts.products).toBeLessThanOrEqual(160);
    expect(counts.orders).toBeGreaterThan(5000);
    expect(counts.orders).toBeLessThan(7500);
    expect(counts.order_items).toBeGreaterThan(12_000);
    expect(counts.order_items).toBeLessThan(19_000);
  });

  test("primary and foreign keys are declared, and every reference resolves", async () => {
    const { fks, pks } = await one<{ fks: number; pks: number }>(
      shared,
      `SELECT count(*) FILTER (WHERE contype = 'f')::int AS fks, count(*) FILTER (WHERE contype = 'p')::int AS pks
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'`,
    );
    expect(pks).toBe(5);
    expect(fks).toBe(4);
    const orphans = await one<Record<string, number>>(
      shared,
      `SELECT (SELECT count(*)::int FROM order_items i LEFT JOIN orders o ON o.order_id = i.order_id WHERE o.order_id IS NULL) AS item_order,
              (SELECT count(*)::int FROM order_items i LEFT JOIN products p ON p.product_id = i.product_id WHERE p.product_id IS NULL) AS item_product,
              (SELECT count(*)::int FROM orders o LEFT JOIN customers c ON c.customer_id = o.customer_id WHERE c.customer_id IS NULL) AS order_customer,
              (SELECT count(*)::int FROM products p LEFT JOIN categories c ON c.category_id = p.category_id WHERE c.category_id IS NULL) AS product_category,
              (SELECT count(*)::int FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)) AS empty_orders`,
    );
    expect(orphans).toEqual({ item_order: 0, item_product: 0, order_customer: 0, product_category: 0, empty_orders: 0 });
  });

  test("each order's total is the sum of its items, and no order precedes its customer's signup", async () => {
    const { mismatched, early } = await one<{ mismatched: number; early: number }>(
      shared,
      `SELECT (SELECT count(*)::int FROM orders o JOIN (SELECT order_id, sum(quantity * unit_price) AS total FROM order_items GROUP BY order_id) s
                 ON s.order_id = o.order_id WHERE s.total <> o.total_amount) AS mismatched,
              (SELECT count(*)::int FROM orders o JOIN customers c ON c.customer_id = o.customer_id WHERE o.order_date < c.created_at) AS early`,
    );
    expect(mismatched).toBe(0);
    expect(early).toBe(0);
  });

  test("column types are the sensible ones, and status is checked", async () => {
    const { rows } = await shared.query<{ col: string; type: string }>(
      `SELECT table_name || '.' || column_name AS col, data_type || coalesce('(' || numeric_precision || ',' || numeric_scale || ')', '') AS type
         FROM information_schema.columns
        WHERE table_schema = 'public' AND (table_name, column_name) IN (('orders', 'order_date'), ('orders', 'total_amount'), ('order_items', 'unit_price'), ('products', 'unit_price'), ('order_items', 'quantity'))
        ORDER BY 1`,
    );
    expect(rows).toEqual([
      { col: "order_items.quantity", type: "integer(32,0)" },
      { col: "order_items.unit_price", type: "numeric(12,2)" },
      { col: "orders.order_date", type: "timestamp with time zone" },
      { col: "orders.total_amount", type: "numeric(12,2)" },
      { col: "products.unit_price", type: "numeric(12,2)" },
    ]);
    await expect(shared.query("UPDATE orders SET status = 'lost' WHERE order_id = 1")).rejects.toThrow(/check constraint/);
  });

  test("every table and every column has a comment", async () => {
    const missing = await shared.query<{ what: string }>(
      `SELECT c.relname || coalesce('.' || a.attname, '') AS what
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND (obj_description(c.oid, 'pg_class') IS NULL OR (a.attname IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL))`,
    );
    expect(missing.rows).toEqual([]);
    const { commented } = await one<{ commented: number }>(shared, "SELECT count(*)::int AS commented FROM pg_description d JOIN pg_class c ON c.oid = d.objoid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'");
    expect(commented).toBe(5 + 3 + 7 + 8 + 6 + 5);
  });

  test("orders span about two years and end on the build's day", async () => {
    const { first, last } = await one<{ first: Date; last: Date }>(shared, "SELECT min(order_date) AS first, max(order_date) AS last FROM orders");
    const day = Date.UTC(2026, 2, 15);
    expect(last.getTime()).toBeGreaterThanOrEqual(day);
    expect(last.getTime()).toBeLessThan(day + 86_400_000);
    const spanDays = (day - first.getTime()) / 86_400_000;
    expect(spanDays).toBeGreaterThan(725);
    expect(spanDays).toBeLessThanOrEqual(730);
    const { lastMonth } = await one<{ lastMonth: number }>(shared, "SELECT count(*)::int AS \"lastMonth\" FROM orders WHERE order_date >= '2026-02-01' AND order_date < '2026-03-01'");
    expect(lastMonth).toBeGreaterThan(100);
  });

  test("the data is varied: statuses, countries, seasons and a few best sellers", async () => {
    const { statuses, countries, cities } = await one<{ statuses: number; countries: number; cities: number }>(
      shared,
      "SELECT (SELECT count(DISTINCT status)::int FROM orders) AS statuses, (SELECT count(DISTINCT country)::int FROM customers) AS countries, (SELECT count(DISTINCT city)::int FROM customers) AS cities",
    );
    expect(statuses).toBeGreaterThanOrEqual(5);
    expect(countries).toBeGreaterThanOrEqual(8);
    expect(cities).toBeGreaterThanOrEqual(20);
    // The year's end is busier than its start.
    const { winter, spring } = await one<{ winter: number; spring: number }>(
      shared,
      `SELECT count(*) FILTER (WHERE extract(month FROM order_date) IN (11, 12))::int AS winter,
              count(*) FILTER (WHERE extract(month FROM order_date) IN (1, 2))::int AS spring FROM orders
        WHERE order_date >= '2025-01-01' AND order_date < '2026-01-01'`,
    );
    expect(winter).toBeGreaterThan(spring * 1.5);
    // Popularity is skewed: the ten best products sell far more than a tenth of the catalogue's share.
    const { top10share } = await one<{ top10share: number }>(
      shared,
      `SELECT (SELECT sum(q) FROM (SELECT sum(quantity) AS q FROM order_items GROUP BY product_id ORDER BY 1 DESC LIMIT 10) t)::float8
              / (SELECT sum(quantity) FROM order_items)::float8 AS top10share`,
    );
    expect(top10share).toBeGreaterThan(0.25);
  });
});
