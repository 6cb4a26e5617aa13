/**
 * Limits on language-model use, enforced before the model is called:
 *
 * - requests per user per minute, per kind (query, chat): a counter row per
 *   (user, kind, window), incremented only while under the limit;
 * - a user's daily token budget and its organization's monthly one: a row per budget and
 *   period holding `spent` (settled) and `reserved` (calls in flight).
 *
 * `beforeModelCall` takes the rate slot and reserves an estimate on both budgets in one
 * transaction: `UPDATE ... SET reserved = reserved + n WHERE spent + reserved + n <= limit`,
 * so concurrent callers, in this process or any other on the same database, cannot
 * together pass a budget; a refusal rolls the whole transaction back. `afterModelCall`
 * settles the real usage and frees the reservation; `release` frees it when the call
 * never happened. A budget can therefore be overspent only by what a call uses beyond
 * its estimate, which is the largest recent call of the user: at most about one query.
 *
 * A reservation whose process dies before settling stays reserved until its period ends
 * (a day, a month): the budget errs on the side of refusing.
 */
import type { Deps } from "../deps";
import { DomainError } from "../domain/errors";
import type { Queryable } from "../db/client";
import type { TokenLimits } from "../domain/token-limits";
import { readLimits } from "./config";
import { RATE_WINDOW_MS, dayStart, monthStart, nextDay, nextMonth, secondsUntil, windowStart } from "./periods";

export type ModelCallKind = "query" | "chat";

/** Who calls the model: a principal (from the auth macro) fits. */
export interface Caller {
  userId: string;
  organizationId: string;
}

export interface Reservation {
  readonly id: string;
  readonly organizationId: string;
  readonly userId: string;
  readonly kind: ModelCallKind;
  /** Tokens reserved on both budgets. */
  readonly estimate: number;
  readonly day: string;
  readonly month: string;
}

export interface ModelUsage {
  input_tokens: number;
  output_tokens: number;
}

/** Reserved for a user's first call, before the ledger knows what its calls cost. */
export const DEFAULT_ESTIMATE = 2_000;
/** How many of the user's latest calls the estimate looks at (their largest). */
const ESTIMATE_SAMPLE = 20;

export type LimitName = "rate" | "user_daily_tokens" | "organization_monthly_tokens";

/** 429 with Retry-After (DomainError "too_many"); `limit` says which limit refused. */
export class LimitExceededError extends DomainError {
  constructor(
    readonly limit: LimitName,
    message: string,
    retryAfterSeconds: number,
  ) {
    super("too_many", message, { retryAfterSeconds });
    this.name = "LimitExceededError";
  }
}

// ------------------------------------------------------------------- clock (tests)

const clocks = new WeakMap<object, () => Date>();

/** Tests move time instead of sleeping: the limiter of `deps` reads this clock. */
export function setLimiterClock(deps: object, now: (() => Date) | null): void {
  if (now) clocks.set(deps, now);
  else clocks.delete(deps);
}

export function limiterNow(deps: object): Date {
  return clocks.get(deps)?.() ?? new Date();
}

// ------------------------------------------------------------------------- the API

const owners = new WeakMap<Reservation, Pick<Deps, "db">>();
const finished = new WeakSet<Reservation>();

/**
 * Checks the caller's request rate and both token budgets and reserves `estimate` tokens
 * (default: the largest of the user's recent calls). Throws LimitExceededError (429)
 * over any limit, having changed nothing.
 */
export async function beforeModelCall(
  deps: Pick<Deps, "db" | "store" | "metrics">,
  caller: Caller,
  kind: ModelCallKind,
  options: { estimate?: number } = {},
): Promise<Reservation> {
  const now = limiterNow(deps);
  const { limits } = await readLimits(deps, caller.organizationId);
  const estimate = Math.max(0, Math.round(options.estimate ?? (await estimateTokens(deps, caller))));
  const reservation: Reservation = {
    id: Bun.randomUUIDv7(),
    organizationId: caller.organizationId,
    userId: caller.userId,
    kind,
    estimate,
    day: dayStart(now),
    month: monthStart(now),
  };
  try {
    await deps.db.transaction(async (tx) => {
      await takeRateSlot(tx, caller.userId, kind, rateLimitOf(limits, kind), now);
      await reserve(tx, reservation, "day", caller.userId, limits.user_daily_tokens, now);
      await reserve(tx, reservation, "month", caller.organizationId, limits.organization_monthly_tokens, now);
    });
  } catch (err) {
    if (err instanceof LimitExceededError) {
      deps.metrics.incCounter("ledgerline_rate_limited_requests_total", "Model calls refused with 429, by kind and the limit that refused them (this process).", { kind, limit: err.limit });
    }
    throw err;
  }
  owners.set(reservation, deps);
  return reservation;
}

