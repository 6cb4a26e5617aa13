/**
 * Recent periods named in a question ("last month", "in 2025", "last 30 days") and the
 * predicate each puts on a date column. Periods are calendar periods computed by the
 * database (current_date, date_trunc), so they agree with the data's clock, never ours.
 * "Last N days/weeks/months" count the current one: last 7 days = today and the 6 before.
 */

export interface Period {
  /** Plain words for the explanation, e.g. "last month". */
  label: string;
  /** The predicate on the (already qualified) date column. */
  predicate(column: string): string;
  /** Word positions [start, end) the period took in the question. */
  span: [number, number];
}

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const MONTH_ABBREVIATIONS = MONTHS.map((m) => m.slice(0, 3));

type Unit = "day" | "week" | "month" | "quarter" | "year";

const UNIT: Record<string, Unit> = { day: "day", days: "day", week: "week", weeks: "week", month: "month", months: "month", quarter: "quarter", quarters: "quarter", year: "year", years: "year" };

const step = (unit: Unit, n: number) => (unit === "quarter" ? `interval '${3 * n} months'` : `interval '${n} ${unit}${n === 1 ? "" : "s"}'`);
const start = (unit: Unit) => (unit === "day" ? "current_date" : `date_trunc('${unit}', current_date)`);

function between(from: string, to: string | null) {
  return (c: string) => (to ? `${c} >= ${from} AND ${c} < ${to}` : `${c} >= ${from}`);
}

/** Finds the first period in the words, or null. */
export function findPeriod(words: string[]): Period | null {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    const after = words[i + 2];
    if (w === "today") return { label: "today", predicate: between("current_date", "current_date + 1"), span: [i, i + 1] };
    if (w === "yesterday") return { label: "yesterday", predicate: between("current_date - 1", "current_date"), span: [i, i + 1] };
    if ((w === "this" || w === "current") && next && UNIT[next] && !next.endsWith("s")) {
      const unit = UNIT[next];
      const skip = words[i - 1] === "the" ? 1 : 0;
      return { label: `this ${unit}`, predicate: between(start(unit), null), span: [i - skip, i + 2] };
    }
    if ((w === "last" || w === "past" || w === "previous") && next) {
      const skip = words[i - 1] === "the" || words[i - 1] === "in" || words[i - 1] === "over" || words[i - 1] === "during" ? 1 : 0;
      const skip2 = skip && (words[i - 2] === "over" || words[i - 2] === "in" || words[i - 2] === "during") ? 1 : 0;
      if (UNIT[next] && !next.endsWith("s")) {
        const unit = UNIT[next];
        return { label: `last ${unit}`, predicate: between(`${start(unit)} - ${step(unit, 1)}`, start(unit)), span: [i - skip - skip2, i + 2] };
      }
      if (/^\d+$/.test(next) && after && UNIT[after]) {
        const n = Math.min(Number(next), 3650);
        const unit = UNIT[after];
        if (n < 1) continue;
        return { label: `the last ${n} ${unit}${n === 1 ? "" : "s"} (including the current one)`, predicate: between(n === 1 ? start(unit) : `${start(unit)} - ${step(unit, n - 1)}`, null), span: [i - skip - skip2, i + 3] };
      }
      if (UNIT[next] && next.endsWith("s")) {
        // "over the past months" has no number; not a period we can name.
        continue;
      }
    }
    if ((w === "in" || w === "during" || w === "for" || w === "of") && next) {
      if (/^(19|20)\d\d$/.test(next)) {
        const y = Number(next);
        return { label: `in ${y}`, predicate: between(`date '${y}-01-01'`, `date '${y + 1}-01-01'`), span: [i, i + 2] };
      }
      const month = monthIndex(next);
      if (month >= 0) {
        const m = month + 1;
        if (after && /^(19|20)\d\d$/.test(after)) {
          const y = Number(after);
          const ny = m === 12 ? y + 1 : y;
          const nm = m === 12 ? 1 : m + 1;
          return { label: `in ${MONTHS[month]} ${y}`, predicate: between(`make_date(${y}, ${m}, 1)`, `make_date(${ny}, ${nm}, 1)`), span: [i, i + 3] };
        }
        // The most recent such month: this year's if it has begun, else last year's.
        const first = `make_date(extract(year from current_date)::int - (CASE WHEN ${m} > extract(month from current_date) THEN 1 ELSE 0 END), ${m}, 1)`;
        return { label: `in ${MONTHS[month]} (the most recent one)`, predicate: between(first, `(${first} + interval '1 month')`), span: [i, i + 2] };
      }
    }
  }
  return null;
}

function monthIndex(word: string): number {
  const full = MONTHS.indexOf(word);
  if (full >= 0) return full;
  // "may" is also a verb; only the full names and unambiguous abbreviations count.
  const abbreviation = MONTH_ABBREVIATIONS.indexOf(word);
  return abbreviation >= 0 && word !== "may" && word !== "mar" ? abbreviation : -1;
}

/** "monthly", "per day", "by week"... → the trend's unit, and the words it took. */
export function findTrend(words: string[]): { unit: Unit; span: [number, number] } | null {
  const adjectives: Record<string, Unit> = { daily: "day", weekly: "week", monthly: "month", quarterly: "quarter", yearly: "year", annual: "year", annually: "year" };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (adjectives[w]) return { unit: adjectives[w], span: [i, i + 1] };
    const next = words[i + 1];
    if ((w === "per" || w === "by" || w === "each" || w === "every") && next && UNIT[next] && !next.endsWith("s")) {
      const skip = (w === "each" || w === "every") && (words[i - 1] === "for" || words[i - 1] === "in") ? 1 : 0;
      return { unit: UNIT[next], span: [i - skip, i + 2] };
    }
    if ((w === "month" || w === "day" || w === "week" || w === "year") && next === "by" && words[i + 2] === w) return { unit: UNIT[w], span: [i, i + 3] };
  }
  return null;
}
