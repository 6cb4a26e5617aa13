/**
 * The granted schema as the model reads it: CREATE TABLE-like text, one block per table,
 * with column types, NOT NULL, primary and foreign keys and catalog comments. Only what
 * the DatabaseSchema it is given contains, and no more: no defaults (sequence names and
 * expressions are noise), no data, no connection details. A foreign key is rendered only
 * when both of its tables are in the schema, so a key pointing at a table the caller was
 * not granted does not leak that table's name.
 */
import type { ColumnInfo, DatabaseSchema, ForeignKey, TableInfo } from "../sql/types";

/** Words PostgreSQL reserves; an identifier spelled like one must be quoted to be used. */
const RESERVED = new Set(
  (
    "all analyse analyze and any array as asc asymmetric authorization between binary both case cast check collate " +
    "column concurrently constraint create cross current_catalog current_date current_role current_schema " +
    "current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch " +
    "for foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral " +
    "leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps " +
    "placing primary references returning right select session_user similar some symmetric system_user table tablesample " +
    "then to trailing true union unique user using variadic verbose when where window with"
  ).split(" "),
);

/** An identifier as it must be written in SQL: bare when it can be, double-quoted otherwise. */
export function quoteIdent(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` (or `table` in public) as TableInfo/ForeignKey name it, written as SQL. */
export function qualifiedName(name: string, schema?: string): string {
  if (schema && schema !== "public" && name.startsWith(`${schema}.`)) {
    return `${quoteIdent(schema)}.${quoteIdent(name.slice(schema.length + 1))}`;
  }
  const dot = name.indexOf(".");
  if (!schema && dot > 0) return `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
  return quoteIdent(name);
}

/** Comments are free text from the catalog: one line, bounded, so they cannot reshape the prompt. */
function oneLine(text: string | null, max = 240): string | null {
  if (!text) return null;
  const flat = text.replace(/\s+/g, " ").trim();
  if (!flat) return null;
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

function columnLine(column: ColumnInfo, singlePrimaryKey: boolean): string {
  let line = `  ${quoteIdent(column.name)} ${column.type}`;
  if (column.is_primary_key && singlePrimaryKey) line += " PRIMARY KEY";
  else if (!column.nullable) line += " NOT NULL";
  return line;
}

function foreignKeyLine(fk: ForeignKey): string {
  const from = fk.from_columns.map(quoteIdent).join(", ");
  const to = fk.to_columns.map(quoteIdent).join(", ");
  return `  FOREIGN KEY (${from}) REFERENCES ${qualifiedName(fk.to_table)} (${to})`;
}

function tableBlock(table: TableInfo, granted: ReadonlySet<string>): string {
  const header: string[] = [];
  const comment = oneLine(table.comment);
  const estimate = table.row_estimate !== null && table.row_estimate >= 0 ? `about ${Math.round(table.row_estimate)} rows` : null;
  if (comment || estimate) header.push(`-- ${[comment, estimate].filter(Boolean).join("; ")}`);

  const singlePk = table.primary_key.length === 1;
  const items: { definition: string; note: string | null }[] = table.columns.map((column) => ({
    definition: columnLine(column, singlePk),
    note: oneLine(column.comment),
  }));
  if (table.primary_key.length > 1) {
    items.push({ definition: `  PRIMARY KEY (${table.primary_key.map(quoteIdent).join(", ")})`, note: null });
  }
  for (const fk of table.foreign_keys) {
    if (granted.has(fk.from_table) && granted.has(fk.to_table)) items.push({ definition: foreignKeyLine(fk), note: null });
  }
  // The comma belongs to the definition, before its comment: a trailing `--` would swallow it.
  const body = items.map(({ definition, note }, i) => `${definition}${i < items.length - 1 ? "," : ""}${note ? ` -- ${note}` : ""}`);
  return [...header, `CREATE TABLE ${qualifiedName(table.name, table.schema)} (`, ...body, ");"].join("\n");
}

/** The whole granted schema as text for the model; "(no tables)" when nothing is granted. */
export function renderSchema(schema: DatabaseSchema): string {
  if (schema.tables.length === 0) return "(no tables)";
  const granted = new Set(schema.tables.map((t) => t.name));
  return schema.tables.map((t) => tableBlock(t, granted)).join("\n\n");
}
