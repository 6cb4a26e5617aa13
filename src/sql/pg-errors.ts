/**
 * One error type for everything that goes wrong while reaching or querying a data
 * source. The message is safe to show to the caller: it is the database's own message
 * (e.g. "canceling statement due to statement timeout") or a connection failure naming
 * host and port, never a connection string or password.
 */

export class QueryExecutionError extends Error {
  constructor(
    message: string,
    /** SQLSTATE: the server's code, 08001/08006 for connection failures, 54000 for our own limits. */
    readonly code: string,
    /** 1-based character position in the statement, when the server reported one. */
    readonly position: number | null = null,
  ) {
    super(message);
    this.name = "QueryExecutionError";
  }

  /** Connection-class failures (SQLSTATE class 08): the data source, not the query, is at fault. */
  get isConnectionFailure(): boolean {
    return this.code.startsWith("08");
  }
}

/** Where the failing connection pointed, to name it in messages and to scrub its secret. */
export interface ErrorContext {
  host?: string;
  port?: number;
  password?: string | null;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "timed out",
  CONNECT_TIMEOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ECONNRESET: "connection reset",
  CONNECTION_CLOSED: "connection closed",
  CONNECTION_DESTROYED: "connection closed",
  CONNECTION_ENDED: "connection closed",
};

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Converts whatever a driver threw into a QueryExecutionError with a safe message. */
export function asQueryError(error: unknown, context: ErrorContext = {}): QueryExecutionError {
  if (error instanceof QueryExecutionError) return error;
  const e = (error ?? {}) as { code?: unknown; message?: unknown; position?: unknown; errno?: unknown };
  const code = typeof e.code === "string" ? e.code : typeof e.errno === "string" ? e.errno : "";
  const message = typeof e.message === "string" ? e.message : String(error);
  const where = context.host !== undefined ? `${context.host}:${context.port ?? 5432}` : "the data source";

  if (SQLSTATE.test(code) && !(code in NETWORK_REASONS)) {
    const position = Number(e.position);
    return new QueryExecutionError(scrub(message, context.password), code, Number.isInteger(position) && position > 0 ? position : null);
  }
  const reason = NETWORK_REASONS[code] ?? networkReasonFromMessage(message);
  if (reason) {
    const failedMidway = reason === "connection closed" || reason === "connection reset";
    return new QueryExecutionError(`could not connect to ${where}: ${reason}`, failedMidway ? "08006" : "08001");
  }
  // Driver-level failures (TLS, protocol, authentication method): keep the text, minus any secret.
  return new QueryExecutionError(`could not query ${where}: ${scrub(message, context.password)}`, "08000");
}

function networkReasonFromMessage(message: string): string | null {
  for (const [code, reason] of Object.entries(NETWORK_REASONS)) if (message.includes(code)) return reason;
  if (/unable to connect|failed to connect/i.test(message)) return "connection failed";
  return null;
}

/** Belt and braces: no message leaves this module with the password or a URL's userinfo in it. */
function scrub(message: string, password: string | null | undefined): string {
  let out = message.replace(/(postgres(?:ql)?:\/\/)[^@\s/]*@/gi, "$1***@");
  if (password && password.length >= 3) out = out.split(password).join("***");
  return out;
}
