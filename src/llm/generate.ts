/**
 * Question -> checked SQL: translate, check with the guard, and when the guard refuses,
 * ask once more with the refused SQL and the guard's reasons. One retry only: a model
 * that fails twice is not going to be talked round, and every attempt costs tokens.
 *
 * Pure orchestration: the caller decides what to do with an invalid final verdict (a
 * QueryRejected event), runs a valid one, and accounts the summed usage either way.
 * Translator errors (CannotTranslateError, LlmProviderError) propagate unchanged; when
 * the retry is the one that fails, the tokens of the first attempt are added to the
 * error's usage so that no spent token goes unaccounted.
 */
import { CannotTranslateError, type GuardVerdict, type Translation, type TranslationRequest, type Translator } from "../sql/types";
import { LlmProviderError, type LlmUsage } from "./errors";

export interface GeneratedSql {
  /** The last translation: the accepted one, or the second refused one. */
  translation: Translation;
  verdict: GuardVerdict;
  /** 1 when the first SQL passed the guard, 2 when a retry was made. */
  attempts: 1 | 2;
  /** Tokens of all attempts together. */
  usage: LlmUsage;
}

const add = (a: LlmUsage, b: LlmUsage): LlmUsage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
});

export async function generateSql(
  translator: Translator,
  request: TranslationRequest,
  check: (sql: string) => GuardVerdict,
): Promise<GeneratedSql> {
  // A stale previousAttempt from the caller would make the first call look like a retry.
  const { previousAttempt: _ignored, ...fresh } = request;
  const first = await translator.translate(fresh);
  const firstVerdict = check(first.sql);
  if (firstVerdict.valid) return { translation: first, verdict: firstVerdict, attempts: 1, usage: { ...first.usage } };

  let second: Translation;
  try {
    second = await translator.translate({ ...fresh, previousAttempt: { sql: first.sql, errors: firstVerdict.errors } });
  } catch (err) {
    throw withEarlierUsage(err, first.usage);
  }
  return { translation: second, verdict: check(second.sql), attempts: 2, usage: add(first.usage, second.usage) };
}

function withEarlierUsage(err: unknown, earlier: LlmUsage): unknown {
  if (err instanceof CannotTranslateError) {
    const combined = new CannotTranslateError(err.message, add(earlier, err.usage), err.model);
    combined.stack = err.stack;
    return combined;
  }
  if (err instanceof LlmProviderError) {
    const combined = new LlmProviderError(err.kind, { ...err.details, usage: add(earlier, err.details.usage ?? { input_tokens: 0, output_tokens: 0 }) });
    combined.stack = err.stack;
    return combined;
  }
  return err;
}
