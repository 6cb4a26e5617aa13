/**
 * Session aggregate: one login. Stream `session-<id>`. Holds only the hash of the
 * current refresh token, never the token.
 */
import { DomainError } from "./errors";

export type SessionEvent = {
  type: "SessionStarted";
  data: { session_id: string; user_id: string; organization_id: string; refresh_token_hash: string; expires_at: string };
};

export type SessionCommand = {
  type: "StartSession";
  sessionId: string;
  userId: string;
  organizationId: string;
  refreshTokenHash: string;
  expiresAt: Date;
};

export type SessionState =
  | { status: "absent" }
  | { status: "active" | "ended"; id: string; userId: string; organizationId: string; refreshTokenHash: string; expiresAt: string };

export const session = {
  initialState: (): SessionState => ({ status: "absent" }),

  evolve(state: SessionState, event: SessionEvent): SessionState {
    switch (event.type) {
      case "SessionStarted": {
        const d = event.data;
        return { status: "active", id: d.session_id, userId: d.user_id, organizationId: d.organization_id, refreshTokenHash: d.refresh_token_hash, expiresAt: d.expires_at };
      }
      default: {
        const _exhaustive: never = event.type;
        return state;
      }
    }
  },

  decide(command: SessionCommand, state: SessionState): SessionEvent[] {
    switch (command.type) {
      case "StartSession":
        if (state.status !== "absent") throw new DomainError("conflict", "Session already exists");
        return [
          {
            type: "SessionStarted",
            data: {
              session_id: command.sessionId,
              user_id: command.userId,
              organization_id: command.organizationId,
              refresh_token_hash: command.refreshTokenHash,
              expires_at: command.expiresAt.toISOString(),
            },
          },
        ];
      default: {
        const _exhaustive: never = command.type;
        return [];
      }
    }
  },
};
