import type { RecordedEvent } from "../../src/eventstore/port";
import type { UserEvent } from "../../src/domain/user";
import { entityProjection } from "../runner/entity-projection";
import { users, type UserRow } from "./schema";

export const usersProjection = entityProjection<UserRow>({
  name: "users",
  version: 1,
  table: users,
  idColumn: users.id,
  idField: "id",
  handles: ["UserRegistered", "PasswordChanged"],
  idOf: (e) => (e.data as { user_id?: string }).user_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as UserEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "UserRegistered": {
        const d = event.data;
        return {
          id: d.user_id,
          organizationId: d.organization_id,
          email: d.email,
          emailKey: d.email.toLowerCase(),
          username: d.username,
          firstName: d.first_name,
          lastName: d.last_name,
          passwordSealed: d.password_sealed,
          isActive: d.is_active,
          isVerified: d.is_verified,
          roleIds: d.role_ids,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "PasswordChanged":
        return current && { ...current, passwordSealed: event.data.password_sealed, updatedAt: at };
      default:
        return current;
    }
  },
});
