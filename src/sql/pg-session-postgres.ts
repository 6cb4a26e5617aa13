/**
 * The executor's session over a postgres.js pool: a reserved connection, the caller's
 * statement through postgres.js's protocol-level cursor (Parse/Bind/Execute with a row
 * count, never the simple protocol), and every value read raw (`.raw()`: the server's
 * text bytes, unparsed) so that pg-values converts it exactly as it does for PGlite.
 */
import postgres from "postgres";
import type { RawColumn, ReadOnlySession, StatementCursor } from "./executor";

export interface PoolOptions {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string | null;
  ssl: boolean;
  max: number;
  connectTimeoutMs: number;
}

/**
 * A bounded pool for one data source. Every option that postgres.js would otherwise read
 * from the environment (PGPASSWORD, PGSSLMODE, ...) is set explicitly, so the service's
 * own database settings never leak into a connection to someone else's server.
 */
export function createPool(options: PoolOptions): postgres.Sql {
  const password = options.password ?? "";
  return postgres({
    host: options.host,
    port: options.port,
    database: options.database,
    username: options.username,
    // A function, so an empty password is not replaced by process.env.PGPASSWORD.
    pass: () => password,
    ssl: options.ssl ? "require" : false,
    max: options.max,
    connect_timeout: options.connectTimeoutMs / 1000,
    idle_timeout: 30,
    max_lifetime: 30 * 60,
    // Caller SQL varies endlessly: named prepared statements would pile up on the server.
    prepare: false,
    // fetch_types stays on: postgres.js 3.4.9 never hands out a reserved connection that was
    // opened by reserve() itself when it is off (its ReadyForQuery skips onopen).
    onnotice: () => {},
    onparameter: () => {},
    debug: false,
    connection: { application_name: "ledgerline-analytics" },
  });
}

type Reserved = postgres.ReservedSql;
/** A row in raw mode: each field a view into the socket buffer, or null. */
type RawFields = Array<Uint8Array | null>;

const decoder = new TextDecoder();
const text = (field: Uint8Array | null | undefined): string | null => (field == null ? null : decoder.decode(field));

/** Runs `fn` with one connection reserved from the pool, released afterwards. */
export async function withPostgresSession<T>(pool: postgres.Sql, fn: (session: ReadOnlySession) => Promise<T>): Promise<T> {
  const reserved = await pool.reserve();
  try {
    return await fn(postgresSession(reserved));
  } finally {
    reserved.release();
  }
}

function postgresSession(reserved: Reserved): ReadOnlySession {
  return {
    remote: true,
    // Session-level state a ROLLBACK keeps; the next borrower of the connection must not inherit it.
    afterRollbackSql: "SELECT pg_catalog.pg_advisory_unlock_all(); DEALLOCATE ALL",
    async control(sql) {
      await reserved.unsafe(sql);
    },
    async rows(sql) {
      const result = await reserved.unsafe(sql, [], { prepare: false }).raw();
      const names = (result.columns ?? []).map((c) => c.name);
      return (result as unknown as RawFields[]).map((fields) => Object.fromEntries(names.map((n, i) => [n, text(fields[i])])));
    },
    async open(sql, batchRows): Promise<StatementCursor> {
      // .cursor() switches the query to the extended protocol even without parameters.
      const query = reserved.unsafe(sql, [], { prepare: false }).raw();
      const iterator = query.cursor(batchRows)[Symbol.asyncIterator]();
      const describedColumns = (): RawColumn[] => {
        // Set from RowDescription even when no row came back (the cursor then yields nothing).
        const columns = (query as unknown as { statement?: { columns?: Array<{ name: string; type: number }> | null } }).statement?.columns;
        return (columns ?? []).map((c) => ({ name: c.name, typeOid: c.type }));
      };
      let columns: RawColumn[] | null = null;
      return {
        async next() {
          const step = await iterator.next();
          columns ??= describedColumns();
          if (step.done) return { columns, rows: [], done: true };
          return { columns, rows: (step.value as unknown as RawFields[]).map((fields) => fields.map(text)), done: false };
        },
        async close() {
          await iterator.return?.();
        },
      };
    },
  };
}
