/**
 * A question read into parts: the period, the trend, the tables, columns and listed values
 * it names, and the words that ask for a count, a sum, an average or a ranking. Every word
 * must be understood; an unknown word makes the question one we do not answer, because a
 * guess that ignores part of a question gives a confident wrong answer.
 */
import { findPeriod, findTrend, type Period } from "./periods";
import type { ModelColumn, ModelTable, SchemaModel } from "./schema-model";
import { singular, words as toWords } from "./text";

export type Mention =
  | { kind: "table"; table: ModelTable; start: number; end: number; plural: boolean }
  | { kind: "column"; columns: ModelColumn[]; start: number; end: number }
  | { kind: "value"; column: ModelColumn; value: string; start: number; end: number };

export interface ReadQuestion {
  words: string[];
  period: Period | null;
  trend: { unit: "day" | "week" | "month" | "quarter" | "year" } | null;
  mentions: Mention[];
  /** Position of each recognised keyword, by role. */
  keywords: Map<Keyword, number[]>;
  /** Words neither in the schema nor in the vocabulary. */
  unknown: string[];
  /** Words that ask for something this translator does not do (negation, comparison...). */
  unsupported: string[];
}

export type Keyword = "money" | "quantity" | "count" | "avg" | "sum" | "max" | "min" | "top" | "bottom" | "group" | "value";

const KEYWORDS: Record<string, Keyword> = {
  revenue: "money", sales: "money", sale: "money", income: "money", turnover: "money", earnings: "money", spend: "money", spent: "money", spending: "money", gmv: "money", earned: "money",
  selling: "quantity", sold: "quantity", seller: "quantity", sellers: "quantity", units: "quantity", quantity: "quantity", quantities: "quantity", popular: "quantity", volume: "quantity",
  count: "count", number: "count", many: "count",
  average: "avg", avg: "avg", mean: "avg",
  total: "sum", sum: "sum",
  maximum: "max", max: "max", minimum: "min", min: "min",
  top: "top", best: "top", highest: "top", most: "top", biggest: "top", largest: "top", leading: "top",
  bottom: "bottom", worst: "bottom", lowest: "bottom", least: "bottom", fewest: "bottom", smallest: "bottom",
  per: "group", by: "group", each: "group", across: "group", every: "group",
  value: "value", size: "value",
};

/** Words that carry no meaning for the query's shape. */
const FILLER = new Set(
  ("show me the a an of what which is are was were there list give get find display tell i we our my us please for in on over during from to all with " +
    "have has had do does did how much be been being its their it as at so far currently right now ever overall time trend trends breakdown distribution " +
    "whats made make makes generated placed place signed sign up registered joined created bought purchased ordered exist exists existing can you could " +
    "would like want see know grouped broken down split this that these those distinct unique different").split(" "),
);

/** Asking for these needs more than the shapes we build; say so instead of half-answering. */
const UNSUPPORTED = new Set("not never without except excluding no none compare compared versus vs ratio percentage percent share growth increase decrease median between who whose whom and or than more fewer less where".split(" "));

const SYNONYMS: Record<string, string> = { client: "customer", buyer: "customer", shopper: "customer", purchase: "order" };

export function readQuestion(question: string, model: SchemaModel): ReadQuestion {
  const words = toWords(question);
  const taken = words.map(() => false);
  const take = (span: [number, number]) => {
    for (let i = Math.max(0, span[0]); i < span[1]; i++) taken[i] = true;
  };

  const period = findPeriod(words);
  if (period) take(period.span);
  const trendFound = findTrend(words.map((w, i) => (taken[i] ? "" : w)));
  if (trendFound) take(trendFound.span);

  const singulars = words.map(singular);
  const synonyms = singulars.map((w) => SYNONYMS[w] ?? w);
  const mentions: Mention[] = [];
  const matchAt = (i: number, target: string[]) =>
    target.length > 0 && target.every((t, k) => i + k < words.length && !taken[i + k] && (singulars[i + k] === t || synonyms[i + k] === t));

  // Longest names first, so "order items" is the order_items table and not orders + items.
  const tables = [...model.tables].sort((a, b) => b.words.length - a.words.length);
  for (let i = 0; i < words.length; i++) {
    for (const table of tables) {
      if (!matchAt(i, table.words)) continue;
      const end = i + table.words.length;
      mentions.push({ kind: "table", table, start: i, end, plural: words[end - 1] !== singulars[end - 1] });
      take([i, end]);
      break;
    }
  }
  const columns = model.tables.flatMap((t) => t.columns).filter((c) => c.role !== "id" && c.role !== "other");
  columns.sort((a, b) => b.words.length - a.words.length);
  for (let i = 0; i < words.length; i++) {
    const matching = columns.filter((c) => matchAt(i, c.words));
    if (!matching.length) continue;
    const longest = Math.max(...matching.map((c) => c.words.length));
    const chosen = matching.filter((c) => c.words.length === longest);
    // A measure word such as "quantity" stays a keyword when it names no column here.
    mentions.push({ kind: "column", columns: chosen, start: i, end: i + longest });
    take([i, i + longest]);
  }
  for (let i = 0; i < words.length; i++) {
    if (taken[i]) continue;
    const column = model.tables.flatMap((t) => t.columns).find((c) => c.values.includes(words[i]) || c.values.includes(singulars[i]));
    if (!column) continue;
    const value = column.values.includes(words[i]) ? words[i] : singulars[i];
    mentions.push({ kind: "value", column, value, start: i, end: i + 1 });
    take([i, i + 1]);
  }
  mentions.sort((a, b) => a.start - b.start);
  // "product category": a table named to qualify the table it references is that table.
  for (let k = mentions.length - 2; k >= 0; k--) {
    const [qualifier, target] = [mentions[k], mentions[k + 1]];
    if (qualifier.kind !== "table" || target.kind !== "table" || target.start !== qualifier.end) continue;
    if (model.edges.some((e) => e.from === qualifier.table && e.to === target.table)) mentions.splice(k, 2, { ...target, start: qualifier.start });
  }
  // "customer segment", "product unit price": a table's own column, named after the table.
  for (let k = mentions.length - 2; k >= 0; k--) {
    const [owner, column] = [mentions[k], mentions[k + 1]];
    if (owner.kind !== "table" || column.kind !== "column" || column.start !== owner.end) continue;
    const own = column.columns.filter((c) => c.table === owner.table);
    if (own.length) mentions.splice(k, 2, { kind: "column", columns: own, start: owner.start, end: column.end });
  }

  const keywords = new Map<Keyword, number[]>();
  const unknown: string[] = [];
  const unsupported: string[] = [];
  words.forEach((w, i) => {
    if (taken[i]) return;
    const keyword = KEYWORDS[w];
    if (keyword) {
      keywords.set(keyword, [...(keywords.get(keyword) ?? []), i]);
      return;
    }
    if (/^\d+$/.test(w) || FILLER.has(w)) return;
    if (UNSUPPORTED.has(w)) unsupported.push(w);
    else unknown.push(w);
  });
  return { words, period, trend: trendFound ? { unit: trendFound.unit } : null, mentions, keywords, unknown, unsupported };
}