/** Settles the real usage on both budgets and frees the reservation. A second call is a no-op. */
export async function afterModelCall(deps: Pick<Deps, "db">, reservation: Reservation, usage: ModelUsage): Promise<void> {
  if (finished.has(reservation)) return;
  finished.add(reservation);
  const spent = Math.max(0, Math.round((usage.input_tokens || 0) + (usage.output_tokens || 0)));
  await settle(deps.db, reservation, spent, 1);
}

/** Frees a reservation whose model call did not happen or used nothing. A second call is a no-op. */
export async function release(reservation: Reservation): Promise<void> {
  if (finished.has(reservation)) return;
  const deps = owners.get(reservation);
  if (!deps) return;
  finished.add(reservation);
  await settle(deps.db, reservation, 0, 0);
}

export function rateLimitOf(limits: TokenLimits, kind: ModelCallKind): number | null {
  return kind === "query" ? limits.query_requests_per_minute : limits.chat_requests_per_minute;
}

// ----------------------------------------------------------------------- internals

async function estimateTokens(deps: Pick<Deps, "db">, caller: Caller): Promise<number> {
  const rows = await deps.db.query<{ calls: number; largest: string | null }>(
    `SELECT count(*)::int AS calls, max(input_tokens + output_tokens)::text AS largest
       FROM (SELECT input_tokens, output_tokens FROM usage_queries
              WHERE user_id = $1 AND organization_id = $2 ORDER BY occurred_at DESC LIMIT ${ESTIMATE_SAMPLE}) recent`,
    [caller.userId, caller.organizationId],
  );
  const row = rows[0];
  if (!row || row.calls === 0) return DEFAULT_ESTIMATE;
  return Number(row.largest ?? 0);
}

async function takeRateSlot(tx: Queryable, userId: string, kind: ModelCallKind, limit: number | null, now: Date): Promise<void> {
  if (limit === null) return;
  const start = windowStart(now);
  const retryAfter = () => secondsUntil(now, new Date(start.getTime() + RATE_WINDOW_MS));
  const refuse = () => new LimitExceededError("rate", `Rate limit reached: ${limit} ${kind} requests per minute; retry after the window`, retryAfter());
  if (limit <= 0) throw refuse();
  const rows = await tx.query<{ count: number }>(
    `INSERT INTO rate_limit_counters AS c (user_id, kind, window_start, count) VALUES ($1, $2, $3, 1)
     ON CONFLICT ON CONSTRAINT rate_limit_counters_pkey DO UPDATE SET count = c.count + 1 WHERE c.count < $4
     RETURNING count`,
    [userId, kind, start.toISOString(), limit],
  );
  if (rows.length === 0) throw refuse();
  // A user's first request of a window clears its old windows: the table stays small.
  if (rows[0].count === 1) {
    await tx.query("DELETE FROM rate_limit_counters WHERE user_id = $1 AND kind = $2 AND window_start < $3", [userId, kind, start.toISOString()]);
  }
}

async function reserve(tx: Queryable, r: Reservation, period: "day" | "month", subjectId: string, limit: number | null, now: Date): Promise<void> {
  const periodStart = period === "day" ? r.day : r.month;
  await tx.query(
    `INSERT INTO token_budget_usage (organization_id, user_id, period, period_start) VALUES ($1, $2, $3, $4)
     ON CONFLICT ON CONSTRAINT token_budget_usage_pkey DO NOTHING`,
    [r.organizationId, subjectId, period, periodStart],
  );
  const rows = await tx.query(
    `UPDATE token_budget_usage SET reserved = reserved + $5
      WHERE organization_id = $1 AND user_id = $2 AND period = $3 AND period_start = $4
        AND ($6::bigint IS NULL OR spent + reserved + $5 <= $6::bigint)
      RETURNING spent`,
    [r.organizationId, subjectId, period, periodStart, r.estimate, limit],
  );
  if (rows.length > 0) return;
  if (period === "day") {
    throw new LimitExceededError("user_daily_tokens", `Daily token limit reached: ${limit} tokens per user per day`, secondsUntil(now, nextDay(now)));
  }
  throw new LimitExceededError("organization_monthly_tokens", `Monthly token limit of the organization reached: ${limit} tokens per month`, secondsUntil(now, nextMonth(now)));
}

