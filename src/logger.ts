/**
 * Structured JSON logs, one line each. Secrets never reach the output: known secret-ish
 * keys are redacted wherever they appear. The last lines are kept in a bounded ring
 * buffer for `GET /admin/logs`.
 */
import type { LogLevel } from "./config";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|cookie|hash|credential|private/i;

export interface LogLine {
  time: string;
  level: LogLevel;
  msg: string;
  [field: string]: unknown;
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

export class Logger {
  /** Circular: `next` is where the next line goes; no shifting on the hot path. */
  private readonly ring: LogLine[] = [];
  private next = 0;

  constructor(
    private readonly level: LogLevel = "info",
    private readonly sink: (line: string) => void = (line) => process.stdout.write(line + "\n"),
    private readonly ringSize = 1000,
  ) {}

  debug(msg: string, fields?: Record<string, unknown>) {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>) {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>) {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>) {
    this.log("error", msg, fields);
  }

  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
    const line: LogLine = { time: new Date().toISOString(), level, msg, ...(redact(fields) as Record<string, unknown>) };
    if (this.ring.length < this.ringSize) this.ring.push(line);
    else this.ring[this.next] = line;
    this.next = (this.next + 1) % this.ringSize;
    if (ORDER[level] >= ORDER[this.level]) this.sink(JSON.stringify(line));
  }

  recent(filter: { level?: LogLevel; limit?: number } = {}): LogLine[] {
    const min = filter.level ? ORDER[filter.level] : 0;
    // Oldest first: the part after `next`, then the part before it.
    const ordered = this.ring.length < this.ringSize ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const lines = ordered.filter((l) => ORDER[l.level] >= min);
    return lines.slice(-(filter.limit ?? 100)).reverse();
  }
}
