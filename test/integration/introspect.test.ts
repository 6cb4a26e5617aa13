/**
 * Catalog introspection against a real PostgreSQL database (created for this suite) and
 * PGlite: tables and views outside the system schemas, with columns, keys, comments and
 * planner estimates exactly as declared.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { pgliteConnection, postgresConnection } from "../../src/sql/connections";
import type { ColumnInfo, DatabaseSchema, DataSourceConnection, TableInfo } from "../../src/sql/types";

const HOOK_TIMEOUT_MS = 180_000;

const SHOP_SQL = `
CREATE SCHEMA inventory;
CREATE TABLE regions (code char(2) PRIMARY KEY, name varchar(80) NOT NULL);
COMMENT ON TABLE regions IS 'Sales regions';
CREATE TABLE customers (
  id serial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  region_code char(2) REFERENCES regions (code),
  created_at timestamptz NOT NULL DEFAULT now(),
  score numeric(5, 2)
);
COMMENT ON TABLE customers IS 'People and companies that buy';
COMMENT ON COLUMN customers.email IS 'Login and contact address';
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL,
  placed_on date NOT NULL DEFAULT CURRENT_DATE,
  status text NOT NULL DEFAULT 'new',
  CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders (id),
  line_no int NOT NULL,
  sku text NOT NULL,
  quantity int NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, line_no)
);
CREATE TABLE inventory.stock (warehouse text, sku text, on_hand int NOT NULL DEFAULT 0, PRIMARY KEY (warehouse, sku));
COMMENT ON TABLE inventory.stock IS 'Units per warehouse';
CREATE TABLE inventory.movements (
  id int PRIMARY KEY,
  warehouse text NOT NULL,
  sku text NOT NULL,
  delta int NOT NULL,
  doubled int GENERATED ALWAYS AS (delta * 2) STORED,
  CONSTRAINT movements_stock_fk FOREIGN KEY (sku, warehouse) REFERENCES inventory.stock (sku, warehouse)
);
COMMENT ON COLUMN inventory.movements.delta IS 'Signed change in units';
CREATE VIEW open_orders AS SELECT id, customer_id FROM orders WHERE status = 'new';
COMMENT ON VIEW open_orders IS 'Orders not yet shipped';
INSERT INTO regions VALUES ('EU', 'Europe'), ('US', 'United States');
INSERT INTO customers (email, region_code) SELECT 'c' || g || '@example.com', CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END FROM generate_series(1, 40) g;
INSERT INTO inventory.stock SELECT 'w' || (g % 3), 'sku-' || g, g FROM generate_series(1, 30) g;
ANALYZE regions;
ANALYZE customers;
ANALYZE inventory.stock;
CREATE TABLE notes (body text);`;

interface Fixture {
  connection: DataSourceConnection;
  /** Postgres only: a connection as a role that may read only some tables. */
  restricted?: DataSourceConnection;
  drop(): Promise<void>;
}

async function pgliteFixture(): Promise<Fixture> {
  const lite = await PGlite.create();
  await lite.exec(SHOP_SQL);
  return { connection: pgliteConnection(lite, { owned: true }), drop: async () => {} };
}

