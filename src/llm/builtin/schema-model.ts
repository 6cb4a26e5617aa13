/**
 * What the built-in translator knows about a schema, derived only from the DatabaseSchema
 * it is given (never from knowledge of a particular database): which words name which
 * tables and columns, which columns are dates, amounts, quantities or labels, and how
 * tables join along foreign keys.
 */
import type { ColumnInfo, DatabaseSchema, ForeignKey, TableInfo } from "../../sql/types";
import { quoteIdent } from "../schema-prompt";
import { identifierWords } from "./text";

export type ColumnRole = "id" | "date" | "amount" | "price" | "quantity" | "number" | "label" | "category" | "text" | "other";

export interface ModelColumn {
  table: ModelTable;
  info: ColumnInfo;
  name: string;
  words: string[];
  role: ColumnRole;
  /** Values listed in the column's comment ("Order status: pending, shipped, ..."), lower case. */
  values: string[];
}

export interface ModelTable {
  info: TableInfo;
  name: string;
  /** Words of the unqualified table name, singular: order_items → ["order", "item"]. */
  words: string[];
  columns: ModelColumn[];
  primaryKey: string[];
}

/** A many-to-one step: from a row of `from` to the one row of `to` it references. */
export interface Edge {
  from: ModelTable;
  to: ModelTable;
  fromColumns: string[];
  toColumns: string[];
}

const DATE_TYPES = /^(date|timestamp|timestamptz|timestamp with(out)? time zone|timestamp\(\d\)( with(out)? time zone)?)$/;
const NUMERIC_TYPES = /^(int2|int4|int8|smallint|integer|bigint|numeric|decimal|real|double precision|float4|float8|money)(\(.*\))?$/;
const TEXT_TYPES = /^(text|varchar|character varying|char|character|bpchar|citext)(\(.*\))?$/;

const AMOUNT_NAMES = /^(total|total_amount|amount|grand_total|order_total|total_price|net_amount|net_total|revenue|sales|sale_amount|value|total_value|line_total|subtotal|sub_total)$/;
const PRICE_NAMES = /^(unit_price|price|sale_price|unit_amount|price_each|selling_price|list_price)$/;
const QUANTITY_NAMES = /^(quantity|qty|units|quantity_ordered|units_sold|quantity_sold|amount_ordered)$/;
const LABEL_NAMES = ["name", "title", "full_name", "display_name", "label", "username", "company_name", "product_name", "customer_name", "category_name"];
const CATEGORY_NAMES = /^(status|state|type|kind|category|country|city|region|channel|segment|tier|level|priority|source|currency|gender|department|role|plan|stage|method|payment_method|brand|color|size)$/;

function classify(table: TableInfo, column: ColumnInfo): ColumnRole {
  const name = column.name.toLowerCase();
  const type = column.type.toLowerCase();
  const isForeign = table.foreign_keys.some((fk) => fk.from_columns.includes(column.name));
  if (column.is_primary_key || isForeign || name === "id" || name.endsWith("_id")) return "id";
  if (DATE_TYPES.test(type)) return "date";
  if (NUMERIC_TYPES.test(type)) {
    if (QUANTITY_NAMES.test(name)) return "quantity";
    if (PRICE_NAMES.test(name)) return "price";
    if (AMOUNT_NAMES.test(name)) return "amount";
    return "number";
  }
  if (TEXT_TYPES.test(type)) {
    if (LABEL_NAMES.includes(name)) return "label";
    if (CATEGORY_NAMES.test(name)) return "category";
    return "text";
  }
  return "other";
}

/** "Order status: pending, processing, shipped" → the listed values (simple words only). */
function listedValues(comment: string | null): string[] {
  if (!comment) return [];
  const colon = comment.indexOf(":");
  if (colon < 0) return [];
  const items = comment.slice(colon + 1).split(/,|\bor\b/).map((s) => s.trim().toLowerCase().replace(/\.$/, ""));
  return items.length >= 2 && items.every((s) => /^[a-z][a-z0-9_]{0,30}$/.test(s)) ? items : [];
}

export class SchemaModel {
  readonly tables: ModelTable[];
  readonly edges: Edge[];

  constructor(schema: DatabaseSchema) {
    this.tables = schema.tables.map((info) => {
      const table: ModelTable = { info, name: info.name, words: identifierWords(info.name.split(".").pop()!), columns: [], primaryKey: info.primary_key };
      table.columns = info.columns.map((c) => ({ table, info: c, name: c.name, words: identifierWords(c.name), role: classify(info, c), values: listedValues(c.comment) }));
      return table;
    });
    const byName = new Map(this.tables.map((t) => [t.name.toLowerCase(), t]));
    const seen = new Set<string>();
    const edges: Edge[] = [];
    const add = (fk: ForeignKey) => {
      const from = byName.get(fk.from_table.toLowerCase());
      const to = byName.get(fk.to_table.toLowerCase());
      // A key to a table that was not granted is no way to join: the translator never sees it.
      if (!from || !to || from === to) return;
      const key = `${from.name}|${fk.from_columns.join(",")}|${to.name}`;
      if (seen.has(key)) return;
      seen.add(key);
      edges.push({ from, to, fromColumns: fk.from_columns, toColumns: fk.to_columns });
    };
    for (const t of schema.tables) t.foreign_keys.forEach(add);
    schema.relationships.forEach(add);
    this.edges = edges;
  }

  /**
   * Tables reachable from `from` by following foreign keys towards the referenced side
   * only, with the shortest path to each. Joining along these never multiplies rows of
   * `from`, so sums over `from` stay right.
   */
  upward(from: ModelTable): Map<ModelTable, Edge[]> {
    const paths = new Map<ModelTable, Edge[]>([[from, []]]);
    const queue = [from];
    while (queue.length) {
      const current = queue.shift()!;
      for (const edge of this.edges) {
        if (edge.from !== current || paths.has(edge.to)) continue;
        paths.set(edge.to, [...paths.get(current)!, edge]);
        queue.push(edge.to);
      }
    }
    return paths;
  }

  columns(role: ColumnRole): ModelColumn[] {
    return this.tables.flatMap((t) => t.columns.filter((c) => c.role === role));
  }

}

/** What names a row of the table for people: a name/title column, first and last name, an e-mail, else the key. */
export function displayOf(table: ModelTable): { columns: ModelColumn[]; expression: (alias: string) => string } | null {
  const find = (n: string) => table.columns.find((c) => c.name.toLowerCase() === n);
  for (const n of LABEL_NAMES) {
    const c = find(n);
    if (c && c.role === "label") return { columns: [c], expression: (a) => `${a}.${ident(c.name)}` };
  }
  const first = find("first_name") ?? find("firstname") ?? find("given_name");
  const last = find("last_name") ?? find("lastname") ?? find("surname") ?? find("family_name");
  if (first && last) return { columns: [first, last], expression: (a) => `concat_ws(' ', ${a}.${ident(first.name)}, ${a}.${ident(last.name)})` };
  const email = find("email") ?? find("email_address");
  if (email) return { columns: [email], expression: (a) => `${a}.${ident(email.name)}` };
  const code = table.columns.find((c) => /^(code|sku|slug|number|reference)$/.test(c.name.toLowerCase()));
  if (code) return { columns: [code], expression: (a) => `${a}.${ident(code.name)}` };
  return null;
}

/** The same quoting rules the schema prompt uses, so both write identifiers alike. */
export const ident = quoteIdent;
