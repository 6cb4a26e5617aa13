/**
 * From a read question to one SELECT over the granted tables: choose what is measured and
 * in which table (the "fact" table), what it is grouped by, the date column a period or a
 * trend applies to, and the joins — only along foreign keys from the fact table towards
 * the tables it references, so no join multiplies the fact rows and sums stay right.
 */
import type { Keyword, Mention, ReadQuestion } from "./question";
import { displayOf, ident, type Edge, type ModelColumn, type ModelTable, type SchemaModel } from "./schema-model";
import { alias as toAlias, singular, spoken } from "./text";

/** The question cannot be answered with the shapes we build; `message` says why in plain words. */
export class Unanswerable extends Error {}

type AliasOf = (table: ModelTable) => string;
type Aggregate = "sum" | "avg" | "max" | "min" | "count";

interface Source {
  fact: ModelTable;
  /** Tables the measure's expression reads besides the fact table. */
  requires: ModelTable[];
  expression: (a: AliasOf) => string;
  describe: string;
}

interface Measure {
  alias: string;
  sources: Source[];
}

type Group = { kind: "table"; table: ModelTable } | { kind: "column"; columns: ModelColumn[] };

export interface Plan {
  sql: string;
  explanation: string;
}

const has = (q: ReadQuestion, k: Keyword) => q.keywords.has(k);
const at = (q: ReadQuestion, k: Keyword) => q.keywords.get(k) ?? [];
const col = (a: string, c: ModelColumn | string) => `${a}.${ident(typeof c === "string" ? c : c.name)}`;
const qualified = (c: ModelColumn) => `${c.table.name}.${c.name}`;

export function plan(q: ReadQuestion, model: SchemaModel): Plan {
  if (q.unsupported.length) {
    throw new Unanswerable(`The built-in translator does not handle questions with "${[...new Set(q.unsupported)].join('", "')}" (conditions, comparisons or several measures at once).`);
  }
  if (q.unknown.length) {
    throw new Unanswerable(`The built-in translator does not know what "${[...new Set(q.unknown)].join('", "')}" means: it is not a table or column of this database, nor a period or measure it understands.`);
  }
  const used = new Set<Mention>();
  const tableMentions = q.mentions.filter((m): m is Extract<Mention, { kind: "table" }> => m.kind === "table");

  // What is counted: the table right after "how many" / "number of".
  let counted: ModelTable | null = null;
  for (const p of at(q, "count")) {
    const m = tableMentions.find((t) => t.start > p && t.start <= p + 3 && !used.has(t));
    if (m) {
      counted = m.table;
      used.add(m);
      break;
    }
  }

  // "order value": the amount of one row of that table.
  let valueOf: ModelTable | null = null;
  for (const p of at(q, "value")) {
    const m = tableMentions.find((t) => t.end === p && !used.has(t));
    if (m) {
      valueOf = m.table;
      used.add(m);
    }
  }

  // Groups: what follows "per", "by", "each", "across".
  const groups: Group[] = [];
  for (const p of at(q, "group")) {
    const m = q.mentions.find((x) => !used.has(x) && x.kind !== "value" && x.start > p && x.start <= p + 2);
    if (!m || m.kind === "value" || (m.kind === "column" && isMeasureColumn(m.columns))) continue;
    used.add(m);
    groups.push(m.kind === "table" ? { kind: "table", table: m.table } : { kind: "column", columns: m.columns });
  }

  // Rankings: "top 5 products", "5 best selling products", "which country has the highest revenue".
  const rankAt = [...at(q, "top"), ...at(q, "bottom")].sort((a, b) => a - b)[0];
  let limit: number | null = null;
  const direction = has(q, "bottom") && !has(q, "top") ? "ASC" : "DESC";
  if (rankAt !== undefined) {
    const entity =
      q.mentions.find((x) => !used.has(x) && (x.kind === "table" || (x.kind === "column" && !isMeasureColumn((x as Extract<Mention, { kind: "column" }>).columns))) && x.start > rankAt) ??
      q.mentions.find((x) => !used.has(x) && (x.kind === "table" || (x.kind === "column" && !isMeasureColumn((x as Extract<Mention, { kind: "column" }>).columns))));
    if (entity && (entity.kind === "table" || entity.kind === "column")) {
      used.add(entity);
      groups.unshift(entity.kind === "table" ? { kind: "table", table: entity.table } : { kind: "column", columns: entity.columns });
      limit = rankLimit(q, rankAt, entity);
    } else if (groups.length) {
      limit = rankLimit(q, rankAt, null);
    } else {
      throw new Unanswerable("A ranking needs something to rank, such as products, customers or a column like country.");
    }
  }
  if (limit !== null && groups.length > 1) throw new Unanswerable("Rankings within each group (such as the top products of every category) are beyond the built-in translator; ask for one ranking, or for a total per group.");
  if (limit !== null && q.trend) throw new Unanswerable("Rankings within each period (such as the top products of every month) are beyond the built-in translator.");

  const filters = new Map<ModelColumn, string[]>();
  for (const m of q.mentions) {
    if (m.kind !== "value") continue;
    used.add(m);
    filters.set(m.column, [...(filters.get(m.column) ?? []), m.value]);
  }

  const measure = chooseMeasure(q, model, { counted, valueOf, used, hasGroups: groups.length > 0 || q.trend !== null || q.period !== null });
  // "average quantity per order item": per row of the measured table itself means over its rows.
  if (limit === null) {
    for (let g = groups.length - 1; g >= 0; g--) {
      const group = groups[g];
      if (group.kind === "table" && measure.sources.every((s) => s.fact === group.table)) groups.splice(g, 1);
    }
  }
  // Tables named but not otherwise placed must still be part of the query's joins.
  const context = q.mentions.filter((m): m is Extract<Mention, { kind: "table" }> => m.kind === "table" && !used.has(m)).map((m) => m.table);
  const leftoverColumns = q.mentions.filter((m) => m.kind === "column" && !used.has(m));
  if (leftoverColumns.length) {
    const names = leftoverColumns.flatMap((m) => (m.kind === "column" ? [m.columns[0].name] : []));
    throw new Unanswerable(`The built-in translator could not tell what to do with ${names.join(", ")}: say "by ${names[0]}" to group by it.`);
  }

  const needsDate = q.period !== null || q.trend !== null;
  const candidates = measure.sources
    .map((source, order) => layout(model, source, groups, [...filters.keys()], context, needsDate, order))
    .filter((l): l is Layout => l !== null)
    .sort((a, b) => a.cost - b.cost || a.order - b.order);
  const best = candidates[0];
  if (!best) {
    const wanted = [...groups.map((g) => (g.kind === "table" ? g.table.name : g.columns[0].name)), ...context.map((t) => t.name)];
    if (needsDate && measure.sources.every((s) => !dateColumnFor(model, s.fact))) throw new Unanswerable("None of the granted tables that hold this measure is linked to a date column, so periods and trends cannot be applied.");
    throw new Unanswerable(`No foreign-key path links ${measure.sources.map((s) => s.fact.name).filter(unique).join(" or ")} to ${wanted.join(" and ") || "what was asked"} in the tables you may read.`);
  }
  return render(q, measure, best, limit, direction);
}

