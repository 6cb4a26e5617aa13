/**
 * Login attempts and lockout of one account. Stream `login-<userId>`.
 * Failures are counted here with an expected revision, so twenty parallel wrong
 * passwords cannot get past the limit: each must append against the revision it saw.
 * Only recent events matter (the window since the last success or lock), so the
 * handler folds just the tail of the stream; the lock count rides on AccountLocked.
 */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  /** First lock; doubled for each lock after it. */
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

/**
 * `account_inactive`: the right password for a user or organization that may not log in.
 * Recorded (failed logins are audited) but not counted toward the lock: it is no guess.
 */
export type LoginFailureReason = "bad_password" | "account_inactive";

export type LoginEvent =
  | { type: "LoginSucceeded"; data: { user_id: string; organization_id: string; session_id: string; at: string } }
  | { type: "LoginFailed"; data: { user_id: string; organization_id: string; reason: LoginFailureReason; at: string } }
  | { type: "AccountLocked"; data: { user_id: string; organization_id: string; locked_until: string; lock_count: number; failures: number } };

export type LoginCommand = {
  type: "RecordLoginAttempt";
  userId: string;
  organizationId: string;
  passwordMatched: boolean;
  /** False when the user or its organization is inactive: a right password still fails. Default true. */
  accountUsable?: boolean;
  sessionId: string;
  at: Date;
};

export interface LoginState {
  /** Failures since the last success or lock. */
  failures: Date[];
  lockedUntil: Date | null;
  lockCount: number;
}

export function isLocked(state: LoginState, at: Date): boolean {
  return state.lockedUntil !== null && at < state.lockedUntil;
}

export function loginDecider(policy: LockoutPolicy = DEFAULT_LOCKOUT) {
  return {
    initialState: (): LoginState => ({ failures: [], lockedUntil: null, lockCount: 0 }),

    evolve(state: LoginState, event: LoginEvent): LoginState {
      switch (event.type) {
        case "LoginSucceeded":
          return { ...state, failures: [] };
        case "LoginFailed":
          if (event.data.reason === "account_inactive") return state;
          return { ...state, failures: [...state.failures, new Date(event.data.at)] };
        case "AccountLocked":
          return { failures: [], lockedUntil: new Date(event.data.locked_until), lockCount: event.data.lock_count };
        default: {
          const _exhaustive: never = event;
          return state;
        }
      }
    },

    /** No events while locked: the attempt is refused without touching the stream. */
    decide(command: LoginCommand, state: LoginState): LoginEvent[] {
      if (isLocked(state, command.at)) return [];
      const ids = { user_id: command.userId, organization_id: command.organizationId };
      if (command.passwordMatched && command.accountUsable === false) {
        return [{ type: "LoginFailed", data: { ...ids, reason: "account_inactive", at: command.at.toISOString() } }];
      }
      if (command.passwordMatched) return [{ type: "LoginSucceeded", data: { ...ids, session_id: command.sessionId, at: command.at.toISOString() } }];
      const failed: LoginEvent = { type: "LoginFailed", data: { ...ids, reason: "bad_password", at: command.at.toISOString() } };
      const recent = state.failures.filter((f) => command.at.getTime() - f.getTime() < policy.windowMs).length + 1;
      if (recent < policy.maxFailures) return [failed];
      const lockCount = state.lockCount + 1;
      const lockedUntil = new Date(command.at.getTime() + policy.lockMs * 2 ** (lockCount - 1));
      return [failed, { type: "AccountLocked", data: { ...ids, locked_until: lockedUntil.toISOString(), lock_count: lockCount, failures: recent } }];
    },
  };
}

/** How many events from the end of the stream determine the state. */
export function loginTail(policy: LockoutPolicy = DEFAULT_LOCKOUT): number {
  return policy.maxFailures * 2 + 4;
}
