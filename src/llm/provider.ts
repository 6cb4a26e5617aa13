/**
 * Which translator the service uses: Anthropic when an API key is configured, otherwise
 * the built-in, schema-aware translator, so that questions still get answers (SPEC:
 * without a key the service still works).
 */
import type { Config } from "../config";
import type { Translator } from "../sql/types";
import { AnthropicTranslator } from "./anthropic";

export interface TranslatorOptions {
  /** Per HTTP attempt to the provider, ms (default 30 s). */
  timeoutMs?: number;
  /** SDK retries after the first attempt (default 1). */
  maxRetries?: number;
}

type ProviderConfig = Pick<Config, "anthropicApiKey" | "anthropicBaseUrl" | "anthropicModel">;

export function createTranslator(config: ProviderConfig, options: TranslatorOptions = {}): Translator {
  if (config.anthropicApiKey) {
    return new AnthropicTranslator({
      apiKey: config.anthropicApiKey,
      model: config.anthropicModel,
      baseURL: config.anthropicBaseUrl,
      timeoutMs: options.timeoutMs,
      maxRetries: options.maxRetries,
    });
  }
  return builtinTranslator();
}

/** The built-in translator's model name (fixed by its contract: provider "builtin"). */
export const BUILTIN_MODEL = "builtin-translator";

/** For GET /chat/status: which provider answers, with which model; never the key itself. */
export function describeProvider(config: ProviderConfig): { provider: "anthropic" | "builtin"; model: string; key_configured: boolean } {
  return config.anthropicApiKey
    ? { provider: "anthropic", model: config.anthropicModel, key_configured: true }
    : { provider: "builtin", model: BUILTIN_MODEL, key_configured: false };
}

/**
 * Loaded on first use: a service with a key never needs the built-in translator's code,
 * and the two modules are written independently of each other.
 */
function builtinTranslator(): Translator {
  const module = require("./builtin") as { BuiltinTranslator?: new () => Translator };
  if (typeof module.BuiltinTranslator !== "function") {
    throw new Error("src/llm/builtin.ts does not export the BuiltinTranslator class");
  }
  return new module.BuiltinTranslator();
}
