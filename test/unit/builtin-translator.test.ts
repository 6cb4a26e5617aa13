/**
 * The built-in translator against the demo database: each question's generated SQL is run
 * and its result compared with hand-written SQL's (same values; same order where the
 * question implies one). The schema it works from is introspected from the catalog, as the
 * service does. Also: plain refusals with examples built from the schema, a schema without
 * order_items never leads to that table, another schema entirely (so nothing is tied to the
 * demo's names), and the guard accepts every statement as a single SELECT.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { PGlite } from "@electric-sql/pglite";
import { HOOK_TIMEOUT_MS } from "../api/_helpers";
import { BuiltinTranslator } from "../../src/llm/builtin";
import { buildDemoDatabase } from "../../src/sql/demo";
import { loadGuard, type SqlGuard } from "../../src/sql/guard";
import { introspectSchema } from "../../src/sql/introspect";
import { withPgliteSession } from "../../src/sql/pg-session-pglite";
import { CannotTranslateError, type DatabaseSchema } from "../../src/sql/types";

const translator = new BuiltinTranslator();
const lastYear = new Date().getUTCFullYear() - 1;
const LINE_REVENUE = "sum(oi.quantity * oi.unit_price)";
const LAST_MONTH = "o.order_date >= date_trunc('month', current_date - interval '1 month') AND o.order_date < date_trunc('month', current_date)";

interface Case {
  question: string;
  /** Hand-written SQL answering the question; written independently of the translator's shapes. */
  expected: string;
  /** The question implies an order (rankings, trends); otherwise rows are compared as a set. */
  ordered: boolean;
}

