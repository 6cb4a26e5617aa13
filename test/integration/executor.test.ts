/**
 * The executor on its own — no guard in front of it — against a real PostgreSQL
 * database (created for this suite, dropped afterwards) and against PGlite: caps, JSON
 * values, timeouts, and the database itself refusing every kind of write.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { openConnection, pgliteConnection, postgresConnection } from "../../src/sql/connections";
import { QueryExecutionError } from "../../src/sql/executor";
import type { DataSourceConnection, ExecuteLimits } from "../../src/sql/types";

const HOOK_TIMEOUT_MS = 180_000;
const LIMITS: ExecuteLimits = { timeoutMs: 5_000, maxRows: 1_000, maxBytes: 5 * 1024 * 1024 };

const SALES_SQL = `
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, vip boolean NOT NULL DEFAULT false);
CREATE TABLE orders (
  id int8 PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), total numeric(12, 2) NOT NULL,
  placed_at timestamptz NOT NULL, placed_on date NOT NULL, tags text[] NOT NULL, meta jsonb, receipt bytea, ratio float8
);
CREATE SEQUENCE invoice_numbers;
INSERT INTO customers SELECT g, 'customer ' || g, g % 10 = 0 FROM generate_series(1, 50) g;
INSERT INTO orders
SELECT g, 1 + g % 50, g * 1.25, timestamptz '2024-01-15 10:00:00.123456+00' + g * interval '1 hour', date '2024-01-15' + g / 24,
       ARRAY['web', 'promo ' || (g % 3)], jsonb_build_object('channel', 'web', 'items', g % 5), '\\x0102ff'::bytea, g / 8.0
  FROM generate_series(1, 3000) g;
ANALYZE;`;

/** A database with the sales tables, a connection to it, and a way to look at it from outside the executor. */
interface Fixture {
  kind: "postgres" | "pglite";
  connection: DataSourceConnection;
  /** Reads the database directly, bypassing the executor. */
  direct(sql: string): Promise<Record<string, unknown>[]>;
  /** Opens another connection to the same database. */
  reconnect(options?: { poolMax?: number; password?: string }): DataSourceConnection;
  drop(): Promise<void>;
}

async function pgliteFixture(): Promise<Fixture> {
  const lite = await PGlite.create();
  await lite.exec(SALES_SQL);
  return {
    kind: "pglite",
    connection: pgliteConnection(lite),
    direct: async (sql) => (await lite.query<Record<string, unknown>>(sql)).rows,
    reconnect: () => pgliteConnection(lite),
    drop: () => lite.close(),
  };
}

async function postgresFixture(serverUrl: string): Promise<Fixture> {
  const name = `ll_exec_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const server = new URL(serverUrl);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${name}`;
  const owner = postgres(dbUrl.toString(), { max: 1, onnotice: () => {}, connection: { application_name: "executor-test-owner" } });
  await owner.unsafe(SALES_SQL);
  const spec = (password?: string) => ({
    type: "postgresql" as const,
    host: server.hostname,
    port: Number(server.port || 5432),
    database: name,
    username: decodeURIComponent(server.username || "postgres"),
    password: password ?? (server.password ? decodeURIComponent(server.password) : null),
    ssl: false,
  });
  // One connection: "usable afterwards" then means the very connection that failed.
  const connection = postgresConnection(spec(), { poolMax: 1 });
  return {
    kind: "postgres",
    connection,
    direct: async (sql) => [...(await owner.unsafe(sql))] as Record<string, unknown>[],
    reconnect: (options = {}) => postgresConnection(spec(options.password), { poolMax: options.poolMax ?? 1 }),
    async drop() {
      await connection.close();
      await owner.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.end();
    },
  };
}

function fixtureKinds(): Array<{ kind: string; open: () => Promise<Fixture> }> {
  const kinds: Array<{ kind: string; open: () => Promise<Fixture> }> = [{ kind: "pglite", open: pgliteFixture }];
  const url = process.env.DATABASE_URL;
  if (url) kinds.push({ kind: "postgres", open: () => postgresFixture(url) });
  return kinds;
}

