/** What a benchmark module returns, and the results table run.ts prints. */
import type { Backend } from "./support";

export interface Cell {
  /** The figure the row is about (rate, ratio, count). */
  value: number;
  /** How the table shows it. */
  text: string;
  /** Whether the row's target is met on this backend (absent: no target here). */
  pass?: boolean;
  detail?: Record<string, unknown>;
}

export interface Row {
  key: string;
  label: string;
  cells: Partial<Record<Backend, Cell>>;
  /** Human-readable target, e.g. ">= 0.5x (postgres)". */
  target?: string;
  /** Indented as a derived figure (ratios, checks). */
  derived?: boolean;
}

export interface Section {
  title: string;
  rows: Row[];
}

export interface ModuleResult {
  module: string;
  sections: Section[];
  notes: string[];
  seconds: number;
}

const COLS: Array<{ key: Backend; title: string }> = [
  { key: "postgres", title: "PostgreSQL" },
  { key: "pglite", title: "PGlite" },
];

function cellText(cell: Cell | undefined): string {
  if (!cell) return "-";
  const mark = cell.pass === undefined ? "" : cell.pass ? "  PASS" : "  MISS";
  return cell.text + mark;
}

export function renderTable(results: ModuleResult[], headers: Partial<Record<Backend, string>>): string {
  const lines: string[][] = [];
  const header = ["measurement", ...COLS.map((c) => headers[c.key] ?? c.title), "target"];
  const kinds: Array<"row" | "section"> = [];
  for (const result of results) {
    for (const section of result.sections) {
      lines.push([`${section.title}`, "", "", ""]);
      kinds.push("section");
      for (const row of section.rows) {
        lines.push([(row.derived ? "    " : "  ") + row.label, ...COLS.map((c) => cellText(row.cells[c.key])), row.target ?? ""]);
        kinds.push("row");
      }
    }
  }
  const rows = lines.filter((_, j) => kinds[j] === "row");
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i].length)));
  const pad = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("-+-");
  const out = [pad(header), rule];
  lines.forEach((l, i) => {
    if (kinds[i] === "section") out.push(l[0]);
    else out.push(pad(l));
  });
  return out.join("\n");
}
