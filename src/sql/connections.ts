/**
 * Live connections to data sources. A `postgresql` source gets a small postgres.js pool;
 * the `embedded-demo` source wraps the process-wide PGlite sample database. Both run
 * statements through the same executor and introspect through the same catalog query.
 */
import type { PGlite } from "@electric-sql/pglite";
import type { ConnectionSpec, DataSourceConnection, DatabaseSchema, ExecuteLimits, QueryResult } from "./types";
import { executeReadOnly, TypeCache } from "./executor";
import { introspectSchema } from "./introspect";
import { asQueryError, QueryExecutionError, type ErrorContext } from "./pg-errors";
import { createPool, withPostgresSession } from "./pg-session-postgres";
import { withPgliteSession, type PgliteSessionOptions } from "./pg-session-pglite";
import { openDemoDatabase } from "./demo";

export interface ConnectionOptions {
  /** Connections per pool (postgresql). Default 4. */
  poolMax?: number;
  /** Time allowed to establish a connection. Default 5000 ms. */
  connectTimeoutMs?: number;
}

export const DEFAULT_POOL_MAX = 4;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_PING_TIMEOUT_MS = 5_000;
/** Longest a closing pool waits for its running statements. */
const CLOSE_DRAIN_MS = 15_000;

export function openConnection(spec: ConnectionSpec, options: ConnectionOptions = {}): DataSourceConnection {
  switch (spec.type) {
    case "postgresql":
      return postgresConnection(spec, options);
    case "embedded-demo":
      // Built on first use, so a service without demo traffic never loads the sample data.
      return pgliteConnection(() => openDemoDatabase(), { owned: false });
  }
}

/** A pool to a PostgreSQL server. Nothing connects until the first use. */
export function postgresConnection(spec: Extract<ConnectionSpec, { type: "postgresql" }>, options: ConnectionOptions = {}): DataSourceConnection {
  // postgres.js treats "/" as a Unix socket directory and "," as several hosts: neither is a
  // network address someone registered, and a socket could reach the service's own server.
  if (!spec.host || /[/,\s]/.test(spec.host)) return unusableConnection(new QueryExecutionError(`invalid host "${spec.host}"`, "08001"));
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) return unusableConnection(new QueryExecutionError(`invalid port ${spec.port}`, "08001"));
  const pool = createPool({
    host: spec.host,
    port: spec.port,
    database: spec.database,
    username: spec.username,
    password: spec.password,
    ssl: spec.ssl,
    max: Math.max(1, options.poolMax ?? DEFAULT_POOL_MAX),
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  });
  const context: ErrorContext = { host: spec.host, port: spec.port, password: spec.password };
  const types = new TypeCache();
  let closed: Promise<void> | null = null;
  const inflight = new Set<Promise<unknown>>();
  const session = <T>(fn: Parameters<typeof withPostgresSession<T>>[1]): Promise<T> => {
    if (closed) return Promise.reject(new QueryExecutionError(`connection to ${spec.host}:${spec.port} is closed`, "08003"));
    const work = withPostgresSession(pool, fn).catch((error: unknown) => {
      throw asQueryError(error, context);
    });
    inflight.add(work);
    void work.catch(() => {}).finally(() => inflight.delete(work));
    return work;
  };
  return {
    type: "postgresql",
    execute: (sql, limits) => session((s) => executeReadOnly(s, sql, limits, types, context)),
    ping: (timeoutMs = DEFAULT_PING_TIMEOUT_MS) =>
      withTimeout(
        session(async (s) => {
          await s.rows("SELECT 1 AS ok");
        }),
        timeoutMs,
        () => new QueryExecutionError(`could not connect to ${spec.host}:${spec.port}: timed out after ${timeoutMs} ms`, "08001"),
      ),
    introspect: () => session(introspectSchema),
    close() {
      // Statements already running finish first (each has its own statement_timeout), then
      // the sockets are terminated at once: postgres.js's graceful end can wait its whole
      // timeout on a connection that never opened.
      closed ??= (async () => {
        await withTimeout(Promise.allSettled([...inflight]), CLOSE_DRAIN_MS, () => new Error("drain")).catch(() => {});
        await pool.end({ timeout: 0 }).catch(() => {});
      })();
      return closed;
    },
  };
}

/**
 * A connection to a PGlite instance (`database` is the instance, or a function that
 * provides it lazily). Statements are serialized on the instance. `owned: true` closes
 * the instance with the connection; the shared demo database is never owned.
 */
export function pgliteConnection(
  database: PGlite | (() => Promise<PGlite>),
  options: { owned?: boolean } & PgliteSessionOptions = {},
): DataSourceConnection {
  const types = new TypeCache();
  let instance: Promise<PGlite> | null = null;
  let closed = false;
  const db = () => (instance ??= typeof database === "function" ? database() : Promise.resolve(database));
  const session = async <T>(fn: Parameters<typeof withPgliteSession<T>>[2]): Promise<T> => {
    if (closed) throw new QueryExecutionError("connection to the embedded database is closed", "08003");
    try {
      return await withPgliteSession(await db(), options, fn);
    } catch (error) {
      throw asQueryError(error);
    }
  };
  return {
    type: "embedded-demo",
    execute: (sql: string, limits: ExecuteLimits): Promise<QueryResult> => session((s) => executeReadOnly(s, sql, limits, types)),
    async ping(timeoutMs = DEFAULT_PING_TIMEOUT_MS) {
      // Building the demo database on first use is not a connectivity problem: only the query is timed.
      await db().catch((error: unknown) => {
        throw asQueryError(error);
      });
      await withTimeout(
        session(async (s) => {
          await s.rows("SELECT 1 AS ok");
        }),
        timeoutMs,
        () => new QueryExecutionError(`the embedded database did not answer within ${timeoutMs} ms`, "08001"),
      );
    },
    introspect: (): Promise<DatabaseSchema> => session(introspectSchema),
    async close() {
      if (closed) return;
      closed = true;
      if (options.owned && instance) {
        const lite = await instance.catch(() => null);
        if (lite && !lite.closed) await lite.close();
      }
    },
  };
}

/** A connection that can never work (bad address): every use reports why, as a connection failure would. */
function unusableConnection(error: QueryExecutionError): DataSourceConnection {
  return {
    type: "postgresql",
    execute: () => Promise.reject(error),
    ping: () => Promise.reject(error),
    introspect: () => Promise.reject(error),
    close: async () => {},
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
