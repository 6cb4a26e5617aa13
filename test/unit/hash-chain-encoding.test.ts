/**
 * The canonical JSON behind every event's content hash must never change: stored chains
 * were computed with it. The service's encoder is written for speed; here it is compared
 * with the plain definition (keys sorted by UTF-16 code units at every depth, undefined
 * and functions dropped from objects and written as null in arrays, everything else as
 * JSON.stringify writes it) on fixed cases and on thousands of generated values.
 */
import { describe, expect, test } from "bun:test";
import { canonicalJson } from "../../src/eventstore/hash-chain";

function definition(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === "function" ? "null" : definition(v))).join(",")}]`;
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return definition((value as { toJSON: () => unknown }).toJSON());
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === "function") continue;
    parts.push(`${JSON.stringify(key)}:${definition(v)}`);
  }
  return `{${parts.join(",")}}`;
}

/** A small deterministic generator (xorshift), so a failure can be replayed. */
function generator(seed: number) {
  let x = seed;
  const next = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 4294967296);
  const keys = ["a", "b", "Z", "10", "9", "é", "a b", "\u2028", "", "__proto_", "zz", "1e3", "-1", "01"];
  const strings = ["", "x", 'quote " and \\ backslash', "line\nbreak", "emoji 😀", "\u0000ctl", "ünïcödé"];
  const value = (depth: number): unknown => {
    const r = next();
    if (depth > 3 || r < 0.35) {
      const pick = Math.floor(next() * 9);
      return [null, true, false, 0, -1.5, 1e21, strings[Math.floor(next() * strings.length)], undefined, new Date(Math.floor(next() * 2e12))][pick];
    }
    if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(next() * 5); i > 0; i--) o[keys[Math.floor(next() * keys.length)]] = value(depth + 1);
    return o;
  };
  return value;
}

describe("canonical JSON", () => {
  test("given fixed cases (unsorted, integer-like and unicode keys, undefined, functions, dates, nesting), when encoded, then the text equals the definition", () => {
    const cases: unknown[] = [
      { b: 1, a: [3, undefined, () => 1, { d: null, c: "x" }] },
      { "10": 1, "9": 2, a: 3, "": 4 },
      { z: { y: { x: [new Date(0), "é", "\u2028"] } }, f: () => 1, u: undefined },
      [undefined, null, 0, -0, 1.25, "s"],
      "plain",
      42,
      null,
      { toJSON: () => ({ b: 2, a: 1 }) },
    ];
    for (const c of cases) expect(canonicalJson(c)).toBe(definition(c));
  });

  test("given 5,000 generated values, when encoded, then every text equals the definition", () => {
    const value = generator(20261124);
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const v = value(0);
      expect(canonicalJson(v)).toBe(definition(v));
      compared++;
    }
    expect(compared).toBe(5000);
  });
});
