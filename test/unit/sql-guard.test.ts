/**
 * The SQL guard (src/sql/guard.ts): the hostile/benign corpus, table extraction and
 * naming, statement types, and the function allowlist. The benign corpus is also run on
 * real databases (PGlite, and PostgreSQL when DATABASE_URL is set) so it stays SQL that
 * PostgreSQL accepts, not just SQL the guard accepts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { ALLOWED_FUNCTIONS, DENIED_FUNCTION_FAMILIES, functionRefusal } from "../../src/sql/function-allowlist";
import { checkSql, loadGuard, MAX_SQL_LENGTH } from "../../src/sql/guard";
import type { GuardPolicy } from "../../src/sql/types";
import { BENIGN, HOSTILE, largeQueries, SALES_POLICY, SALES_SCHEMA_SQL } from "./sql-guard-corpus";

const HOOK_TIMEOUT_MS = 180_000;
const ANY_TABLE: GuardPolicy = { allowedTables: null };
const grants = (...tables: string[]): GuardPolicy => ({ allowedTables: new Set(tables) });

beforeAll(async () => {
  await loadGuard();
}, HOOK_TIMEOUT_MS);

describe("corpus", () => {
  test("hostile statements are all refused and benign queries all accepted (summary)", () => {
    // Given the whole corpus under the sales policy
    const hostile = HOSTILE.flatMap((c) => c.cases);
    // When every statement is checked
    const accepted = hostile.filter((sql) => checkSql(sql, SALES_POLICY).valid);
    const rejected = BENIGN.filter((b) => !checkSql(b.sql, SALES_POLICY).valid);
    console.log(`hostile accepted ${accepted.length}/${hostile.length}, benign rejected ${rejected.length}/${BENIGN.length}`);
    // Then none slips through either way
    expect(hostile.length).toBeGreaterThanOrEqual(40);
    expect(BENIGN.length).toBeGreaterThanOrEqual(20);
    expect(accepted).toEqual([]);
    expect(rejected.map((b) => b.name)).toEqual([]);
  });

  describe.each(HOSTILE.map((c) => [c.name, c] as const))("hostile: %s", (_name, cls) => {
    // One line per title: the comment-hiding cases carry newlines.
    test.each(cls.cases.map((sql) => [sql.replace(/\s+/g, " "), sql] as const))("%s", (_title, sql) => {
      const verdict = checkSql(sql, SALES_POLICY);
      expect(verdict.valid).toBe(false);
      expect(verdict.errors.length).toBeGreaterThan(0);
      expect(verdict.errors.join("\n")).toMatch(cls.expect);
    });
  });

  describe.each(BENIGN.map((b) => [b.name, b] as const))("benign: %s", (_name, query) => {
    test("accepted as a SELECT with its tables", () => {
      const verdict = checkSql(query.sql, SALES_POLICY);
      expect(verdict).toEqual({ valid: true, statement_type: "SELECT", tables: [...query.tables].sort(), errors: [] });
    });
  });

  test("the large benchmark queries are accepted", () => {
    for (const { name, sql } of largeQueries()) {
      const verdict = checkSql(sql, SALES_POLICY);
      expect({ name, errors: verdict.errors }).toEqual({ name, errors: [] });
    }
  });
});

describe("table extraction", () => {
  test("reports every table once, sorted, through joins, subqueries and set operations", () => {
    const verdict = checkSql(
      "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id IN (SELECT order_id FROM order_items) UNION SELECT * FROM orders",
      ANY_TABLE,
    );
    expect(verdict.tables).toEqual(["customers", "order_items", "orders"]);
    expect(verdict.valid).toBe(true);
  });

  test("public is dropped, other schemas are kept, unquoted names fold to lower case", () => {
    const verdict = checkSql("SELECT * FROM PUBLIC.Orders, Sales.Invoices, analytics.\"Daily\"", ANY_TABLE);
    expect(verdict.tables).toEqual(["analytics.Daily", "orders", "sales.invoices"]);
  });

  test("quoted identifiers keep their case, as in PostgreSQL", () => {
    const verdict = checkSql('SELECT * FROM "Orders"', grants("orders"));
    expect(verdict.tables).toEqual(["Orders"]);
    expect(verdict.errors).toEqual(["table Orders is not covered by your grants"]);
  });

  test("unicode-escaped identifiers are decoded before the grant check", () => {
    const verdict = checkSql('SELECT * FROM U&"\\006Frders"', grants("orders"));
    expect(verdict).toEqual({ valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] });
  });

  test("aliases are not tables", () => {
    const verdict = checkSql("SELECT x.id FROM orders AS x JOIN (SELECT id FROM customers) AS sub ON sub.id = x.customer_id", grants("orders", "customers"));
    expect(verdict.tables).toEqual(["customers", "orders"]);
    expect(verdict.valid).toBe(true);
  });

  test("a CTE reference needs no grant, its body does", () => {
    const verdict = checkSql("WITH recent AS (SELECT * FROM orders) SELECT * FROM recent", grants("orders"));
    expect(verdict).toEqual({ valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] });
  });

  test("a non-recursive CTE does not see itself: WITH orders AS (SELECT * FROM orders) reads the table", () => {
    const granted = checkSql("WITH orders AS (SELECT * FROM orders WHERE total > 0) SELECT * FROM orders", grants("orders"));
    expect(granted.tables).toEqual(["orders"]);
    expect(granted.valid).toBe(true);
    const denied = checkSql("WITH orders AS (SELECT * FROM orders) SELECT * FROM orders", grants("customers"));
    expect(denied.errors).toEqual(["table orders is not covered by your grants"]);
  });

  test("a CTE sees only earlier siblings unless RECURSIVE", () => {
    const plain = checkSql("WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a", ANY_TABLE);
    expect(plain.tables).toEqual(["b"]);
    const recursive = checkSql("WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a", ANY_TABLE);
    expect(recursive.tables).toEqual([]);
  });

  test("a recursive CTE references itself without a grant", () => {
    const verdict = checkSql(
      "WITH RECURSIVE tree AS (SELECT id FROM categories WHERE parent_id IS NULL UNION ALL SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id) SELECT * FROM tree",
      grants("categories"),
    );
    expect(verdict).toEqual({ valid: true, statement_type: "SELECT", tables: ["categories"], errors: [] });
  });

  test("CTE scopes nest: an inner WITH is visible inside, not outside", () => {
    const inner = checkSql("SELECT * FROM (WITH t AS (SELECT 1 AS x) SELECT * FROM t) s", ANY_TABLE);
    expect(inner.tables).toEqual([]);
    const outside = checkSql("SELECT * FROM (WITH t AS (SELECT 1 AS x) SELECT * FROM t) s, t", ANY_TABLE);
    expect(outside.tables).toEqual(["t"]);
    const outerSeenInside = checkSql("WITH t AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM t) s WHERE EXISTS (SELECT 1 FROM t)", ANY_TABLE);
    expect(outerSeenInside.tables).toEqual([]);
  });

  test("a schema-qualified name is always a table, even when a CTE has that name", () => {
    const verdict = checkSql("WITH salaries AS (SELECT 1) SELECT * FROM public.salaries", grants("orders"));
    expect(verdict.tables).toEqual(["salaries"]);
    expect(verdict.errors).toEqual(["table salaries is not covered by your grants"]);
  });

  test("grants may name public tables with or without the public. prefix", () => {
    expect(checkSql("SELECT * FROM orders", grants("public.orders")).valid).toBe(true);
    expect(checkSql("SELECT * FROM sales.orders", grants("orders")).errors).toEqual(["table sales.orders is not covered by your grants"]);
    expect(checkSql("SELECT * FROM sales.orders", grants("sales.orders")).valid).toBe(true);
  });

  test("with no table restriction, user tables pass but system catalogs still do not", () => {
    expect(checkSql("SELECT * FROM anything JOIN hr.salaries USING (id)", ANY_TABLE).valid).toBe(true);
    expect(checkSql("SELECT * FROM pg_class", ANY_TABLE).errors).toEqual([
      "system catalog pg_class is not allowed: browse tables with the schema endpoints instead",
    ]);
    expect(checkSql("SELECT * FROM information_schema.tables", ANY_TABLE).valid).toBe(false);
  });

  test("an identifier containing a dot cannot pose as schema.table", () => {
    const verdict = checkSql('SELECT * FROM "sales.orders"', grants("sales.orders"));
    expect(verdict.valid).toBe(false);
    expect(verdict.errors[0]).toMatch(/identifiers containing a dot/);
  });

  test("refused statements still report the tables they name", () => {
    expect(checkSql("DELETE FROM orders WHERE id IN (SELECT order_id FROM order_items)", SALES_POLICY).tables).toEqual(["order_items", "orders"]);
    expect(checkSql("WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d", SALES_POLICY).tables).toEqual(["orders"]);
  });
});

describe("statement type and shape", () => {
  test("a SELECT is SELECT, valid or not", () => {
    expect(checkSql("SELECT 1", ANY_TABLE).statement_type).toBe("SELECT");
    expect(checkSql("VALUES (1), (2)", ANY_TABLE)).toEqual({ valid: true, statement_type: "SELECT", tables: [], errors: [] });
    expect(checkSql("TABLE orders", SALES_POLICY)).toEqual({ valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] });
    const refused = checkSql("SELECT pg_sleep(1)", ANY_TABLE);
    expect(refused.statement_type).toBe("SELECT");
    expect(refused.valid).toBe(false);
  });

  test("other statements report the parser's node name", () => {
    expect(checkSql("DELETE FROM orders", SALES_POLICY)).toMatchObject({
      valid: false,
      statement_type: "DeleteStmt",
      errors: ["only SELECT statements are allowed (got DeleteStmt): it changes data"],
    });
    expect(checkSql("INSERT INTO orders DEFAULT VALUES", SALES_POLICY).statement_type).toBe("InsertStmt");
    expect(checkSql("EXPLAIN SELECT 1", SALES_POLICY).statement_type).toBe("ExplainStmt");
    expect(checkSql("SHOW search_path", SALES_POLICY).statement_type).toBe("VariableShowStmt");
  });

  test("several statements: refused, and the type is the first that is not a SELECT", () => {
    const verdict = checkSql("SELECT 1; SELECT 2; DROP TABLE orders", SALES_POLICY);
    expect(verdict.valid).toBe(false);
    expect(verdict.statement_type).toBe("DropStmt");
    expect(verdict.errors).toEqual([
      "exactly one statement is allowed (got 3): remove the extra statements after the semicolon",
      "statement 3: only SELECT statements are allowed (got DropStmt): it changes the database or its schema",
    ]);
    expect(checkSql("SELECT 1; SELECT 2", SALES_POLICY).statement_type).toBe("SELECT");
  });

  test("a trailing semicolon and comments are fine", () => {
    expect(checkSql("-- top customers\nSELECT * FROM customers /* all of them */;", SALES_POLICY).valid).toBe(true);
  });

  test("a parse error gives the parser's message and no statement type", () => {
    expect(checkSql("SELEC * FROM orders", SALES_POLICY)).toEqual({
      valid: false,
      statement_type: null,
      tables: [],
      errors: ['syntax error at or near "SELEC"'],
    });
  });

  test("empty input, comments only, and oversized input are refused without a statement type", () => {
    expect(checkSql("   ", SALES_POLICY)).toEqual({ valid: false, statement_type: null, tables: [], errors: ["the query is empty"] });
    expect(checkSql("-- nothing\n;", SALES_POLICY).errors).toEqual(["no SQL statement found (only comments or semicolons)"]);
    const huge = `SELECT 1 ${" ".repeat(MAX_SQL_LENGTH)}`;
    expect(checkSql(huge, SALES_POLICY).errors[0]).toMatch(/too long/);
  });

  test("absurdly deep nesting is refused, not crashed on", () => {
    let sql = "SELECT 1";
    for (let i = 0; i < 5_000; i++) sql = `SELECT (${sql})`;
    const verdict = checkSql(sql, SALES_POLICY);
    expect(verdict.valid).toBe(false);
    expect(verdict.errors.length).toBe(1);
  });

  test("parameters, current_user and XML are refused with their reasons", () => {
    expect(checkSql("SELECT * FROM orders WHERE id = $1", SALES_POLICY).errors[0]).toMatch(/parameter placeholders \(\$1\)/);
    expect(checkSql("SELECT current_user", SALES_POLICY).errors[0]).toMatch(/current_user is not allowed/);
    expect(checkSql("SELECT * FROM XMLTABLE('/a' PASSING '<a/>' COLUMNS x int)", SALES_POLICY).errors[0]).toMatch(/XML/);
  });

  test("reasons are deduplicated", () => {
    const verdict = checkSql("SELECT pg_sleep(1), pg_sleep(2) FROM salaries, salaries s2", SALES_POLICY);
    expect(verdict.errors).toEqual([
      "function pg_sleep is not allowed: it sleeps, which ties up a connection (denial of service)",
      "table salaries is not covered by your grants",
    ]);
  });

  test("loadGuard is idempotent and returns a guard equivalent to checkSql", async () => {
    const guard = await loadGuard();
    expect(guard.check("SELECT count(*) FROM orders", SALES_POLICY)).toEqual(checkSql("SELECT count(*) FROM orders", SALES_POLICY));
  });
});