const unique = <T>(v: T, i: number, all: T[]) => all.indexOf(v) === i;

function isMeasureColumn(columns: ModelColumn[]): boolean {
  return columns.every((c) => c.role === "amount" || c.role === "price" || c.role === "quantity" || c.role === "number");
}

function rankLimit(q: ReadQuestion, rankAt: number, entity: Mention | null): number {
  const after = q.words[rankAt + 1];
  const before = q.words[rankAt - 1];
  const n = /^\d+$/.test(after ?? "") ? Number(after) : /^\d+$/.test(before ?? "") ? Number(before) : null;
  if (n !== null) return Math.min(Math.max(n, 1), 1000);
  if (q.words[rankAt] === "top" || q.words[rankAt] === "bottom") return 10;
  // "which product sold the most" asks for one; "most popular products" for a list.
  return entity && entity.kind === "table" && !entity.plural ? 1 : entity && entity.kind === "column" && q.words[entity.start] === singular(q.words[entity.start]) ? 1 : 10;
}

interface MeasureContext {
  counted: ModelTable | null;
  valueOf: ModelTable | null;
  used: Set<Mention>;
  hasGroups: boolean;
}

function chooseMeasure(q: ReadQuestion, model: SchemaModel, ctx: MeasureContext, revenueByDefault = false): Measure {
  const aggregate: Aggregate = has(q, "avg") ? "avg" : has(q, "max") ? "max" : has(q, "min") ? "min" : "sum";
  const wrap = (expression: string, money: boolean) =>
    aggregate === "avg" ? `round(avg(${expression})${money ? "" : "::numeric"}, 2)` : `${aggregate}(${expression})`;
  const prefix = aggregate === "sum" ? "" : `${aggregate === "avg" ? "average" : aggregate}_`;
  const columnMention = q.mentions.find((m): m is Extract<Mention, { kind: "column" }> => m.kind === "column" && !ctx.used.has(m) && isMeasureColumn(m.columns));

  if (has(q, "money") || ctx.valueOf || revenueByDefault) {
    const sources: Source[] = [];
    for (const c of model.columns("amount")) {
      if (ctx.valueOf && c.table !== ctx.valueOf) continue;
      sources.push({ fact: c.table, requires: [], expression: (a) => wrap(col(a(c.table), c), true), describe: `${describeAggregate(aggregate)} ${qualified(c)}` });
    }
    // Line-level amounts (quantity × unit price) sum exactly; their average would be per line, not per order, so only sums use them.
    if (!ctx.valueOf && aggregate === "sum") {
      for (const t of model.tables) {
        const quantity = t.columns.find((c) => c.role === "quantity");
        const price = t.columns.find((c) => c.role === "price");
        if (quantity && price) sources.push({ fact: t, requires: [], expression: (a) => `sum(${col(a(t), quantity)} * ${col(a(t), price)})`, describe: `the sum of ${qualified(quantity)} × ${qualified(price)}` });
      }
    }
    if (columnMention) ctx.used.add(columnMention);
    if (!sources.length) throw new Unanswerable(ctx.valueOf ? `The table ${ctx.valueOf.name} has no amount or total column to take its value from.` : "None of the granted tables has an amount column, or a quantity and a unit price, to compute revenue from.");
    const name = ctx.valueOf ? `${singular(spoken(ctx.valueOf.name))} value` : "revenue";
    return { alias: toAlias(`${prefix}${name}`), sources };
  }
  if (has(q, "quantity") || (columnMention && columnMention.columns.every((c) => c.role === "quantity"))) {
    if (columnMention) ctx.used.add(columnMention);
    const sources = model.columns("quantity").map((c): Source => ({ fact: c.table, requires: [], expression: (a) => wrap(col(a(c.table), c), false), describe: `${describeAggregate(aggregate)} ${qualified(c)}` }));
    if (!sources.length) throw new Unanswerable("None of the granted tables has a quantity column to count units sold.");
    return { alias: aggregate === "sum" ? "units_sold" : `${prefix}quantity`, sources };
  }
  if (columnMention) {
    ctx.used.add(columnMention);
    // "product unit price": the column of the table named just before it.
    const owner = q.mentions.find((m) => m.kind === "table" && m.end === columnMention.start);
    const columns = owner && owner.kind === "table" ? columnMention.columns.filter((c) => c.table === owner.table) : columnMention.columns;
    if (owner) ctx.used.add(owner);
    const chosen: Aggregate = has(q, "sum") || has(q, "avg") || has(q, "max") || has(q, "min") ? aggregate : columns[0].role === "price" ? "avg" : "sum";
    const agg = (e: string) => (chosen === "avg" ? `round(avg(${e})::numeric, 2)` : `${chosen}(${e})`);
    return {
      alias: toAlias(`${chosen === "sum" ? "total" : chosen === "avg" ? "average" : chosen}_${columns[0].name.replace(/^total_/, "")}`),
      sources: columns.map((c) => ({ fact: c.table, requires: [], expression: (a) => agg(col(a(c.table), c)), describe: `${describeAggregate(chosen)} ${qualified(c)}` })),
    };
  }
  let counted = ctx.counted;
  if (!counted && (ctx.hasGroups || has(q, "count"))) {
    const m = q.mentions.find((x): x is Extract<Mention, { kind: "table" }> => x.kind === "table" && !ctx.used.has(x));
    if (m) {
      ctx.used.add(m);
      counted = m.table;
    }
  }
  if (counted) return countOf(model, counted);
  if (ctx.hasGroups && model.columns("amount").length + model.columns("quantity").length > 0) {
    // "top 10 customers" with no measure named: rank by revenue when there is any.
    return chooseMeasure(q, model, ctx, true);
  }
  throw new Unanswerable("The built-in translator could not tell what to measure: ask for a count (how many ...), a total or average of an amount, revenue or units sold.");
}