async function settle(db: Queryable, r: Reservation, spent: number, requests: number): Promise<void> {
  await db.query(
    `UPDATE token_budget_usage
        SET reserved = greatest(reserved - $3, 0), spent = spent + $4, requests = requests + $5
      WHERE organization_id = $1
        AND ((user_id = $2 AND period = 'day' AND period_start = $6) OR (user_id = $1 AND period = 'month' AND period_start = $7))`,
    [r.organizationId, r.userId, r.estimate, spent, requests, r.day, r.month],
  );
}

// -------------------------------------------------------------------- read-only views

export interface BudgetStatus {
  limit: number | null;
  spent: number;
  reserved: number;
  used: number;
  remaining: number | null;
  requests: number;
  period_start: string;
  resets_at: string;
}

export interface RateStatus {
  limit: number | null;
  used: number;
  remaining: number | null;
  window_start: string;
  resets_in_seconds: number;
}

export interface LimitStatus {
  limits: TokenLimits;
  user_daily_tokens: BudgetStatus;
  organization_monthly_tokens: BudgetStatus;
  query_requests_per_minute: RateStatus;
  chat_requests_per_minute: RateStatus;
  within_limits: boolean;
}

/** Where a user stands against every limit right now, without taking or reserving anything. */
export async function limitStatus(deps: Pick<Deps, "db" | "store">, caller: Caller, limits?: TokenLimits): Promise<LimitStatus> {
  const now = limiterNow(deps);
  const effective = limits ?? (await readLimits(deps, caller.organizationId)).limits;
  const start = windowStart(now);
  const [budgets, rates] = await Promise.all([
    deps.db.query<{ user_id: string; period: string; spent: string; reserved: string; requests: string }>(
      `SELECT user_id, period, spent::text, reserved::text, requests::text FROM token_budget_usage
        WHERE organization_id = $1 AND ((user_id = $2 AND period = 'day' AND period_start = $3) OR (user_id = $1 AND period = 'month' AND period_start = $4))`,
      [caller.organizationId, caller.userId, dayStart(now), monthStart(now)],
    ),
    deps.db.query<{ kind: string; count: number }>("SELECT kind, count FROM rate_limit_counters WHERE user_id = $1 AND window_start = $2", [caller.userId, start.toISOString()]),
  ]);
  const budget = (period: "day" | "month", limit: number | null): BudgetStatus => {
    const row = budgets.find((b) => b.period === period);
    const spent = Number(row?.spent ?? 0);
    const reserved = Number(row?.reserved ?? 0);
    const used = spent + reserved;
    return {
      limit,
      spent,
      reserved,
      used,
      remaining: limit === null ? null : Math.max(0, limit - used),
      requests: Number(row?.requests ?? 0),
      period_start: period === "day" ? dayStart(now) : monthStart(now),
      resets_at: (period === "day" ? nextDay(now) : nextMonth(now)).toISOString(),
    };
  };
  const rate = (kind: ModelCallKind): RateStatus => {
    const limit = rateLimitOf(effective, kind);
    const used = rates.find((r) => r.kind === kind)?.count ?? 0;
    return {
      limit,
      used,
      remaining: limit === null ? null : Math.max(0, limit - used),
      window_start: start.toISOString(),
      resets_in_seconds: secondsUntil(now, new Date(start.getTime() + RATE_WINDOW_MS)),
    };
  };
  const status = {
    limits: effective,
    user_daily_tokens: budget("day", effective.user_daily_tokens),
    organization_monthly_tokens: budget("month", effective.organization_monthly_tokens),
    query_requests_per_minute: rate("query"),
    chat_requests_per_minute: rate("chat"),
  };
  const within = [status.user_daily_tokens, status.organization_monthly_tokens, status.query_requests_per_minute, status.chat_requests_per_minute].every(
    (s) => s.remaining === null || s.remaining > 0,
  );
  return { ...status, within_limits: within };
}
