/**
 * Query outcomes and model tokens for /metrics, counted where the query events are
 * appended, i.e. per API process: each process reports the queries it ran, so the
 * cluster's totals are the sum over processes (Prometheus `sum`). Counting in the usage
 * projection instead would report everything from whichever process projects.
 *
 * Installed over `deps.store.append` the way wiring's countingStore counts appended
 * events; idempotent per store.
 */
import type { Deps } from "../deps";
import type { NewEvent } from "../eventstore/port";

const OUTCOME: Record<string, string> = { QueryExecuted: "executed", QueryRejected: "rejected", QueryFailed: "failed" };
const instrumented = new WeakSet<object>();

export function recordQueryEvent(metrics: Deps["metrics"], event: Pick<NewEvent, "type" | "data">): void {
  const outcome = OUTCOME[event.type];
  if (!outcome) return;
  const d = event.data as { source?: unknown; model?: unknown; usage?: { input_tokens?: unknown; output_tokens?: unknown } };
  const source = d.source === "sql" || d.source === "chat" ? d.source : "question";
  const model = typeof d.model === "string" && d.model ? d.model.slice(0, 100) : "unknown";
  metrics.incCounter("ledgerline_queries_total", "Queries by outcome (executed, rejected, failed) and source, appended by this process.", { outcome, source });
  for (const direction of ["input", "output"] as const) {
    const n = Number(d.usage?.[`${direction}_tokens`] ?? 0);
    if (Number.isFinite(n) && n > 0) {
      metrics.incCounter("ledgerline_model_tokens_total", "Language-model tokens of the queries appended by this process, by model and direction.", { model, direction }, n);
    }
  }
}

export function instrumentUsageMetrics(deps: Pick<Deps, "store" | "metrics">): void {
  const store = deps.store;
  if (instrumented.has(store)) return;
  instrumented.add(store);
  const append = store.append.bind(store);
  store.append = async (streamId, events, expected) => {
    const result = await append(streamId, events, expected);
    for (const e of events) recordQueryEvent(deps.metrics, e);
    return result;
  };
}
