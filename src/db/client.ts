/**
 * One small interface over the two Postgres drivers (postgres.js for a server, PGlite for
 * the embedded default), so the event store and the projector run the same SQL on both.
 * Read models use drizzle on top of the same connection (`drizzle`).
 */
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import { drizzle as drizzleLite } from "drizzle-orm/pglite";
import type { PgDatabase } from "drizzle-orm/pg-core";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Drizzle = PgDatabase<any, any, any>;

export interface Queryable {
  /** Runs one statement with $1.. parameters over the extended protocol. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface SqlClient extends Queryable {
  readonly kind: "postgres" | "pglite";
  readonly drizzle: Drizzle;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on a channel; returns the unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Holds a session-level advisory lock on a dedicated connection for as long as the
   * returned handle lives. Returns null when another session holds it.
   */
  tryAdvisoryLock(key: bigint): Promise<{ release(): Promise<void> } | null>;
  close(): Promise<void>;
}

/**
 * Drizzle sends its statements unprepared, and postgres.js then asks the server to
 * describe every statement with parameters before running it: two round trips and a
 * fresh parse and plan per query. Here drizzle's statements are prepared like ours
 * (named, once per connection, then one round trip). Only statements with up to
 * PREPARE_MAX_PARAMS parameters: multi-row inserts of every possible size would each
 * become a statement kept on every connection.
 */
const PREPARE_MAX_PARAMS = 64;

type AnySql = postgres.Sql | postgres.TransactionSql;

function preparing<T extends AnySql>(client: T): T {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === "unsafe") {
        return (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, params as postgres.ParameterOrJSON<never>[], { ...options, prepare: (params?.length ?? 0) <= PREPARE_MAX_PARAMS });
      }
      if (prop === "begin" || prop === "savepoint") {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: AnySql) => unknown;
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          return (target as any)[prop](...args, (tx: AnySql) => fn(preparing(tx)));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export function postgresClient(url: string, opts: { max?: number; onnotice?: boolean } = {}): SqlClient {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    // int8 positions arrive as strings; the adapter converts them to bigint itself.
    types: {},
    connection: { application_name: "ledgerline" },
  });
  const asQueryable = (s: postgres.Sql | postgres.TransactionSql): Queryable => ({
    async query<T>(text: string, params: unknown[] = []) {
      return (await s.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
    },
  });
  const base = asQueryable(sql);
  return {
    kind: "postgres",
    drizzle: drizzlePg(preparing(sql)) as unknown as Drizzle,
    query: base.query,
    async transaction(fn) {
      return (await sql.begin((tx) => fn(asQueryable(tx)))) as never;
    },
    async listen(channel, onNotify) {
      const sub = await sql.listen(channel, onNotify);
      return () => sub.unlisten();
    },
    async tryAdvisoryLock(key) {
      const reserved = await sql.reserve();
      const [row] = await reserved.unsafe("select pg_try_advisory_lock($1) as locked", [key.toString()]);
      if (!row.locked) {
        reserved.release();
        return null;
      }
      return {
        async release() {
          await reserved.unsafe("select pg_advisory_unlock($1)", [key.toString()]).catch(() => {});
          reserved.release();
        },
      };
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}

export function pgliteClient(db: PGlite): SqlClient {
  const asQueryable = (q: Pick<PGlite, "query">): Queryable => ({
    async query<T>(text: string, params: unknown[] = []) {
      return (await q.query<T>(text, params)).rows;
    },
  });
  const base = asQueryable(db);
  return {
    kind: "pglite",
    drizzle: drizzleLite(db) as unknown as Drizzle,
    query: base.query,
    async transaction(fn) {
      return db.transaction((tx) => fn(asQueryable(tx)));
    },
    async listen(channel, onNotify) {
      return db.listen(channel, onNotify);
    },
    // One process owns a PGlite directory (see dataDirLock), so the lock is always ours.
    async tryAdvisoryLock() {
      return { async release() {} };
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
