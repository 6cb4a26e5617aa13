/** Words of a question, normalised so that table and column names can be matched against them. */

const NUMBER_WORDS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, fifteen: 15, twenty: 20, thirty: 30, fifty: 50, hundred: 100,
};

/** Lower case, number words as digits, "best-selling" as two words, punctuation gone. */
export function words(question: string): string[] {
  return question
    .toLowerCase()
    .normalize("NFKC")
    .replace(/[’']s\b/g, "")
    .replace(/[^a-z0-9_\s-]/g, " ")
    .replace(/-/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => (w in NUMBER_WORDS ? String(NUMBER_WORDS[w]) : w));
}

const IRREGULAR: Record<string, string> = { people: "person", children: "child", men: "man", women: "woman", data: "data", status: "status", statuses: "status", address: "address", addresses: "address", series: "series", analysis: "analysis", sales: "sales" };

/** A crude English singular, enough for table names (categories → category, boxes → box). */
export function singular(word: string): string {
  if (word in IRREGULAR) return IRREGULAR[word];
  if (word.length <= 3) return word;
  if (word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (/(ss|us|is)$/.test(word)) return word;
  if (/(sses|xes|ches|shes|zes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith("s")) return word.slice(0, -1);
  return word;
}

/** Words of an identifier: `order_items` → ["order", "item"], `createdAt` → ["created", "at"]. */
export function identifierWords(name: string): string[] {
  return name
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map(singular);
}

/** "order_items" → "order items"; for explanations. */
export function spoken(name: string): string {
  return name.split(".").pop()!.replace(/_/g, " ");
}

/** A readable column alias: lower snake case, no quoting needed. */
export function alias(phrase: string): string {
  return phrase.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "value";
}