function countOf(model: SchemaModel, table: ModelTable): Measure {
  const sources: Source[] = [{ fact: table, requires: [], expression: () => "count(*)", describe: `the number of ${spoken(table.name)}` }];
  if (table.primaryKey.length === 1) {
    // Counting through a table that references it (orders per product via order items).
    for (const other of model.tables) {
      if (other === table || !model.upward(other).has(table)) continue;
      sources.push({ fact: other, requires: [table], expression: (a) => `count(DISTINCT ${col(a(table), table.primaryKey[0])})`, describe: `the number of distinct ${spoken(table.name)}` });
    }
  }
  return { alias: toAlias(`${singular(spoken(table.name))}_count`), sources };
}

function describeAggregate(a: Aggregate): string {
  return a === "avg" ? "the average of" : a === "max" ? "the largest" : a === "min" ? "the smallest" : a === "count" ? "the number of" : "the sum of";
}

interface Layout {
  source: Source;
  order: number;
  cost: number;
  edges: Edge[];
  groups: Array<{ kind: "table"; table: ModelTable } | { kind: "column"; column: ModelColumn }>;
  filters: ModelColumn[];
  date: ModelColumn | null;
}

function layout(model: SchemaModel, source: Source, groups: Group[], filters: ModelColumn[], context: ModelTable[], needsDate: boolean, order: number): Layout | null {
  const paths = model.upward(source.fact);
  const distance = (t: ModelTable) => paths.get(t)?.length ?? Infinity;
  const placed: Layout["groups"] = [];
  for (const g of groups) {
    if (g.kind === "table") {
      if (!paths.has(g.table)) return null;
      placed.push(g);
    } else {
      const column = [...g.columns].sort((a, b) => distance(a.table) - distance(b.table))[0];
      if (!paths.has(column.table)) return null;
      placed.push({ kind: "column", column });
    }
  }
  if (filters.some((c) => !paths.has(c.table)) || context.some((t) => !paths.has(t)) || source.requires.some((t) => !paths.has(t))) return null;
  const date = needsDate ? dateColumnFor(model, source.fact) : null;
  if (needsDate && !date) return null;
  const tables = [...placed.map((g) => (g.kind === "table" ? g.table : g.column.table)), ...filters.map((c) => c.table), ...context, ...source.requires, ...(date ? [date.table] : [])];
  const edges: Edge[] = [];
  for (const t of tables) for (const e of paths.get(t)!) if (!edges.includes(e)) edges.push(e);
  return { source, order, cost: edges.length, edges, groups: placed, filters, date };
}

