/**
 * Query outcomes and model tokens for /metrics, counted where the query events are
 * appended, i.e. per API process: each process reports the queries it ran, so the
 * cluster's totals are the sum over processes (Prometheus `sum`). Counting in the usage
 * projection instead would report everything from whichever process projects.
 *
 * Called for every appended event by wiring's countingStore.
 */
import type { Metrics } from "../http/metrics";
import type { NewEvent } from "../eventstore/port";

const OUTCOME: Record<string, string> = { QueryExecuted: "executed", QueryRejected: "rejected", QueryFailed: "failed" };

export function recordQueryEvent(metrics: Metrics, event: Pick<NewEvent, "type" | "data">): void {
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
