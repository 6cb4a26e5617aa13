/**
 * Audit entries as CSV (RFC 4180): a header line, then one line per entry, CRLF line
 * ends. `details` is the entry's JSON. A cell that a spreadsheet would run as a formula
 * (starting with =, +, -, @, tab or CR) is prefixed with a quote: user agents and names
 * come from outside.
 */
import type { AuditEntryJson } from "./entry-json";

export const CSV_COLUMNS = [
  "id",
  "position",
  "timestamp",
  "action",
  "resource",
  "resource_id",
  "user_id",
  "actor_type",
  "actor_id",
  "organization_id",
  "ip_address",
  "user_agent",
  "status",
  "details",
] as const;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let s = typeof value === "string" ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvHeader = (): string => CSV_COLUMNS.join(",") + "\r\n";

export function csvLine(entry: AuditEntryJson): string {
  return CSV_COLUMNS.map((c) => csvCell(entry[c === "id" ? "event_id" : c])).join(",") + "\r\n";
}