/** The date a period applies to: the nearest date column, the order's own date before a row's creation time. */
export function dateColumnFor(model: SchemaModel, fact: ModelTable): ModelColumn | null {
  const paths = model.upward(fact);
  let best: { column: ModelColumn; score: number } | null = null;
  for (const [table, path] of paths) {
    for (const c of table.columns) {
      if (c.role !== "date") continue;
      const score = path.length * 10 + datePreference(c.name.toLowerCase());
      if (!best || score < best.score) best = { column: c, score };
    }
  }
  return best?.column ?? null;
}

function datePreference(name: string): number {
  if (/^(order_date|ordered_at|order_time|placed_at|purchase_date|purchased_at|sold_at|sale_date|transaction_date|date|occurred_at|invoice_date|event_date)$/.test(name)) return 0;
  if (/(updated|modified|deleted|birth|expire|valid_|last_)/.test(name)) return 8;
  if (/^created(_at|_on)?$/.test(name)) return 3;
  return 2;
}

function render(q: ReadQuestion, measure: Measure, l: Layout, limit: number | null, direction: "ASC" | "DESC"): Plan {
  const aliases = new Map<ModelTable, string>();
  const aliasOf: AliasOf = (t) => {
    let a = aliases.get(t);
    if (!a) {
      const base = t.words.map((w) => w[0]).join("").replace(/[^a-z]/g, "") || "t";
      a = base;
      for (let n = 2; [...aliases.values()].includes(a) || isReserved(a); n++) a = `${base}${n}`;
      aliases.set(t, a);
    }
    return a;
  };
  aliasOf(l.source.fact);
  const from = [`${tableRef(l.source.fact)} ${aliasOf(l.source.fact)}`];
  for (const e of l.edges) {
    const on = e.fromColumns.map((c, i) => `${col(aliasOf(e.to), e.toColumns[i])} = ${col(aliasOf(e.from), c)}`).join(" AND ");
    from.push(`JOIN ${tableRef(e.to)} ${aliasOf(e.to)} ON ${on}`);
  }

  const select: string[] = [];
  const groupBy: string[] = [];
  const orderBy: string[] = [];
  const labels: string[] = [];
  const described: string[] = [];
  if (q.trend && l.date) {
    const bucket = `date_trunc('${q.trend.unit}', ${col(aliasOf(l.date.table), l.date)})::date`;
    select.push(`${bucket} AS ${q.trend.unit}`);
    groupBy.push(bucket);
    orderBy.push(`${q.trend.unit} ASC`);
  }
  for (const g of l.groups) {
    if (g.kind === "column") {
      const expr = col(aliasOf(g.column.table), g.column);
      select.push(`${expr} AS ${ident(g.column.name)}`);
      groupBy.push(expr);
      labels.push(ident(g.column.name));
      described.push(`${spoken(g.column.name)} (${qualified(g.column)})`);
      continue;
    }
    const a = aliasOf(g.table);
    const name = toAlias(singular(spoken(g.table.name)));
    const display = displayOf(g.table);
    const keys = g.table.primaryKey.map((k) => col(a, k));
    if (display) {
      select.push(`${display.expression(a)} AS ${name}`);
      groupBy.push(...keys, display.expression(a));
      labels.push(name);
      described.push(`${singular(spoken(g.table.name))} (${display.columns.map(qualified).join(" and ")})`);
    } else if (keys.length) {
      select.push(...g.table.primaryKey.map((k) => `${col(a, k)} AS ${ident(k)}`));
      groupBy.push(...keys);
      labels.push(...g.table.primaryKey.map(ident));
      described.push(`${singular(spoken(g.table.name))} (${g.table.primaryKey.join(", ")})`);
    } else {
      throw new Unanswerable(`The table ${g.table.name} has no primary key or name column to group its rows by.`);
    }
  }
  select.push(`${l.source.expression(aliasOf)} AS ${measure.alias}`);
  if (q.trend) orderBy.push(...labels.map((x) => `${x} ASC`));
  else if (limit !== null || labels.length) orderBy.push(`${measure.alias} ${limit !== null ? direction : "DESC"} NULLS LAST`, ...labels.map((x) => `${x} ASC`));

  const where: string[] = [];
  if (q.period && l.date) where.push(q.period.predicate(col(aliasOf(l.date.table), l.date)));
  for (const c of l.filters) {
    const values = [...new Set(filtersOf(q, c))];
    const expr = col(aliasOf(c.table), c);
    where.push(values.length === 1 ? `${expr} = ${literal(values[0])}` : `${expr} IN (${values.map(literal).join(", ")})`);
  }

  const sql = [
    `SELECT ${select.join(",\n       ")}`,
    `FROM ${from.join("\n  ")}`,
    where.length ? `WHERE ${where.join("\n  AND ")}` : "",
    groupBy.length && select.length > 1 ? `GROUP BY ${groupBy.join(", ")}` : "",
    orderBy.length ? `ORDER BY ${orderBy.join(", ")}` : "",
    limit !== null ? `LIMIT ${limit}` : "",
  ].filter(Boolean).join("\n");

  const parts = [`Computes ${l.source.describe}`];
  if (described.length) parts.push(`per ${described.join(" and ")}`);
  if (q.trend && l.date) parts.push(`per ${q.trend.unit} of ${qualified(l.date)}`);
  let explanation = parts.join(" ");
  if (q.period && l.date) explanation += `, for rows whose ${qualified(l.date)} falls ${q.period.label}`;
  if (l.filters.length) explanation += `, only where ${l.filters.map((c) => `${qualified(c)} is ${filtersOf(q, c).join(" or ")}`).join(" and ")}`;
  if (limit !== null) explanation += `; the ${limit} ${direction === "DESC" ? "highest" : "lowest"} first`;
  else if (q.trend) explanation += "; oldest first";
  else if (labels.length) explanation += "; largest first";
  explanation += ".";
  if (l.edges.length) explanation += ` Joins ${[l.source.fact, ...l.edges.map((e) => e.to)].map((t) => t.name).filter(unique).join(", ")} along their foreign keys.`;
  const unfiltered = [l.source.fact, ...l.edges.map((e) => e.to)].flatMap((t) => t.columns).find((c) => c.values.length && /^(status|state)$/.test(c.name) && !l.filters.includes(c));
  if (unfiltered) explanation += ` Rows of every ${unfiltered.name} (${unfiltered.values.join(", ")}) are included; name one in the question to narrow it.`;
  return { sql, explanation };
}

function filtersOf(q: ReadQuestion, c: ModelColumn): string[] {
  return q.mentions.flatMap((m) => (m.kind === "value" && m.column === c ? [m.value] : []));
}

/** Values come from the schema's own comments, never from the question's free text; still quoted properly. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function tableRef(t: ModelTable): string {
  const dot = t.name.indexOf(".");
  return dot > 0 ? `${ident(t.name.slice(0, dot))}.${ident(t.name.slice(dot + 1))}` : ident(t.name);
}

function isReserved(a: string): boolean {
  return ident(a) !== a || ["do", "on", "as", "or", "in", "is", "to", "by", "at"].includes(a);
}

