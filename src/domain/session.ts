/**
 * Session aggregate: one login. Stream `session-<id>`. Holds only hashes of refresh
 * tokens, never a token. Rotation: each refresh replaces the current hash; presenting a
 * hash that was already rotated away is reuse, and ends the whole session.
 */
import { DomainError } from "./errors";

export type SessionEndReason = "logout" | "password_changed" | "user_deactivated" | "user_deleted" | "organization_deactivated" | "refresh_token_reused" | "expired";

export type SessionEvent =
  | { type: "SessionStarted"; data: { session_id: string; user_id: string; organization_id: string; refresh_token_hash: string; expires_at: string } }
  | { type: "SessionRefreshed"; data: { session_id: string; user_id: string; organization_id: string; refresh_token_hash: string; expires_at: string } }
  | { type: "RefreshTokenReused"; data: { session_id: string; user_id: string; organization_id: string } }
  | { type: "SessionEnded"; data: { session_id: string; user_id: string; organization_id: string; reason: SessionEndReason } };

export type SessionCommand =
  | { type: "StartSession"; sessionId: string; userId: string; organizationId: string; refreshTokenHash: string; expiresAt: Date }
  | { type: "RefreshSession"; presentedHash: string; newHash: string; at: Date; expiresAt: Date }
  | { type: "EndSession"; reason: SessionEndReason };

export type SessionState =
  | { status: "absent" }
  | {
      status: "active" | "ended";
      id: string;
      userId: string;
      organizationId: string;
      refreshTokenHash: string;
      usedHashes: string[];
      expiresAt: string;
    };

const invalidRefresh = () => new DomainError("unauthorized", "Invalid or expired refresh token");

export const session = {
  initialState: (): SessionState => ({ status: "absent" }),

  evolve(state: SessionState, event: SessionEvent): SessionState {
    if (event.type === "SessionStarted") {
      const d = event.data;
      return { status: "active", id: d.session_id, userId: d.user_id, organizationId: d.organization_id, refreshTokenHash: d.refresh_token_hash, usedHashes: [], expiresAt: d.expires_at };
    }
    if (state.status === "absent") return state;
    switch (event.type) {
      case "SessionRefreshed":
        return { ...state, usedHashes: [...state.usedHashes, state.refreshTokenHash], refreshTokenHash: event.data.refresh_token_hash, expiresAt: event.data.expires_at };
      case "RefreshTokenReused":
        return state;
      case "SessionEnded":
        return { ...state, status: "ended" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: SessionCommand, state: SessionState): SessionEvent[] {
    if (command.type === "StartSession") {
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
    }
    if (state.status === "absent") throw invalidRefresh();
    const ids = { session_id: state.id, user_id: state.userId, organization_id: state.organizationId };
    switch (command.type) {
      case "RefreshSession":
        if (state.status === "ended") throw invalidRefresh();
        if (state.usedHashes.includes(command.presentedHash)) {
          // A rotated-away token came back: someone holds a copy. End the whole session.
          return [
            { type: "RefreshTokenReused", data: ids },
            { type: "SessionEnded", data: { ...ids, reason: "refresh_token_reused" } },
          ];
        }
        if (command.presentedHash !== state.refreshTokenHash) throw invalidRefresh();
        if (command.at >= new Date(state.expiresAt)) return [{ type: "SessionEnded", data: { ...ids, reason: "expired" } }];
        return [{ type: "SessionRefreshed", data: { ...ids, refresh_token_hash: command.newHash, expires_at: command.expiresAt.toISOString() } }];
      case "EndSession":
        return state.status === "active" ? [{ type: "SessionEnded", data: { ...ids, reason: command.reason } }] : [];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
