/**
 * The connection registry: one pool per (data source, version), reused; a new version or
 * a close really closes the old pool (its server connections go away); the number of
 * open pools is bounded by least-recently-used eviction.
 *
 * Identity and eviction need no server (pools connect lazily). The server-side checks
 * (pg_stat_activity) run when DATABASE_URL points at a PostgreSQL server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { ConnectionRegistry } from "../../src/sql/connection-registry";
import { QueryExecutionError } from "../../src/sql/executor";
import type { ConnectionSpec, DataSourceConnection } from "../../src/sql/types";

const HOOK_TIMEOUT_MS = 180_000;
const LIMITS = { timeoutMs: 5_000, maxRows: 100, maxBytes: 1_000_000 };

/** A spec for a server that is never contacted by the identity tests. */
const lazySpec = (database: string): ConnectionSpec => ({ type: "postgresql", host: "127.0.0.1", port: 1, database, username: "nobody", password: null, ssl: false });

async function closedError(connection: DataSourceConnection): Promise<QueryExecutionError | null> {
  return connection.execute("SELECT 1", LIMITS).then(
    () => null,
    (e: unknown) => e as QueryExecutionError,
  );
}

describe("connection registry", () => {
  test("given the same data source and version, when asked twice, then the same connection is reused", async () => {
    const registry = new ConnectionRegistry();
    const first = registry.get("ds-1", "1", lazySpec("a"));
    const second = registry.get("ds-1", "1", lazySpec("a"));
    expect(second).toBe(first);
    expect(registry.size()).toBe(1);
    await registry.closeAll();
  });

  test("given a new version of a data source, when asked, then a new connection replaces the old one, which is closed", async () => {
    const registry = new ConnectionRegistry();
    const v1 = registry.get("ds-1", "1", lazySpec("a"));
    const v2 = registry.get("ds-1", "2", lazySpec("b"));
    expect(v2).not.toBe(v1);
    expect(registry.size()).toBe(1);
    expect(registry.get("ds-1", "2", lazySpec("b"))).toBe(v2);
    expect((await closedError(v1))?.code).toBe("08003");
    await registry.closeAll();
    expect((await closedError(v2))?.code).toBe("08003");
  });

  test("given a data source closed explicitly, when asked again, then a fresh connection is opened", async () => {
    const registry = new ConnectionRegistry();
    const before = registry.get("ds-1", "1", lazySpec("a"));
    registry.get("ds-2", "1", lazySpec("b"));
    await registry.close("ds-1");
    expect(registry.size()).toBe(1);
    expect((await closedError(before))?.code).toBe("08003");
    const after = registry.get("ds-1", "1", lazySpec("a"));
    expect(after).not.toBe(before);
    expect(registry.size()).toBe(2);
    await registry.close("unknown-id");
    expect(registry.size()).toBe(2);
    await registry.closeAll();
    expect(registry.size()).toBe(0);
  });

  test("given more data sources than the pool cap, when a new one is opened, then the least recently used pool is closed", async () => {
    const registry = new ConnectionRegistry({ maxPools: 2 });
    const a = registry.get("a", "1", lazySpec("a"));
    const b = registry.get("b", "1", lazySpec("b"));
    expect(registry.get("a", "1", lazySpec("a"))).toBe(a); // a is now the most recent
    const c = registry.get("c", "1", lazySpec("c"));
    expect(registry.size()).toBe(2);
    expect((await closedError(b))?.code).toBe("08003");
    expect(registry.get("a", "1", lazySpec("a"))).toBe(a);
    expect(registry.get("c", "1", lazySpec("c"))).toBe(c);
    // a is still open: it fails to reach its (absent) server, not because it was closed.
    expect((await closedError(a))?.code).toBe("08001");
    await registry.closeAll();
  });
});

describe.skipIf(!process.env.DATABASE_URL)("connection registry against a server [postgres]", () => {
  const serverUrl = process.env.DATABASE_URL!;
  const name = `ll_registry_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  let admin: postgres.Sql;
  let spec: ConnectionSpec;

  /** Connections our pools hold on the test database, as the server sees them. */
  const serverConnections = async () => {
    const [row] = await admin.unsafe(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ledgerline-analytics'`, [name]);
    return row.n as number;
  };
  /** Backends exit just after their socket closes: wait for the count rather than sampling once. */
  const settlesAt = async (expected: number) => {
    const deadline = Date.now() + 20_000;
    let seen = await serverConnections();
    while (seen !== expected && Date.now() < deadline) {
      await Bun.sleep(50);
      seen = await serverConnections();
    }
    return seen;
  };

  beforeAll(async () => {
    admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const server = new URL(serverUrl);
    spec = {
      type: "postgresql",
      host: server.hostname,
      port: Number(server.port || 5432),
      database: name,
      username: decodeURIComponent(server.username || "postgres"),
      password: server.password ? decodeURIComponent(server.password) : null,
      ssl: false,
    };
  }, HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
  }, HOOK_TIMEOUT_MS);

  test("given pools in use, when a version changes and a source is closed, then their server connections go away", async () => {
    const registry = new ConnectionRegistry({ poolMax: 2 });
    const v1 = registry.get("ds-1", "1", spec);
    // Two concurrent statements make the pool open both of its connections.
    await Promise.all([v1.execute("SELECT pg_sleep(0.2)", LIMITS), v1.execute("SELECT pg_sleep(0.2)", LIMITS)]);
    const other = registry.get("ds-2", "1", spec);
    await other.execute("SELECT 1", LIMITS);
    expect(await settlesAt(3)).toBe(3);

    const v2 = registry.get("ds-1", "2", spec);
    expect((await v2.execute("SELECT 2 AS two", LIMITS)).rows).toEqual([{ two: 2 }]);
    // v1's two connections are gone; v2's one and ds-2's one remain.
    expect(await settlesAt(2)).toBe(2);

    await registry.close("ds-2");
    expect(await settlesAt(1)).toBe(1);
    expect(registry.size()).toBe(1);

    await registry.closeAll();
    expect(await settlesAt(0)).toBe(0);
    expect(registry.size()).toBe(0);
  });

  test("given a pool bounded to two connections, when six statements run at once, then the server never sees more than two", async () => {
    const registry = new ConnectionRegistry({ poolMax: 2 });
    const connection = registry.get("ds-bounded", "1", spec);
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          connection.execute(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'ledgerline-analytics'`, LIMITS),
        ),
      );
      for (const result of results) expect(result.rows[0].n as number).toBeLessThanOrEqual(2);
      expect(await serverConnections()).toBeLessThanOrEqual(2);
    } finally {
      await registry.closeAll();
    }
  });
});
