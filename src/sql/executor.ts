/**
 * Runs one caller-supplied statement with the database itself as the last line of
 * defence, whatever the guard decided:
 *
 *   BEGIN TRANSACTION READ ONLY → SET LOCAL statement_timeout → the statement over the
 *   extended protocol (so "SELECT 1; DELETE ..." is refused by the server's parser) →
 *   rows fetched in batches through a protocol-level cursor, at most maxRows+1, so a
 *   billion-row result is never materialized → ROLLBACK, always.
 *
 * The executor drives a `ReadOnlySession` (one reserved connection of a postgres.js pool,
 * or exclusive use of a PGlite instance); the adapters live next to the connections.
 */
import type { ExecuteLimits, QueryResult } from "./types";
import { asQueryError, QueryExecutionError, type ErrorContext } from "./pg-errors";
import { BUILTIN_TYPES, fromPgText, type PgType } from "./pg-values";

export { QueryExecutionError } from "./pg-errors";

export const DEFAULT_LIMITS: ExecuteLimits = { timeoutMs: 5_000, maxRows: 1_000, maxBytes: 5 * 1024 * 1024 };
/** The most rows one request may ask for. */
export const MAX_ROWS = 10_000;
const MAX_TIMEOUT_MS = 300_000;
const MAX_BYTES = 64 * 1024 * 1024;
/** Rows per protocol round trip: small enough to stop soon after a cap, large enough to be cheap. */
const BATCH_ROWS = 500;

/** A result column as the server described it. */
export interface RawColumn {
  name: string;
  typeOid: number;
}

export interface RawBatch {
  /** Known once the statement is described; the same array on every batch. */
  columns: RawColumn[];
  /** Fields in the server's text format, null for SQL NULL. */
  rows: Array<Array<string | null>>;
  /** No further rows will come. */
  done: boolean;
}

/** The caller's statement, open as a portal on the server. */
export interface StatementCursor {
  next(): Promise<RawBatch>;
  /** Closes the portal; safe after an error or after `done`. */
  close(): Promise<void>;
}

/** Exclusive use of one connection for the length of one execution. */
export interface ReadOnlySession {
  /** Our own fixed SQL (BEGIN, SET LOCAL, ROLLBACK), possibly several statements, simple protocol. */
  control(sql: string): Promise<void>;
  /** A trusted catalog query without parameters, rows as text keyed by column name. */
  rows(sql: string): Promise<Array<Record<string, string | null>>>;
  /** Parses, binds and starts the caller's statement (one statement, unnamed, no parameters). */
  open(sql: string, batchRows: number): Promise<StatementCursor>;
  /** Checks a statement before it runs, where the engine cannot interrupt it (PGlite). */
  preflight?(sql: string, limits: ExecuteLimits): Promise<void>;
  /** Extra SQL after ROLLBACK that clears session state a rollback keeps (advisory locks, prepared statements). */
  readonly afterRollbackSql?: string;
  /**
   * A server across a network: it is told to end a transaction we abandon (process killed
   * mid-statement). Not for PGlite, where that timeout would be FATAL to the shared instance.
   */
  readonly remote?: boolean;
}

/** Clamps requested limits to what the service allows; missing ones take the defaults. */
export function normalizeLimits(requested: Partial<ExecuteLimits> = {}): ExecuteLimits {
  const clamp = (value: number | undefined, fallback: number, max: number) =>
    value === undefined || !Number.isFinite(value) ? fallback : Math.min(max, Math.max(1, Math.floor(value)));
  return {
    timeoutMs: clamp(requested.timeoutMs, DEFAULT_LIMITS.timeoutMs, MAX_TIMEOUT_MS),
    maxRows: clamp(requested.maxRows, DEFAULT_LIMITS.maxRows, MAX_ROWS),
    maxBytes: clamp(requested.maxBytes, DEFAULT_LIMITS.maxBytes, MAX_BYTES),
  };
}

/**
 * Every SET is LOCAL: it ends with the transaction, so a pooled connection goes back
 * unchanged. TimeZone/DateStyle make the server's text ISO so values convert the same
 * on every data source; the idle timeout lets a server end a transaction we abandoned.
 */
function beginSql(limits: ExecuteLimits, remote: boolean): string {
  return [
    "BEGIN TRANSACTION READ ONLY",
    `SET LOCAL statement_timeout = ${limits.timeoutMs}`,
    ...(remote ? [`SET LOCAL idle_in_transaction_session_timeout = ${Math.max(60_000, limits.timeoutMs * 2)}`] : []),
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    "SET LOCAL bytea_output = 'hex'",
    "SET LOCAL extra_float_digits = 1",
  ].join("; ");
}

/** Type names by OID for one data source: built-ins preloaded, the rest read from pg_type once. */
export class TypeCache {
  private readonly known = new Map<number, PgType>(BUILTIN_TYPES);

  get types(): ReadonlyMap<number, PgType> {
    return this.known;
  }

