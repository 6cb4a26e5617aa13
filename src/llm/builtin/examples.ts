/**
 * Example questions built from the schema at hand (its tables and columns, not a fixed
 * list), each checked to translate, so a refusal can show what would work instead.
 */
import { plan } from "./plan";
import { readQuestion } from "./question";
import { displayOf, type SchemaModel } from "./schema-model";
import { spoken } from "./text";

export function exampleQuestions(model: SchemaModel, max = 5): string[] {
  // Tables a line of sales refers to directly (products) make better examples than remote ones (categories).
  const lines = model.tables.filter((t) => t.columns.some((c) => c.role === "quantity") || t.columns.some((c) => c.role === "amount"));
  const nearness = (t: (typeof model.tables)[number]) => Math.min(...lines.map((l) => model.upward(l).get(t)?.length ?? 99), 99);
  const named = model.tables.filter((t) => displayOf(t) && !lines.includes(t)).sort((a, b) => nearness(a) - nearness(b));
  const categorical = model.tables.flatMap((t) => t.columns.filter((c) => c.role === "category").map((c) => ({ table: t, column: c })));
  const withAmount = model.tables.filter((t) => t.columns.some((c) => c.role === "amount"));
  const candidates: string[] = [];
  for (const t of named) candidates.push(`Top 5 ${spoken(t.name)} by revenue last month`);
  for (const t of named) candidates.push(`Top 5 best selling ${spoken(t.name)} this year`);
  for (const { table, column } of categorical) candidates.push(`Number of ${spoken(table.name)} per ${spoken(column.name)}`);
  candidates.push("Monthly revenue over the last 12 months");
  for (const t of withAmount) for (const { column } of categorical) candidates.push(`Average ${spoken(t.name).replace(/s$/, "")} value by ${spoken(column.name)}`);
  candidates.push("Total revenue this year");
  for (const t of model.tables) candidates.push(`How many ${spoken(t.name)} are there?`);

  const examples: string[] = [];
  const shapes = new Set<string>();
  for (const question of candidates) {
    // One example per shape, so the list shows the range of what can be asked.
    const shape = question.split(" ").slice(0, 2).join(" ");
    if (shapes.has(shape)) continue;
    try {
      plan(readQuestion(question, model), model);
    } catch {
      continue;
    }
    shapes.add(shape);
    examples.push(question);
    if (examples.length >= max) break;
  }
  return examples;
}
