/**
 * An idempotent request: what became of one principal's `Idempotency-Key`. Stream
 * `idempotency-<sha256(principal id + key)>` (see handlers/idempotency.ts).
 *
 * A key is free, in progress (an attempt holds it), or completed (its response is kept
 * and replayed). The first attempt's request fingerprint stays with the key: the same
 * key with another request is refused rather than answered with the wrong result.
 * An attempt that failed gives the key back (`IdempotentRequestAbandoned`): a failed
 * request changed nothing visible, so running it again is what a retry should do.
 * An attempt holds the key for a lease only: a process that died mid-request does not
 * block the key forever. A completed response is kept for a retention period, after
 * which the key may be used again.
 */
import { DomainError } from "./errors";

export type IdempotencyEvent =
  | {
      type: "IdempotentRequestStarted";
      data: { attempt_id: string; operation: string; request_hash: string; started_at: string };
    }
  | {
      type: "IdempotentRequestCompleted";
      /** `body` is the response as sent (a JSON text): replayed byte for byte. Never a secret. */
      data: { attempt_id: string; status: number; body: string; completed_at: string };
    }
  | { type: "IdempotentRequestAbandoned"; data: { attempt_id: string; reason: string } };

export type IdempotencyCommand =
  | { type: "StartRequest"; attemptId: string; operation: string; requestHash: string; at: Date; leaseMs: number; retentionMs: number }
  | { type: "CompleteRequest"; attemptId: string; status: number; body: string; at: Date }
  | { type: "AbandonRequest"; attemptId: string; reason: string };

export type IdempotencyState =
  | { status: "free" }
  | { status: "in_progress"; attemptId: string; operation: string; requestHash: string; startedAt: Date }
  | {
      status: "completed";
      attemptId: string;
      operation: string;
      requestHash: string;
      response: { status: number; body: string };
      completedAt: Date;
    };

export const idempotency = {
  initialState: (): IdempotencyState => ({ status: "free" }),

  evolve(state: IdempotencyState, event: IdempotencyEvent): IdempotencyState {
    switch (event.type) {
      case "IdempotentRequestStarted": {
        const d = event.data;
        return { status: "in_progress", attemptId: d.attempt_id, operation: d.operation, requestHash: d.request_hash, startedAt: new Date(d.started_at) };
      }
      case "IdempotentRequestCompleted": {
        if (state.status !== "in_progress" || state.attemptId !== event.data.attempt_id) return state;
        const d = event.data;
        return {
          status: "completed",
          attemptId: d.attempt_id,
          operation: state.operation,
          requestHash: state.requestHash,
          response: { status: d.status, body: d.body },
          completedAt: new Date(d.completed_at),
        };
      }
      case "IdempotentRequestAbandoned":
        return state.status === "in_progress" && state.attemptId === event.data.attempt_id ? { status: "free" } : state;
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: IdempotencyCommand, state: IdempotencyState): IdempotencyEvent[] {
    switch (command.type) {
      case "StartRequest": {
        const started: IdempotencyEvent = {
          type: "IdempotentRequestStarted",
          data: { attempt_id: command.attemptId, operation: command.operation, request_hash: command.requestHash, started_at: command.at.toISOString() },
        };
        if (state.status === "free") return [started];
        const age = command.at.getTime() - (state.status === "completed" ? state.completedAt : state.startedAt).getTime();
        // A kept response past its retention, or an attempt past its lease, no longer holds the key.
        if (state.status === "completed" && age >= command.retentionMs) return [started];
        if (state.status === "in_progress" && age >= command.leaseMs) return [started];
        if (state.operation !== command.operation || state.requestHash !== command.requestHash) {
          const message = "This Idempotency-Key was already used with a different request; use a new key for a new request";
          throw new DomainError("validation", message, { errors: [{ path: "/headers/idempotency-key", message }] });
        }
        if (state.status === "in_progress") {
          throw new DomainError("conflict", "A request with this Idempotency-Key is still in progress; retry shortly", { retryAfterSeconds: 1 });
        }
        // Completed with the same request: nothing to do, the caller replays the response.
        return [];
      }
      case "CompleteRequest":
        if (state.status !== "in_progress" || state.attemptId !== command.attemptId) {
          throw new DomainError("conflict", "This attempt no longer holds its Idempotency-Key");
        }
        return [
          {
            type: "IdempotentRequestCompleted",
            data: { attempt_id: command.attemptId, status: command.status, body: command.body, completed_at: command.at.toISOString() },
          },
        ];
      case "AbandonRequest":
        if (state.status !== "in_progress" || state.attemptId !== command.attemptId) return [];
        return [{ type: "IdempotentRequestAbandoned", data: { attempt_id: command.attemptId, reason: command.reason } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