async function postgresFixture(serverUrl: string): Promise<Fixture> {
  const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const name = `ll_introspect_${suffix}`;
  const reader = `ll_reader_${suffix}`;
  const server = new URL(serverUrl);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.unsafe(`CREATE ROLE ${reader} LOGIN`);
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${name}`;
  const owner = postgres(dbUrl.toString(), { max: 1, onnotice: () => {} });
  await owner.unsafe(SHOP_SQL);
  await owner.unsafe(`GRANT SELECT ON customers, regions TO ${reader}`);
  await owner.end();
  const spec = (username: string) => ({
    type: "postgresql" as const,
    host: server.hostname,
    port: Number(server.port || 5432),
    database: name,
    username,
    password: server.password ? decodeURIComponent(server.password) : null,
    ssl: false,
  });
  const connection = postgresConnection(spec(decodeURIComponent(server.username || "postgres")));
  const restricted = postgresConnection(spec(reader));
  return {
    connection,
    restricted,
    async drop() {
      await connection.close();
      await restricted.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await admin.unsafe(`DROP ROLE IF EXISTS ${reader}`).catch(() => {});
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

const column = (name: string, type: string, extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  type,
  nullable: true,
  default: null,
  is_primary_key: false,
  comment: null,
  ...extra,
});

for (const { kind, open } of fixtureKinds()) {
  describe(`introspection [${kind}]`, () => {
    let fx: Fixture;
    let schema: DatabaseSchema;
    const table = (name: string): TableInfo => {
      const found = schema.tables.find((t) => t.name === name);
      if (!found) throw new Error(`table ${name} missing from ${schema.tables.map((t) => t.name).join(", ")}`);
      return found;
    };

    beforeAll(async () => {
      fx = await open();
      schema = await fx.connection.introspect();
    }, HOOK_TIMEOUT_MS);
    afterAll(async () => {
      await fx?.connection.close();
      await fx?.drop();
    }, HOOK_TIMEOUT_MS);

    test("given user tables in two schemas and a view, when introspected, then exactly those are listed, public unqualified", () => {
      expect(schema.tables.map((t) => [t.name, t.schema])).toEqual([
        ["customers", "public"],
        ["notes", "public"],
        ["open_orders", "public"],
        ["order_lines", "public"],
        ["orders", "public"],
        ["regions", "public"],
        ["inventory.movements", "inventory"],
        ["inventory.stock", "inventory"],
      ]);
    });

    test("given a table with a serial key, defaults, a unique column and comments, when introspected, then every column is exact", () => {
      expect(table("customers")).toEqual({
        name: "customers",
        schema: "public",
        comment: "People and companies that buy",
        columns: [
          column("id", "integer", { nullable: false, default: "nextval('customers_id_seq'::regclass)", is_primary_key: true }),
          column("email", "text", { nullable: false, comment: "Login and contact address" }),
          column("region_code", "character(2)"),
          column("created_at", "timestamp with time zone", { nullable: false, default: "now()" }),
          column("score", "numeric(5,2)"),
        ],
        primary_key: ["id"],
        foreign_keys: [{ name: "customers_region_code_fkey", from_table: "customers", from_columns: ["region_code"], to_table: "regions", to_columns: ["code"] }],
        row_estimate: 40,
      });
    });

    test("given an identity key and literal defaults, when introspected, then the identity has no default and literals keep their casts", () => {
      expect(table("orders").columns).toEqual([
        column("id", "bigint", { nullable: false, is_primary_key: true }),
        column("customer_id", "integer", { nullable: false }),
        column("placed_on", "date", { nullable: false, default: "CURRENT_DATE" }),
        column("status", "text", { nullable: false, default: "'new'::text" }),
      ]);
      expect(table("orders").foreign_keys).toEqual([
        { name: "orders_customer_fk", from_table: "orders", from_columns: ["customer_id"], to_table: "customers", to_columns: ["id"] },
      ]);
    });

    test("given composite keys in another schema, when introspected, then key columns keep their declared order", () => {
      expect(table("order_lines").primary_key).toEqual(["order_id", "line_no"]);
      expect(table("order_lines").columns.filter((c) => c.is_primary_key).map((c) => c.name)).toEqual(["order_id", "line_no"]);
      expect(table("inventory.stock")).toEqual({
        name: "inventory.stock",
        schema: "inventory",
        comment: "Units per warehouse",
        columns: [
          column("warehouse", "text", { nullable: false, is_primary_key: true }),
          column("sku", "text", { nullable: false, is_primary_key: true }),
          column("on_hand", "integer", { nullable: false, default: "0" }),
        ],
        primary_key: ["warehouse", "sku"],
        foreign_keys: [],
        row_estimate: 30,
      });
      expect(table("inventory.movements").columns).toEqual([
        column("id", "integer", { nullable: false, is_primary_key: true }),
        column("warehouse", "text", { nullable: false }),
        column("sku", "text", { nullable: false }),
        column("delta", "integer", { nullable: false, comment: "Signed change in units" }),
        column("doubled", "integer"),
      ]);
    });

    test("given foreign keys, single and multi-column, when introspected, then relationships list each once with both sides", () => {
      expect(schema.relationships).toEqual([
        { name: "customers_region_code_fkey", from_table: "customers", from_columns: ["region_code"], to_table: "regions", to_columns: ["code"] },
        { name: "order_lines_order_id_fkey", from_table: "order_lines", from_columns: ["order_id"], to_table: "orders", to_columns: ["id"] },
        { name: "orders_customer_fk", from_table: "orders", from_columns: ["customer_id"], to_table: "customers", to_columns: ["id"] },
        { name: "movements_stock_fk", from_table: "inventory.movements", from_columns: ["sku", "warehouse"], to_table: "inventory.stock", to_columns: ["sku", "warehouse"] },
      ]);
    });

    test("given a view and a table never analyzed, when introspected, then the view has its comment and neither has an estimate", () => {
      expect(table("open_orders")).toEqual({
        name: "open_orders",
        schema: "public",
        comment: "Orders not yet shipped",
        columns: [column("id", "bigint"), column("customer_id", "integer")],
        primary_key: [],
        foreign_keys: [],
        row_estimate: null,
      });
      expect(table("notes").row_estimate).toBeNull();
      expect(table("regions").row_estimate).toBe(2);
    });

    if (kind === "postgres") {
      test("given a role that may read only some tables, when it introspects, then it sees only those", async () => {
        const limited = await fx.restricted!.introspect();
        expect(limited.tables.map((t) => t.name)).toEqual(["customers", "regions"]);
        expect(limited.relationships.map((r) => r.name)).toEqual(["customers_region_code_fkey"]);
      });
    }
  });
}