describe("function allowlist", () => {
  test("no allowlisted function belongs to a denied family", () => {
    const clashes = [...ALLOWED_FUNCTIONS].filter((name) => DENIED_FUNCTION_FAMILIES.some((f) => f.pattern.test(name)));
    expect(clashes).toEqual([]);
  });

  test("the dangerous functions named in the spec are refused with a reason", () => {
    const named = [
      "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "lo_import", "lo_export", "dblink", "dblink_exec", "pg_sleep",
      "pg_sleep_for", "pg_terminate_backend", "pg_cancel_backend", "set_config", "current_setting", "query_to_xml",
      "query_to_xml_and_xmlschema", "table_to_xml", "cursor_to_xml", "setval", "nextval", "pg_advisory_lock",
      "pg_advisory_xact_lock", "pg_notify", "txid_current", "pg_current_xact_id", "version", "inet_server_addr",
      "pg_stat_get_activity", "has_table_privilege",
    ];
    for (const name of named) {
      const why = functionRefusal(name);
      expect({ name, allowed: why === null }).toEqual({ name, allowed: false });
      expect(why).not.toMatch(/not in the allowlist/);
    }
  });

  test("common analytical functions are allowed; unknown ones are refused as not allowlisted", () => {
    for (const name of ["count", "sum", "avg", "row_number", "date_trunc", "coalesce_not_a_function"]) {
      expect(functionRefusal(name) === null).toBe(name !== "coalesce_not_a_function");
    }
    expect(functionRefusal("my_udf")).toMatch(/not in the allowlist/);
  });
});

