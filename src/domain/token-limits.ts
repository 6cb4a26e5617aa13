/**
 * Token limits of one organization. Stream `token_limits-<organization id>`.
 * Each TokenLimitsSet carries the whole configuration (not a diff), so the current
 * limits are the last event's data: the limiter reads one event, in any process.
 *
 * A limit of null means unlimited. Until an admin sets anything the defaults apply:
 * generous guards against a runaway client, not a business quota.
 */
import { DomainError } from "./errors";

export interface TokenLimits {
  /** LLM tokens (input + output) one user may spend per UTC day. */
  user_daily_tokens: number | null;
  /** LLM tokens the whole organization may spend per UTC calendar month. */
  organization_monthly_tokens: number | null;
  /** Natural-language queries (POST /query, /query/sql) per user per minute. */
  query_requests_per_minute: number | null;
  /** Chat turns per user per minute. */
  chat_requests_per_minute: number | null;
}

export const DEFAULT_TOKEN_LIMITS: Readonly<TokenLimits> = {
  user_daily_tokens: 2_000_000,
  organization_monthly_tokens: 50_000_000,
  query_requests_per_minute: 600,
  chat_requests_per_minute: 600,
};

export const LIMIT_FIELDS = ["user_daily_tokens", "organization_monthly_tokens", "query_requests_per_minute", "chat_requests_per_minute"] as const;

/** Tokens up to 10^12, requests per minute up to 10^6: beyond either a limit is no limit. */
const MAXIMUM: Record<keyof TokenLimits, number> = {
  user_daily_tokens: 1e12,
  organization_monthly_tokens: 1e12,
  query_requests_per_minute: 1e6,
  chat_requests_per_minute: 1e6,
};

export type TokenLimitsEvent = {
  type: "TokenLimitsSet";
  data: TokenLimits & { organization_id: string; previous: TokenLimits };
};

export type TokenLimitsCommand = { type: "SetTokenLimits"; organizationId: string; changes: Partial<TokenLimits> };

export interface TokenLimitsState {
  organizationId: string | null;
  /** Null until the organization's admins set anything: the defaults apply. */
  limits: TokenLimits | null;
}

export function effectiveLimits(state: TokenLimitsState): TokenLimits {
  return state.limits ?? { ...DEFAULT_TOKEN_LIMITS };
}

export const tokenLimits = {
  initialState: (): TokenLimitsState => ({ organizationId: null, limits: null }),

  evolve(state: TokenLimitsState, event: TokenLimitsEvent): TokenLimitsState {
    switch (event.type) {
      case "TokenLimitsSet": {
        const { organization_id, previous: _previous, ...limits } = event.data;
        return { organizationId: organization_id, limits };
      }
      default: {
        const _exhaustive: never = event.type;
        return state;
      }
    }
  },

  decide(command: TokenLimitsCommand, state: TokenLimitsState): TokenLimitsEvent[] {
    switch (command.type) {
      case "SetTokenLimits": {
        const errors: Array<{ path: string; message: string }> = [];
        for (const field of LIMIT_FIELDS) {
          const v = command.changes[field];
          if (v === undefined || v === null) continue;
          if (!Number.isInteger(v) || v < 0 || v > MAXIMUM[field]) errors.push({ path: `/body/${field}`, message: `${field} must be an integer from 0 to ${MAXIMUM[field]}, or null for no limit` });
        }
        if (errors.length > 0) throw new DomainError("validation", errors.map((e) => e.message).join("; "), { errors });
        const current = effectiveLimits(state);
        const next: TokenLimits = { ...current };
        for (const field of LIMIT_FIELDS) if (command.changes[field] !== undefined) next[field] = command.changes[field]!;
        if (state.limits !== null && LIMIT_FIELDS.every((f) => next[f] === current[f])) return [];
        return [{ type: "TokenLimitsSet", data: { organization_id: command.organizationId, ...next, previous: current } }];
      }
      default: {
        const _exhaustive: never = command.type;
        return [];
      }
    }
  },
};
