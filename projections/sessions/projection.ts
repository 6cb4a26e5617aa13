import type { RecordedEvent } from "../../src/eventstore/port";
import type { SessionEvent } from "../../src/domain/session";
import { entityProjection } from "../runner/entity-projection";
import { sessions, type SessionRow } from "./schema";

export const sessionsProjection = entityProjection<SessionRow>({
  name: "sessions",
  version: 1,
  table: sessions,
  idColumn: sessions.id,
  idField: "id",
  handles: ["SessionStarted", "SessionRefreshed", "SessionEnded"],
  creates: ["SessionStarted"],
  idOf: (e) => (e.data as { session_id?: string }).session_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as SessionEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "SessionStarted":
        return {
          id: event.data.session_id,
          userId: event.data.user_id,
          organizationId: event.data.organization_id,
          status: "active",
          createdAt: at,
          lastRefreshedAt: null,
          expiresAt: new Date(event.data.expires_at),
          endedAt: null,
          endReason: null,
          lastPosition: recorded.position,
        };
      case "SessionRefreshed":
        return current && { ...current, lastRefreshedAt: at, expiresAt: new Date(event.data.expires_at) };
      case "SessionEnded":
        return current && { ...current, status: "ended", endedAt: at, endReason: event.data.reason };
      default:
        return current;
    }
  },
});
