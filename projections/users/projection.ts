import type { RecordedEvent } from "../../src/eventstore/port";
import type { UserEvent } from "../../src/domain/user";
import { entityProjection } from "../runner/entity-projection";
import { users, type UserRow } from "./schema";

export const usersProjection = entityProjection<UserRow>({
  name: "users",
  version: 2,
  table: users,
  idColumn: users.id,
  idField: "id",
  handles: ["UserRegistered", "UserProfileUpdated", "UserDeactivated", "UserReactivated", "UserDeleted", "PasswordChanged", "RoleAssigned", "RoleRevoked"],
  creates: ["UserRegistered"],
  idOf: (e) => (e.data as { user_id?: string }).user_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as UserEvent;
    const at = new Date(recorded.metadata.occurred_at);
    if (event.type === "UserRegistered") {
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
    if (!current) return null;
    switch (event.type) {
      case "UserProfileUpdated": {
        const c = event.data.changes;
        return {
          ...current,
          ...(c.email !== undefined && { email: c.email, emailKey: c.email.toLowerCase() }),
          ...(c.username !== undefined && { username: c.username }),
          ...(c.first_name !== undefined && { firstName: c.first_name }),
          ...(c.last_name !== undefined && { lastName: c.last_name }),
          ...(c.is_verified !== undefined && { isVerified: c.is_verified }),
          updatedAt: at,
        };
      }
      case "UserDeactivated":
        return { ...current, isActive: false, updatedAt: at };
      case "UserReactivated":
        return { ...current, isActive: true, updatedAt: at };
      case "UserDeleted":
        return null;
      case "PasswordChanged":
        return { ...current, passwordSealed: event.data.password_sealed, updatedAt: at };
      case "RoleAssigned":
        return current.roleIds.includes(event.data.role_id) ? current : { ...current, roleIds: [...current.roleIds, event.data.role_id], updatedAt: at };
      case "RoleRevoked":
        return { ...current, roleIds: current.roleIds.filter((r) => r !== event.data.role_id), updatedAt: at };
      default:
        return current;
    }
  },
});
