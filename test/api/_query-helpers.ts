/**
 * Fixtures of the query and chat suites: a real PostgreSQL database to register as a
 * tenant's data source (created on the local server, dropped afterwards), grants, and
 * event lookups. Not a test file itself.
 */
import postgres from "postgres";
import type { TestService } from "../support/app";
import type { RecordedEvent } from "../../src/eventstore/port";
import { uniq } from "./_helpers";
import type { Caller, OrgFixture } from "./_data-access-helpers";

/** The local server the tenant databases are created on (trust authentication). */
export const SOURCE_SERVER = process.env.QUERY_SOURCE_SERVER_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface SalesDatabase {
  name: string;
  /** A product name that exists only as a value in the orders rows: scanned for in events. */
  rowCanary: string;
  sql: postgres.Sql;
  ordersCount(): Promise<number>;
  drop(): Promise<void>;
}

/**
 * A small sales database: `orders` (20 rows) and `secret_notes` (a table the tests grant
 * no one). One order's product is a canary value found nowhere but in the rows.
 */
export async function createSalesDatabase(): Promise<SalesDatabase> {
  const name = `ll_qsrc_${uniq().toLowerCase()}`;
  const admin = postgres(SOURCE_SERVER, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SOURCE_SERVER);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const rowCanary = `ROWCANARY-${uniq()}`;
  await sql.unsafe(`
    CREATE TABLE orders (id serial PRIMARY KEY, product text NOT NULL, amount numeric(10,2) NOT NULL, ordered_at date NOT NULL DEFAULT current_date);
    COMMENT ON TABLE orders IS 'One row per order';
    CREATE TABLE secret_notes (id integer PRIMARY KEY, note text NOT NULL);
  `);
  for (let i = 1; i <= 20; i++) {
    const product = i === 7 ? rowCanary : `Product ${String.fromCharCode(64 + ((i % 5) + 1))}`;
    await sql`INSERT INTO orders (product, amount) VALUES (${product}, ${i * 10})`;
  }
  await sql`INSERT INTO secret_notes VALUES (1, 'the eagle lands at noon')`;
  return {
    name,
    rowCanary,
    sql,
    async ordersCount() {
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM orders`;
      return n as number;
    },
    async drop() {
      await sql.end();
      const again = postgres(SOURCE_SERVER, { max: 1, onnotice: () => {} });
      await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await again.end();
    },
  };
}

/** Registers the database as a `postgresql` data source of the organization. */
export async function registerPostgres(c: Caller, org: OrgFixture, db: SalesDatabase, password: string): Promise<any> {
  const url = new URL(SOURCE_SERVER);
  return c.ok(
    "POST",
    "/api/v1/datasources",
    org.adminToken,
    { name: `Sales ${uniq()}`, type: "postgresql", host: url.hostname, port: Number(url.port || 5432), database_name: db.name, username: url.username || "postgres", password },
    201,
  );
}

/** A data source nobody listens on: connections are refused at once. */
export async function registerUnreachable(c: Caller, org: OrgFixture): Promise<any> {
  return c.ok("POST", "/api/v1/datasources", org.adminToken, { name: `Down ${uniq()}`, type: "postgresql", host: "127.0.0.1", port: 1, database_name: "nothing", username: "nobody", password: "Unreachable-Canary-1" }, 201);
}

export async function grant(c: Caller, org: OrgFixture, userId: string, body: Record<string, unknown>): Promise<any> {
  return c.ok("POST", `/api/v1/users/${userId}/database-access`, org.adminToken, body, 201);
}

export async function eventsOfType(s: TestService, ...types: string[]): Promise<RecordedEvent[]> {
  // A query's answer no longer waits for its event to be projected (OwnWrites), and readers
  // see an event only once no older transaction is open: wait until everything written is.
  const [row] = await s.deps.db.query<{ p: string }>("SELECT coalesce(max(global_position), 0)::text AS p FROM events");
  await s.deps.projector.waitFor(BigInt(row.p));
  return s.deps.store.readAll({ types, limit: 100_000 });
}

export async function queryEvents(s: TestService, queryId: string): Promise<RecordedEvent[]> {
  return s.deps.store.readStream(`query-${queryId}`);
}