/** Runs `sql` expecting the executor to refuse it; returns the error. */
async function refused(connection: DataSourceConnection, sql: string, limits: Partial<ExecuteLimits> = {}): Promise<QueryExecutionError> {
  try {
    await connection.execute(sql, { ...LIMITS, ...limits });
  } catch (error) {
    expect(error).toBeInstanceOf(QueryExecutionError);
    return error as QueryExecutionError;
  }
  throw new Error(`expected the database to refuse: ${sql}`);
}

for (const { kind, open } of fixtureKinds()) {
  describe(`executor [${kind}]`, () => {
    let fx: Fixture;
    beforeAll(async () => {
      fx = await open();
    }, HOOK_TIMEOUT_MS);
    afterAll(async () => {
      await fx?.drop();
    }, HOOK_TIMEOUT_MS);

    /** Everything a write could change, read from outside the executor. */
    const snapshot = () =>
      fx.direct(
        `SELECT (SELECT count(*)::text FROM orders) AS orders, (SELECT sum(total)::text FROM orders) AS total,
                (SELECT count(*)::text FROM customers) AS customers, (SELECT last_value::text FROM invoice_numbers) AS seq,
                (SELECT count(*)::text FROM pg_class WHERE relname = 'loot') AS loot`,
      );

    test("given a SELECT, when it runs, then columns carry catalog type names and rows JSON-safe values", async () => {
      const result = await fx.connection.execute(
        "SELECT id, customer_id, total, placed_at, placed_on, tags, meta, receipt, ratio FROM orders WHERE id <= 2 ORDER BY id",
        LIMITS,
      );
      expect(result.columns).toEqual([
        { name: "id", type: "int8" },
        { name: "customer_id", type: "int4" },
        { name: "total", type: "numeric" },
        { name: "placed_at", type: "timestamptz" },
        { name: "placed_on", type: "date" },
        { name: "tags", type: "_text" },
        { name: "meta", type: "jsonb" },
        { name: "receipt", type: "bytea" },
        { name: "ratio", type: "float8" },
      ]);
      expect(result.rows).toEqual([
        { id: 1, customer_id: 2, total: "1.25", placed_at: "2024-01-15T11:00:00.123456Z", placed_on: "2024-01-15", tags: ["web", "promo 1"], meta: { channel: "web", items: 1 }, receipt: "\\x0102ff", ratio: 0.125 },
        { id: 2, customer_id: 3, total: "2.50", placed_at: "2024-01-15T12:00:00.123456Z", placed_on: "2024-01-15", tags: ["web", "promo 2"], meta: { channel: "web", items: 2 }, receipt: "\\x0102ff", ratio: 0.25 },
      ]);
      expect(result.rowCount).toBe(2);
      expect(result.truncated).toBe(false);
      expect(result.executionMs).toBeGreaterThanOrEqual(0);
      // The result survives a JSON round trip unchanged: nothing a response could not carry.
      expect(JSON.parse(JSON.stringify(result.rows))).toEqual(result.rows);
    });

    test("given values JSON cannot hold natively, when selected, then they come back as exact strings", async () => {
      const result = await fx.connection.execute(
        `SELECT 9007199254740993::int8 AS big, 42::int8 AS small, 'NaN'::float8 AS nan, true AS yes, NULL::text AS nothing,
                12345678901234567890.123456789::numeric AS precise, '{"a":[1,{"b":null}]}'::json AS doc,
                ARRAY[[1, 2], [3, 4]] AS grid, ARRAY['x,y', NULL, 'q"t'] AS tricky, interval '1 day 2 hours' AS span,
                timestamp '2024-02-29 23:59:59.5' AS local_time, count(*) AS n FROM customers`,
        LIMITS,
      );
      expect(result.rows).toEqual([
        {
          big: "9007199254740993",
          small: 42,
          nan: "NaN",
          yes: true,
          nothing: null,
          precise: "12345678901234567890.123456789",
          doc: { a: [1, { b: null }] },
          grid: [[1, 2], [3, 4]],
          tricky: ["x,y", null, 'q"t'],
          span: "1 day 02:00:00",
          local_time: "2024-02-29T23:59:59.5",
          n: 50,
        },
      ]);
      expect(result.columns.map((c) => c.type)).toEqual(["int8", "int8", "float8", "bool", "text", "numeric", "json", "_int4", "_text", "interval", "timestamp", "int8"]);
    });

    test("given a statement that returns no rows, when it runs, then the columns are still described", async () => {
      const result = await fx.connection.execute("SELECT id, name FROM customers WHERE false", LIMITS);
      expect(result.columns).toEqual([
        { name: "id", type: "int4" },
        { name: "name", type: "text" },
      ]);
      expect(result.rows).toEqual([]);
      expect(result.truncated).toBe(false);
    });

    test("given more rows than maxRows, when it runs, then exactly maxRows come back marked truncated", async () => {
      const capped = await fx.connection.execute("SELECT id FROM orders ORDER BY id", { ...LIMITS, maxRows: 10 });
      expect(capped.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(capped.rowCount).toBe(10);
      expect(capped.truncated).toBe(true);

      const exact = await fx.connection.execute("SELECT id FROM customers ORDER BY id", { ...LIMITS, maxRows: 50 });
      expect(exact.rowCount).toBe(50);
      expect(exact.truncated).toBe(false);
    });

    test("given a request for more than 10,000 rows, when it runs, then 10,000 rows come back marked truncated", async () => {
      const result = await fx.connection.execute("SELECT g FROM generate_series(1, 12000) g", { ...LIMITS, maxRows: 50_000 });
      expect(result.rowCount).toBe(10_000);
      expect(result.rows[9_999]).toEqual({ g: 10_000 });
      expect(result.truncated).toBe(true);

      const allowed = await fx.connection.execute("SELECT g FROM generate_series(1, 10000) g", { ...LIMITS, maxRows: 10_000 });
      expect(allowed.rowCount).toBe(10_000);
      expect(allowed.truncated).toBe(false);
    });

    test("given rows larger than maxBytes, when it runs, then rows stop before the cap and the result is truncated", async () => {
      const maxBytes = 10_000;
      const result = await fx.connection.execute("SELECT g, repeat('x', 1000) AS filler FROM generate_series(1, 100) g", { ...LIMITS, maxBytes });
      expect(result.truncated).toBe(true);
      expect(result.rowCount).toBeGreaterThan(0);
      expect(result.rowCount).toBeLessThan(10);
      expect(Buffer.byteLength(JSON.stringify(result.rows))).toBeLessThanOrEqual(maxBytes);
      expect(result.rows.map((r) => r.g)).toEqual(Array.from({ length: result.rowCount }, (_, i) => i + 1));
    });

    test("given pg_sleep(5) and a 200 ms timeout, when it runs, then it fails and the connection still answers", async () => {
      const error = await refused(fx.connection, "SELECT pg_sleep(5)", { timeoutMs: 200 });
      if (fx.kind === "postgres") {
        expect(error.code).toBe("57014");
        expect(error.message).toBe("canceling statement due to statement timeout");
      } else {
        // PGlite cannot interrupt a statement: the sleep is refused before it starts.
        expect(error.code).toBe("54000");
        expect(error.message).toContain("pg_sleep");
      }
      const after = await fx.connection.execute("SELECT 1 AS ok", LIMITS);
      expect(after.rows).toEqual([{ ok: 1 }]);
    });

    test("given a statement that tries to lift the timeout from inside, when it runs, then the timeout still applies", async () => {
      const multi = await refused(fx.connection, "SET statement_timeout = 0; SELECT pg_sleep(10)", { timeoutMs: 300 });
      expect(multi.code).toBe("42601");
      expect(multi.message).toContain("cannot insert multiple commands into a prepared statement");
      if (fx.kind === "postgres") {
        const inline = await refused(fx.connection, "SELECT set_config('statement_timeout', '0', false), pg_sleep(10)", { timeoutMs: 300 });
        expect(inline.code).toBe("57014");
        // Nothing a statement set survives the rollback: the next one runs with its own timeout.
        const next = await fx.connection.execute("SELECT current_setting('statement_timeout') AS timeout", { ...LIMITS, timeoutMs: 1234 });
        expect(next.rows).toEqual([{ timeout: "1234ms" }]);
      }
    });

    test("given the guard switched off, when writes of every kind are submitted, then the database refuses each and nothing changes", async () => {
      const before = await snapshot();
      const writes = [
        "INSERT INTO customers VALUES (999, 'intruder', false)",
        "UPDATE orders SET total = 0",
        "DELETE FROM orders",
        "TRUNCATE orders",
        "CREATE TABLE loot (id int)",
        "SELECT * FROM customers WHERE id = 1 FOR UPDATE",
        "SELECT nextval('invoice_numbers')",
        "SELECT setval('invoice_numbers', 100)",
        "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone",
      ];
      for (const sql of writes) {
        const error = await refused(fx.connection, sql);
        expect({ sql, code: error.code }).toEqual({ sql, code: "25006" });
        expect(error.message).toContain("read-only transaction");
      }
      const multi = await refused(fx.connection, "SELECT 1; DELETE FROM orders");
      expect(multi.code).toBe("42601");
      expect(multi.message).toBe("cannot insert multiple commands into a prepared statement");
      expect(await snapshot()).toEqual(before);
      expect(before[0].orders).toBe("3000");
    });

    test("given several statements at once, when they run concurrently, then each gets its own correct result", async () => {
      const connection = fx.reconnect({ poolMax: 2 });
      try {
        const ids = [1, 2, 3, 4, 5, 6];
        const results = await Promise.all(ids.map((id) => connection.execute(`SELECT id, name FROM customers WHERE id = ${id}`, LIMITS)));
        expect(results.map((r) => r.rows)).toEqual(ids.map((id) => [{ id, name: `customer ${id}` }]));
      } finally {
        await connection.close();
      }
    });

    test("given a reachable source, when pinged, then it answers", async () => {
      await fx.connection.ping(10_000);
      expect((await fx.connection.execute("SELECT current_setting('transaction_read_only') AS ro", LIMITS)).rows).toEqual([{ ro: "on" }]);
    });

    test("given a closed connection, when it is used, then it says so", async () => {
      const connection = fx.reconnect();
      await connection.close();
      const error = await refused(connection, "SELECT 1");
      expect(error.code).toBe("08003");
    });

    if (kind === "pglite") {
      test("given statements PGlite could not interrupt, when submitted, then they are refused before running and normal queries still run", async () => {
        const expensive = await refused(fx.connection, "SELECT count(*) FROM orders a, orders b, customers c", { timeoutMs: 200 });
        expect(expensive.code).toBe("54000");
        expect(expensive.message).toContain("too expensive");
        const recursive = await refused(fx.connection, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r");
        expect(recursive.message).toContain("recursive");
        const loop = await refused(fx.connection, "/* forever */ DO $$ BEGIN LOOP END LOOP; END $$");
        expect(loop.message).toContain("DO cannot run");
        // Cheap to fetch the first rows of even a large result: the cursor stops there.
        const firstRows = await fx.connection.execute("SELECT a.id, b.id AS other FROM orders a, orders b", { ...LIMITS, maxRows: 5 });
        expect(firstRows.rowCount).toBe(5);
        expect(firstRows.truncated).toBe(true);
        const report = await fx.connection.execute(
          "SELECT c.vip, count(*) AS orders, sum(o.total) AS revenue FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.vip ORDER BY c.vip",
          LIMITS,
        );
        expect(report.rows).toEqual([
          { vip: false, orders: 2700, revenue: "5062875.00" },
          { vip: true, orders: 300, revenue: "564000.00" },
        ]);
      });
    }

    if (kind === "postgres") {
      test("given a statement taking a session-level advisory lock, when it has run, then the pooled connection holds no lock", async () => {
        await fx.connection.execute("SELECT pg_advisory_lock(424242) AS locked", LIMITS);
        const held = await fx.direct("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242");
        expect(held).toEqual([{ n: 0 }]);
      });

      test("given connection failures, when they are reported, then the message names host and port and never the password", async () => {
        const password = "Sup3r-Secret-Pa55word";
        const server = new URL(process.env.DATABASE_URL!);
        const unreachable = openConnection({ type: "postgresql", host: "127.0.0.1", port: 1, database: "nowhere", username: "someone", password, ssl: false });
        const noDatabase = openConnection({
          type: "postgresql",
          host: server.hostname,
          port: Number(server.port || 5432),
          database: "ll_missing_database",
          username: decodeURIComponent(server.username || "postgres"),
          password,
          ssl: false,
        });
        try {
          const refusedError = await refused(unreachable, "SELECT 1");
          expect(refusedError.code).toBe("08001");
          expect(refusedError.message).toBe("could not connect to 127.0.0.1:1: connection refused");
          const pingError = await unreachable.ping(2_000).then(
            () => null,
            (e: unknown) => e as QueryExecutionError,
          );
          expect(pingError).toBeInstanceOf(QueryExecutionError);
          const missing = await refused(noDatabase, "SELECT 1");
          expect(missing.code).toBe("3D000");
          expect(missing.message).toBe('database "ll_missing_database" does not exist');
          for (const error of [refusedError, pingError!, missing]) {
            const everything = `${error.message} ${String(error)} ${error.stack ?? ""} ${JSON.stringify({ ...error })}`;
            expect(everything).not.toContain(password);
            expect(everything).not.toMatch(/postgres(ql)?:\/\/[^\s]*@/);
          }
        } finally {
          await unreachable.close();
          await noDatabase.close();
        }
      });
    }
  });
}

describe("connection addresses", () => {
  test("given a host that is a socket path or a host list, when the connection is used, then it is refused without connecting", async () => {
    for (const host of ["/var/run/postgresql", "db1,db2", ""]) {
      const connection = openConnection({ type: "postgresql", host, port: 5432, database: "postgres", username: "postgres", password: null, ssl: false });
      const error = await refused(connection, "SELECT 1");
      expect(error.code).toBe("08001");
      expect(error.message).toBe(`invalid host "${host}"`);
      await connection.close();
    }
  });
});

describe("executor [embedded-demo]", () => {
  let demo: DataSourceConnection;
  beforeAll(() => {
    demo = openConnection({ type: "embedded-demo" });
  });
  afterAll(async () => {
    await demo?.close();
  });

  test("given the embedded demo source, when it is pinged, introspected and queried, then it answers read-only", async () => {
    await demo.ping();
    const schema = await demo.introspect();
    const names = schema.tables.map((t) => t.name);
    for (const table of ["customers", "products", "orders", "order_items"]) expect(names).toContain(table);
    const orders = schema.tables.find((t) => t.name === "orders")!;
    expect(orders.primary_key.length).toBeGreaterThan(0);
    expect(schema.relationships.some((r) => r.from_table === "order_items" && r.to_table === "orders")).toBe(true);

    const result = await demo.execute("SELECT count(*) AS n FROM orders", LIMITS);
    expect(result.columns).toEqual([{ name: "n", type: "int8" }]);
    expect(result.rows[0].n as number).toBeGreaterThan(0);
    const write = await refused(demo, "DELETE FROM order_items");
    expect(write.code).toBe("25006");
    const again = await demo.execute("SELECT count(*) AS n FROM orders", LIMITS);
    expect(again.rows).toEqual(result.rows);
  }, HOOK_TIMEOUT_MS);
});