/** Runs the benign corpus on a real database: the guard must not accept SQL PostgreSQL rejects. */
interface Runner {
  /** Server major version (PGlite: 18). */
  major: number;
  query(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

async function pgliteRunner(): Promise<Runner> {
  const db = await PGlite.create();
  await db.exec(SALES_SCHEMA_SQL);
  const [{ v }] = (await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows;
  return { major: Math.floor(Number(v) / 10_000), query: (sql) => db.query(sql), close: () => db.close() };
}

async function postgresRunner(url: string): Promise<Runner> {
  const name = `guard_corpus_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = postgres(target.toString(), { max: 1, onnotice: () => {} });
  await db.unsafe(SALES_SCHEMA_SQL).simple();
  const [{ v }] = await db.unsafe("SELECT current_setting('server_version_num') AS v");
  return {
    major: Math.floor(Number(v) / 10_000),
    query: (sql) => db.unsafe(sql),
    close: async () => {
      await db.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const backends: Array<"pglite" | "postgres"> = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

describe.each(backends)("benign corpus on a real database (%s)", (kind) => {
  let runner: Runner;
  beforeAll(async () => {
    runner = kind === "pglite" ? await pgliteRunner() : await postgresRunner(process.env.DATABASE_URL!);
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await runner?.close();
  }, HOOK_TIMEOUT_MS);

  test.each(BENIGN.map((b) => [b.name, b] as const))("%s runs", async (_name, query) => {
    // Given the guard accepted it (corpus test), when PostgreSQL runs it, then it does not fail
    if (runner.major >= (query.minVersion ?? 15)) await expect(runner.query(query.sql)).resolves.toBeDefined();
    // (syntax newer than the server: the server refuses it, the guard's parser is PostgreSQL 18's)
    else await expect(runner.query(query.sql)).rejects.toThrow(/syntax error/);
  });

  test("PostgreSQL resolves names the way the guard reports them", async () => {
    // "Orders" (quoted) is another table than orders, as the guard says
    await expect(runner.query('SELECT * FROM "Orders"')).rejects.toThrow(/does not exist/);
    await expect(runner.query("SELECT * FROM ORDERS")).resolves.toBeDefined();
    // Unqualified pg_class is the catalog, which is why the guard refuses unqualified pg_* names
    await expect(runner.query("SELECT count(*) FROM pg_class")).resolves.toBeDefined();
  });
});