const CASES: Case[] = [
  {
    question: "Show me the top 5 selling products last month.",
    expected: `SELECT p.name, sum(oi.quantity) FROM order_items oi JOIN orders o USING (order_id) JOIN products p USING (product_id)
               WHERE ${LAST_MONTH} GROUP BY p.product_id, p.name ORDER BY 2 DESC, 1 LIMIT 5`,
    ordered: true,
  },
  {
    question: "Top 10 customers by revenue",
    expected: `SELECT c.first_name || ' ' || c.last_name, ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) JOIN customers c USING (customer_id)
               GROUP BY c.customer_id ORDER BY 2 DESC, 1 LIMIT 10`,
    ordered: true,
  },
  { question: "Number of orders per status", expected: "SELECT status, count(*) FROM orders GROUP BY status", ordered: false },
  {
    question: "Average order value by country",
    expected: "SELECT c.country, round(avg(o.total_amount), 2) FROM orders o JOIN customers c USING (customer_id) GROUP BY c.country",
    ordered: false,
  },
  {
    question: "Total sales by category",
    expected: `SELECT cat.name, ${LINE_REVENUE} FROM order_items oi JOIN products p USING (product_id) JOIN categories cat USING (category_id) GROUP BY cat.name`,
    ordered: false,
  },
  { question: "How many customers are there?", expected: "SELECT 500", ordered: false },
  {
    question: "Total revenue this year",
    expected: `SELECT ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) WHERE extract(year FROM o.order_date) = extract(year FROM current_date)`,
    ordered: false,
  },
  {
    question: "Monthly revenue over the last 12 months",
    expected: `SELECT to_char(o.order_date, 'YYYY-MM-01'), sum(o.total_amount) FROM orders o
               WHERE o.order_date >= date_trunc('month', current_date - interval '11 months') GROUP BY 1 ORDER BY 1`,
    ordered: true,
  },
  {
    question: "Orders per day last week",
    expected: `SELECT o.order_date::date, count(*) FROM orders o
               WHERE o.order_date >= date_trunc('week', current_date - 7) AND o.order_date < date_trunc('week', current_date) GROUP BY 1 ORDER BY 1`,
    ordered: true,
  },
  {
    question: `What was our revenue in ${lastYear}?`,
    expected: `SELECT ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) WHERE extract(year FROM o.order_date) = ${lastYear}`,
    ordered: false,
  },
  { question: "How many orders yesterday?", expected: "SELECT count(*) FROM orders WHERE order_date::date = current_date - 1", ordered: false },
  {
    question: "Number of orders per channel in the last 30 days",
    expected: "SELECT channel, count(*) FROM orders WHERE order_date::date > current_date - 30 GROUP BY channel",
    ordered: false,
  },
  {
    question: "Top 3 categories by revenue last quarter",
    expected: `SELECT cat.name, ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) JOIN products p USING (product_id) JOIN categories cat USING (category_id)
               WHERE o.order_date >= date_trunc('quarter', current_date) - interval '3 months' AND o.order_date < date_trunc('quarter', current_date)
               GROUP BY cat.name ORDER BY 2 DESC, 1 LIMIT 3`,
    ordered: true,
  },
  {
    question: "How many products per category?",
    expected: "SELECT cat.name, count(*) FROM products p JOIN categories cat USING (category_id) GROUP BY cat.name",
    ordered: false,
  },
  {
    question: "Which country has the highest revenue?",
    expected: `SELECT c.country, ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
    ordered: true,
  },
  {
    question: "Top 10 customers by number of orders",
    expected: `SELECT c.first_name || ' ' || c.last_name, count(*) FROM orders o JOIN customers c USING (customer_id)
               GROUP BY c.customer_id ORDER BY 2 DESC, 1 LIMIT 10`,
    ordered: true,
  },
  {
    question: "Completed orders per month this year",
    expected: `SELECT to_char(order_date, 'YYYY-MM-01'), count(*) FROM orders
               WHERE status = 'completed' AND extract(year FROM order_date) = extract(year FROM current_date) GROUP BY 1 ORDER BY 1`,
    ordered: true,
  },
  {
    question: "Average unit price of products by category",
    expected: "SELECT cat.name, round(avg(p.unit_price), 2) FROM products p JOIN categories cat USING (category_id) GROUP BY cat.name",
    ordered: false,
  },
  {
    question: "Total units sold in the last 7 days",
    expected: "SELECT sum(oi.quantity) FROM order_items oi JOIN orders o USING (order_id) WHERE o.order_date::date > current_date - 7",
    ordered: false,
  },
  {
    question: "Revenue per customer segment",
    expected: `SELECT c.segment, ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) JOIN customers c USING (customer_id) GROUP BY 1`,
    ordered: false,
  },
  {
    question: "Revenue by product category in the last 3 months",
    expected: `SELECT cat.name, ${LINE_REVENUE} FROM order_items oi JOIN orders o USING (order_id) JOIN products p USING (product_id) JOIN categories cat USING (category_id)
               WHERE o.order_date >= date_trunc('month', current_date - interval '2 months') GROUP BY cat.name`,
    ordered: false,
  },
];

/** Values only, rounded money, dates as days: the two queries may name and type columns differently. */
function normalise(rows: Record<string, unknown>[]): string[] {
  return rows.map((row) =>
    JSON.stringify(
      Object.values(row).map((v) => {
        if (v instanceof Date) return v.toISOString().slice(0, 10);
        if (typeof v === "number" || (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v))) return Number(v).toFixed(2);
        if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
        return v;
      }),
    ),
  );
}

function withoutTable(schema: DatabaseSchema, table: string): DatabaseSchema {
  const keep = (fk: { from_table: string; to_table: string }) => fk.from_table !== table && fk.to_table !== table;
  return {
    tables: schema.tables.filter((t) => t.name !== table).map((t) => ({ ...t, foreign_keys: t.foreign_keys.filter(keep) })),
    relationships: schema.relationships.filter(keep),
  };
}

async function refusal(question: string, schema: DatabaseSchema): Promise<CannotTranslateError> {
  try {
    const t = await translator.translate({ question, schema });
    throw new Error(`expected a refusal, got: ${t.sql}`);
  } catch (err) {
    if (!(err instanceof CannotTranslateError)) throw err;
    return err;
  }
}

const examplesIn = (message: string) => [...message.matchAll(/"([^"]+)"/g)].map((m) => m[1]).filter((e) => e.includes(" ") && /[a-z]/i.test(e));

describe("built-in translator on the demo database", () => {
  let db: PGlite;
  let schema: DatabaseSchema;
  let guard: SqlGuard;
  const allTables = new Set(["categories", "products", "customers", "orders", "order_items"]);

  beforeAll(async () => {
    db = await buildDemoDatabase();
    schema = await withPgliteSession(db, {}, introspectSchema);
    guard = await loadGuard();
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await db?.close();
  }, HOOK_TIMEOUT_MS);

  test(`given ${CASES.length} questions, then each generated SELECT returns what the hand-written SQL returns`, async () => {
    const failures: string[] = [];
    for (const c of CASES) {
      try {
        const translation = await translator.translate({ question: c.question, schema });
        expect(translation.model).toBe("builtin-translator");
        expect(translation.usage).toEqual({ input_tokens: 0, output_tokens: 0 });
        expect(translation.explanation.length).toBeGreaterThan(20);
        const verdict = guard.check(translation.sql, { allowedTables: allTables });
        if (!verdict.valid || verdict.statement_type !== "SELECT") throw new Error(`guard: ${verdict.errors.join("; ")}`);
        let got = normalise((await db.query<Record<string, unknown>>(translation.sql)).rows);
        let want = normalise((await db.query<Record<string, unknown>>(c.expected)).rows);
        if (!c.ordered) [got, want] = [got.sort(), want.sort()];
        if (want.length === 0) throw new Error("the hand-written SQL found no rows: the case proves nothing");
        if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`got ${got.slice(0, 3).join(" ")}..., want ${want.slice(0, 3).join(" ")}...\n${translation.sql}`);
      } catch (err) {
        failures.push(`${c.question}: ${(err as Error).message}`);
      }
    }
    console.log(`builtin translator: ${CASES.length - failures.length}/${CASES.length} questions answered correctly`);
    expect(failures).toEqual([]);
  });

  test("given questions outside its shapes, then CannotTranslateError says why, with examples that themselves work", async () => {
    for (const question of ["Which products were never ordered?", "What is the weather in Paris?", "Revenue and orders per month", "Top 3 products per category", ""]) {
      const err = await refusal(question, schema);
      expect(err.message).toContain("For example");
      expect(err.usage).toEqual({ input_tokens: 0, output_tokens: 0 });
      const examples = examplesIn(err.message.slice(err.message.indexOf("For example")));
      expect(examples.length).toBeGreaterThanOrEqual(3);
      expect(examples.length).toBeLessThanOrEqual(5);
      for (const example of examples) {
        const t = await translator.translate({ question: example, schema });
        await db.query(t.sql);
      }
    }
    expect((await refusal("Which products were never ordered?", schema)).message).toMatch(/"never"/);
    expect((await refusal("What is the weather in Paris?", schema)).message).toMatch(/"weather"/);
  });

  test("given a schema without order_items, then no SQL reads it: answers from orders or says it cannot", async () => {
    const granted = withoutTable(schema, "order_items");
    const grantedTables = new Set(granted.tables.map((t) => t.name));
    expect(grantedTables.has("order_items")).toBe(false);

    const revenue = await translator.translate({ question: "Total revenue this year", schema: granted });
    expect(revenue.sql).not.toContain("order_items");
    expect(guard.check(revenue.sql, { allowedTables: grantedTables }).valid).toBe(true);
    const [got] = (await db.query<{ revenue: string }>(revenue.sql)).rows;
    const [want] = (await db.query<{ sum: string }>("SELECT sum(total_amount) FROM orders WHERE order_date >= date_trunc('year', current_date)")).rows;
    expect(Number(got.revenue)).toBe(Number(want.sum));

    for (const question of ["Top 5 selling products last month", "Total sales by category"]) {
      const err = await refusal(question, granted);
      expect(err.message).not.toContain("order_items");
      expect(examplesIn(err.message).length).toBeGreaterThanOrEqual(3);
    }
  });

  test("given every question asked here, then the SQL is one SELECT over granted tables only", async () => {
    for (const question of [...CASES.map((c) => c.question), "orders by segment", "weekly orders over the last 8 weeks", "how many orders today", "average order value", "orders in march", "top 5 orders by value", "average quantity per order item"]) {
      const { sql } = await translator.translate({ question, schema });
      const verdict = guard.check(sql, { allowedTables: allTables });
      expect(verdict.errors).toEqual([]);
      expect(verdict.statement_type).toBe("SELECT");
      expect(sql).not.toContain(";");
    }
  });

  test("given another schema (billing.clients and billing.invoices), then it answers from those names", async () => {
    await db.exec(`
      CREATE SCHEMA billing;
      CREATE TABLE billing.clients (id integer PRIMARY KEY, company_name text NOT NULL, region text NOT NULL);
      CREATE TABLE billing.invoices (id integer PRIMARY KEY, client_id integer NOT NULL REFERENCES billing.clients (id), issued_on date NOT NULL, amount numeric(12,2) NOT NULL);
      INSERT INTO billing.clients VALUES (1, 'Northwind', 'EMEA'), (2, 'Contoso', 'AMER'), (3, 'Fabrikam', 'EMEA');
      INSERT INTO billing.invoices VALUES
        (1, 1, current_date - 3, 100.00), (2, 1, current_date - 40, 250.00), (3, 2, current_date - 1, 900.00),
        (4, 3, current_date - 2, 50.00), (5, 3, current_date - 5, 75.00), (6, 2, current_date - 400, 5000.00);`);
    const full = await withPgliteSession(db, {}, introspectSchema);
    const billing: DatabaseSchema = {
      tables: full.tables.filter((t) => t.schema === "billing"),
      relationships: full.relationships.filter((r) => r.from_table.startsWith("billing.")),
    };
    expect(billing.tables.map((t) => t.name).sort()).toEqual(["billing.clients", "billing.invoices"]);

    const top = await translator.translate({ question: "Top 2 clients by revenue in the last 30 days", schema: billing });
    expect(top.sql).toContain("billing.invoices");
    expect(top.sql).toContain("issued_on");
    expect(normalise((await db.query<Record<string, unknown>>(top.sql)).rows)).toEqual(normalise([{ c: "Contoso", r: 900 }, { c: "Fabrikam", r: 125 }]));

    const perRegion = await translator.translate({ question: "number of invoices per region", schema: billing });
    expect(normalise((await db.query<Record<string, unknown>>(perRegion.sql)).rows).sort()).toEqual(normalise([{ r: "AMER", n: 2 }, { r: "EMEA", n: 4 }]).sort());

    const err = await refusal("How many products are there?", billing);
    const examples = examplesIn(err.message.slice(err.message.indexOf("For example")));
    expect(examples.some((e) => /clients|invoices/i.test(e))).toBe(true);
    expect(examples.join(" ")).not.toMatch(/products|orders|customers/);
  });
});