  name(oid: number): string {
    return this.known.get(oid)?.name ?? String(oid);
  }

  has(oid: number): boolean {
    return this.known.has(oid);
  }

  /** Reads unknown OIDs (and the element/base types they point to) from pg_type. */
  async resolve(session: ReadOnlySession, oids: number[]): Promise<void> {
    for (let depth = 0; depth < 3; depth++) {
      const missing = [...new Set(oids)].filter((oid) => Number.isInteger(oid) && oid > 0 && !this.known.has(oid));
      if (missing.length === 0) return;
      // OIDs are integers from the wire protocol, never caller text, so inlining them is safe.
      const rows = await session.rows(
        `SELECT t.oid::text AS oid, t.typname::text AS name,
                (CASE WHEN t.typcategory = 'A' THEN t.typelem WHEN t.typtype = 'd' THEN t.typbasetype ELSE 0 END)::text AS element,
                (t.typtype = 'd')::text AS domain
           FROM pg_catalog.pg_type t WHERE t.oid IN (${missing.join(",")})`,
      );
      const next: number[] = [];
      for (const row of rows) {
        const element = Number(row.element);
        this.known.set(Number(row.oid), { name: row.name ?? String(row.oid), element, domain: row.domain === "true" });
        if (element) next.push(element);
      }
      for (const oid of missing) if (!this.known.has(oid)) this.known.set(oid, { name: String(oid), element: 0 });
      oids = next;
    }
  }
}

/** Runs `sql` on the session under `limits`; every failure becomes a QueryExecutionError. */
export async function executeReadOnly(
  session: ReadOnlySession,
  sql: string,
  requested: Partial<ExecuteLimits>,
  types: TypeCache,
  errorContext: ErrorContext = {},
): Promise<QueryResult> {
  const limits = normalizeLimits(requested);
  const started = performance.now();
  try {
    await session.control(beginSql(limits, session.remote === true));
  } catch (error) {
    throw asQueryError(error, errorContext);
  }
  try {
    await session.preflight?.(sql, limits);
    const fetched = await fetchCapped(session, sql, limits, types);
    // Unknown types (enums, domains, arrays of them) are named, and re-converted, once the portal is closed.
    const lateOids = fetched.columns.map((c) => c.typeOid).filter((oid) => !types.has(oid));
    if (lateOids.length > 0) {
      await types.resolve(session, lateOids);
      reconvert(fetched.rows, fetched.columns, lateOids, types);
    }
    return {
      columns: fetched.columns.map((c) => ({ name: c.name, type: types.name(c.typeOid) })),
      rows: fetched.rows,
      rowCount: fetched.rows.length,
      truncated: fetched.truncated,
      executionMs: Math.round((performance.now() - started) * 100) / 100,
    };
  } catch (error) {
    throw asQueryError(error, errorContext);
  } finally {
    const end = session.afterRollbackSql ? `ROLLBACK; ${session.afterRollbackSql}` : "ROLLBACK";
    await session.control(end).catch(() => {});
  }
}

async function fetchCapped(session: ReadOnlySession, sql: string, limits: ExecuteLimits, types: TypeCache) {
  const cursor = await session.open(sql, Math.min(limits.maxRows + 1, BATCH_ROWS));
  const rows: Record<string, unknown>[] = [];
  let columns: RawColumn[] = [];
  let bytes = 2; // the enclosing "[]"
  let truncated = false;
  try {
    for (;;) {
      const batch = await cursor.next();
      columns = batch.columns;
      for (const raw of batch.rows) {
        if (rows.length >= limits.maxRows) {
          truncated = true;
          break;
        }
        const row = toRow(raw, columns, types);
        const size = Buffer.byteLength(JSON.stringify(row)) + (rows.length > 0 ? 1 : 0);
        if (bytes + size > limits.maxBytes) {
          truncated = true;
          break;
        }
        bytes += size;
        rows.push(row);
      }
      if (truncated || batch.done) break;
    }
  } finally {
    await cursor.close();
  }
  return { columns, rows, truncated };
}

function toRow(raw: Array<string | null>, columns: RawColumn[], types: TypeCache): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) row[columns[i].name] = convert(raw[i] ?? null, columns[i].typeOid, types);
  return row;
}

function convert(text: string | null, oid: number, types: TypeCache): unknown {
  return fromPgText(text, oid, types.types);
}

function reconvert(rows: Record<string, unknown>[], columns: RawColumn[], lateOids: number[], types: TypeCache): void {
  const late = new Set(lateOids);
  for (const column of columns) {
    if (!late.has(column.typeOid)) continue;
    for (const row of rows) {
      const value = row[column.name];
      if (typeof value === "string") row[column.name] = convert(value, column.typeOid, types);
    }
  }
}

/** Refusal of our own (not the server's), e.g. a plan too expensive for an engine that cannot be interrupted. */
export function limitExceeded(message: string): QueryExecutionError {
  return new QueryExecutionError(message, "54000");
}
