/**
 * Shared shapes of governed analytics: what the data-source registry, the connection
 * layer, the executor, the guard, the schema browser and the translators exchange.
 * Each module owns its implementation; this file only fixes the seams between them.
 */

/** How to reach one registered data source (password already decrypted, in memory only). */
export type ConnectionSpec =
  | {
      type: "postgresql";
      host: string;
      port: number;
      database: string;
      username: string;
      password: string | null;
      ssl: boolean;
    }
  | { type: "embedded-demo" };

/** Limits the executor enforces inside the database, whatever the guard said. */
export interface ExecuteLimits {
  /** SET LOCAL statement_timeout, ms. Default 5000. */
  timeoutMs: number;
  /** Rows returned at most; the rest are dropped and `truncated` is set. Default 1000, max 10000. */
  maxRows: number;
  /** Serialized result size at most (bytes); rows past it are dropped and `truncated` is set. */
  maxBytes: number;
}

export interface ResultColumn {
  name: string;
  /** PostgreSQL type name as the catalog spells it (int4, numeric, text, timestamptz...). */
  type: string;
}

export interface QueryResult {
  columns: ResultColumn[];
  /** One object per row keyed by column name, JSON-safe (bigint/numeric as strings or numbers, dates ISO). */
  rows: Record<string, unknown>[];
  rowCount: number;
  truncated: boolean;
  executionMs: number;
}

/** A live connection to one data source; pools are bounded and closed with it. */
export interface DataSourceConnection {
  readonly type: ConnectionSpec["type"];
  /** Runs one statement in a READ ONLY transaction that is always rolled back. */
  execute(sql: string, limits: ExecuteLimits): Promise<QueryResult>;
  /** Connectivity check with a short timeout; throws a message safe to show. */
  ping(timeoutMs?: number): Promise<void>;
  /** User tables of the database from the catalog (not system schemas), with comments and keys. */
  introspect(): Promise<DatabaseSchema>;
  close(): Promise<void>;
}

// ---- Schema, as introspected from the catalog and shown to callers and to the model ----

export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
  is_primary_key: boolean;
  comment: string | null;
}

export interface ForeignKey {
  name: string;
  from_table: string;
  from_columns: string[];
  to_table: string;
  to_columns: string[];
}

export interface TableInfo {
  /** Unqualified name when the schema is `public`, else `schema.table`. */
  name: string;
  schema: string;
  comment: string | null;
  columns: ColumnInfo[];
  primary_key: string[];
  foreign_keys: ForeignKey[];
  /** Planner's estimate (pg_class.reltuples), not an exact count. */
  row_estimate: number | null;
}

export interface DatabaseSchema {
  tables: TableInfo[];
  relationships: ForeignKey[];
}

// ---- The guard's verdict ----

export interface GuardVerdict {
  valid: boolean;
  /** "SELECT" for an accepted statement; the parser's node name otherwise (e.g. "InsertStmt"), or null if it did not parse. */
  statement_type: string | null;
  /** Tables the statement reads, lower-case, `schema.table` when not public. */
  tables: string[];
  /** Human-readable reasons; empty when valid. */
  errors: string[];
}

export interface GuardPolicy {
  /** Tables the caller may read (same naming as `tables`); null means every user table. */
  allowedTables: ReadonlySet<string> | null;
}

// ---- Turning a question into SQL ----

export interface TranslationRequest {
  question: string;
  /** Only the tables the caller's grants cover. */
  schema: DatabaseSchema;
  /** Earlier turns of a chat session, oldest first. */
  history?: { role: "user" | "assistant"; content: string }[];
  /** Set on the single retry after the guard refused the first attempt. */
  previousAttempt?: { sql: string; errors: string[] };
}

export interface Translation {
  sql: string;
  explanation: string;
  model: string;
  usage: { input_tokens: number; output_tokens: number };
}

/** The question cannot be answered as SQL; `message` says why, with examples, in plain words. */
export class CannotTranslateError extends Error {
  constructor(message: string, readonly usage: { input_tokens: number; output_tokens: number } = { input_tokens: 0, output_tokens: 0 }, readonly model = "builtin") {
    super(message);
    this.name = "CannotTranslateError";
  }
}

export interface Translator {
  /** "anthropic" or "builtin". */
  readonly provider: string;
  readonly model: string;
  translate(request: TranslationRequest): Promise<Translation>;
}
