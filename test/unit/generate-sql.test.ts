/**
 * generateSql: translate, check, retry once with the guard's reasons. The translator here
 * is a scripted in-memory Translator (the port, not a mock of a database); the provider
 * itself is tested against the HTTP stub in test/integration/anthropic-provider.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { LlmProviderError } from "../../src/llm/errors";
import { generateSql } from "../../src/llm/generate";
import { CannotTranslateError, type GuardVerdict, type Translation, type TranslationRequest, type Translator } from "../../src/sql/types";

type Step = Translation | Error;

/** Answers each translate() with the next scripted step and records what it was asked. */
class ScriptedTranslator implements Translator {
  readonly provider = "scripted";
  readonly model = "scripted-1";
  readonly requests: TranslationRequest[] = [];
  constructor(private readonly steps: Step[]) {}
  async translate(request: TranslationRequest): Promise<Translation> {
    this.requests.push(structuredClone(request));
    const step = this.steps.shift();
    if (!step) throw new Error("ScriptedTranslator: no step left (an unexpected extra call)");
    if (step instanceof Error) throw step;
    return step;
  }
}

const translation = (sql: string, input_tokens: number, output_tokens: number): Translation => ({
  sql,
  explanation: `explains ${sql}`,
  model: "scripted-1",
  usage: { input_tokens, output_tokens },
});

/** Refuses SQL that reads `secrets`; records every SQL it was shown. */
function recordingGuard() {
  const seen: string[] = [];
  const check = (sql: string): GuardVerdict => {
    seen.push(sql);
    return /secrets/.test(sql)
      ? { valid: false, statement_type: "SELECT", tables: ["secrets"], errors: ["table secrets is not granted"] }
      : { valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] };
  };
  return { check, seen };
}

const request: TranslationRequest = {
  question: "How many orders per month?",
  schema: { tables: [], relationships: [] },
  history: [{ role: "user", content: "earlier question" }],
};

describe("generateSql, given a translator whose first SQL the guard accepts", () => {
  test("when generating / then one attempt, the guard's verdict, and that attempt's usage", async () => {
    const translator = new ScriptedTranslator([translation("SELECT count(*) FROM orders", 100, 10)]);
    const guard = recordingGuard();

    const result = await generateSql(translator, request, guard.check);

    expect(result.attempts).toBe(1);
    expect(result.verdict).toEqual({ valid: true, statement_type: "SELECT", tables: ["orders"], errors: [] });
    expect(result.translation.sql).toBe("SELECT count(*) FROM orders");
    expect(result.usage).toEqual({ input_tokens: 100, output_tokens: 10 });
    expect(translator.requests).toHaveLength(1);
    expect(translator.requests[0].previousAttempt).toBeUndefined();
    expect(guard.seen).toEqual(["SELECT count(*) FROM orders"]);
  });

  test("when the caller passes a stale previousAttempt / then the first call is still a fresh one", async () => {
    const translator = new ScriptedTranslator([translation("SELECT 1", 1, 1)]);

    await generateSql(translator, { ...request, previousAttempt: { sql: "SELECT old", errors: ["old"] } }, recordingGuard().check);

    expect(translator.requests[0].previousAttempt).toBeUndefined();
    expect(translator.requests[0].question).toBe(request.question);
    expect(translator.requests[0].history).toEqual(request.history!);
  });
});

describe("generateSql, given a first SQL the guard refuses", () => {
  test("when the retry is accepted / then attempts 2, the retry saw the refused SQL and reasons, and usage is summed", async () => {
    const translator = new ScriptedTranslator([translation("SELECT * FROM secrets", 100, 10), translation("SELECT count(*) FROM orders", 140, 12)]);
    const guard = recordingGuard();

    const result = await generateSql(translator, request, guard.check);

    expect(result.attempts).toBe(2);
    expect(result.verdict.valid).toBe(true);
    expect(result.translation.sql).toBe("SELECT count(*) FROM orders");
    expect(result.usage).toEqual({ input_tokens: 240, output_tokens: 22 });
    expect(translator.requests[1]).toEqual({
      ...request,
      previousAttempt: { sql: "SELECT * FROM secrets", errors: ["table secrets is not granted"] },
    });
    expect(guard.seen).toEqual(["SELECT * FROM secrets", "SELECT count(*) FROM orders"]);
  });

  test("when the retry is refused too / then the invalid verdict is returned after exactly two calls", async () => {
    // A third step is scripted so that an extra call would succeed (and be noticed) rather than throw.
    const translator = new ScriptedTranslator([
      translation("SELECT * FROM secrets", 5, 1),
      translation("SELECT s.* FROM secrets s", 6, 2),
      translation("SELECT 1", 7, 3),
    ]);

    const result = await generateSql(translator, request, recordingGuard().check);

    expect(result.attempts).toBe(2);
    expect(result.verdict).toEqual({ valid: false, statement_type: "SELECT", tables: ["secrets"], errors: ["table secrets is not granted"] });
    expect(result.translation.sql).toBe("SELECT s.* FROM secrets s");
    expect(result.usage).toEqual({ input_tokens: 11, output_tokens: 3 });
    expect(translator.requests).toHaveLength(2);
  });

  test("when the retry says it cannot answer / then CannotTranslateError carrying the tokens of both attempts", async () => {
    const translator = new ScriptedTranslator([
      translation("SELECT * FROM secrets", 100, 10),
      new CannotTranslateError("Only granted tables can be used.", { input_tokens: 50, output_tokens: 5 }, "scripted-1"),
    ]);

    const err = await generateSql(translator, request, recordingGuard().check).catch((e) => e);

    expect(err).toBeInstanceOf(CannotTranslateError);
    expect(err.message).toBe("Only granted tables can be used.");
    expect(err.usage).toEqual({ input_tokens: 150, output_tokens: 15 });
    expect(err.model).toBe("scripted-1");
  });

  test("when the retry fails at the provider / then the same kind of LlmProviderError, with the first attempt's tokens added", async () => {
    const translator = new ScriptedTranslator([
      translation("SELECT * FROM secrets", 100, 10),
      new LlmProviderError("rate_limited", { status: 429, retryAfterSeconds: 20 }),
    ]);

    const err = await generateSql(translator, request, recordingGuard().check).catch((e) => e);

    expect(err).toBeInstanceOf(LlmProviderError);
    expect(err.kind).toBe("rate_limited");
    expect(err.details.retryAfterSeconds).toBe(20);
    expect(err.details.usage).toEqual({ input_tokens: 100, output_tokens: 10 });
  });
});

describe("generateSql, given a translator that fails at once", () => {
  test("when it cannot answer / then that error propagates unchanged and the guard is never called", async () => {
    const original = new CannotTranslateError("No table about weather.", { input_tokens: 30, output_tokens: 4 }, "scripted-1");
    const translator = new ScriptedTranslator([original]);
    const guard = recordingGuard();

    const err = await generateSql(translator, request, guard.check).catch((e) => e);

    expect(err).toBe(original);
    expect(guard.seen).toEqual([]);
    expect(translator.requests).toHaveLength(1);
  });
});
