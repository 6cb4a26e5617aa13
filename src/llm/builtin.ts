/**
 * The built-in translator: turns common questions into one PostgreSQL SELECT without a
 * language model, for a service running without ANTHROPIC_API_KEY. It reads only the
 * DatabaseSchema it is given — the tables the caller's grants cover — and works from their
 * names, types, comments and foreign keys, so it knows no particular database. Shapes it
 * answers: top N by a measure, count/sum/average per group, totals, recent periods,
 * and daily/weekly/monthly trends. Anything else is refused plainly, with examples.
 */
import { CannotTranslateError, type Translation, type TranslationRequest, type Translator } from "../sql/types";
import { exampleQuestions } from "./builtin/examples";
import { plan, Unanswerable } from "./builtin/plan";
import { readQuestion } from "./builtin/question";
import { SchemaModel } from "./builtin/schema-model";

export const BUILTIN_MODEL = "builtin-translator";
const NO_USAGE = { input_tokens: 0, output_tokens: 0 };

export class BuiltinTranslator implements Translator {
  readonly provider = "builtin";
  readonly model = BUILTIN_MODEL;

  async translate(request: TranslationRequest): Promise<Translation> {
    const model = new SchemaModel(request.schema);
    if (!model.tables.length) throw this.refuse("No tables are available to you in this data source, so there is nothing to query.", model);
    const question = request.question.trim();
    if (!question) throw this.refuse("The question is empty.", model);
    try {
      const { sql, explanation } = plan(readQuestion(question, model), model);
      return { sql, explanation, model: this.model, usage: { ...NO_USAGE } };
    } catch (err) {
      if (err instanceof Unanswerable) throw this.refuse(err.message, model);
      throw err;
    }
  }

  private refuse(reason: string, model: SchemaModel): CannotTranslateError {
    const examples = model.tables.length ? exampleQuestions(model) : [];
    const message = [
      reason,
      "Without a language model configured, questions are answered by a built-in translator that handles rankings (top N by revenue, units or count), counts, totals and averages per group, recent periods (today, last month, last 30 days, this year, in 2025) and daily or monthly trends.",
      examples.length ? `For example: ${examples.map((e) => `"${e}"`).join("; ")}.` : "",
    ].filter(Boolean).join(" ");
    return new CannotTranslateError(message, { ...NO_USAGE }, BUILTIN_MODEL);
  }
}

export function createBuiltinTranslator(): Translator {
  return new BuiltinTranslator();
}
