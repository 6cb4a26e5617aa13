import type { RecordedEvent } from "../../src/eventstore/port";
import type { RoleEvent } from "../../src/domain/role";
import { entityProjection } from "../runner/entity-projection";
import { roles, type RoleRow } from "./schema";

export const rolesProjection = entityProjection<RoleRow>({
  name: "roles",
  version: 1,
  table: roles,
  idColumn: roles.id,
  idField: "id",
  handles: ["RoleCreated", "RoleUpdated", "RolePermissionsChanged", "RoleDeleted"],
  idOf: (e) => (e.data as { role_id?: string }).role_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as RoleEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "RoleCreated": {
        const d = event.data;
        return {
          id: d.role_id,
          organizationId: d.organization_id,
          name: d.name,
          displayName: d.display_name,
          description: d.description,
          isSystem: d.is_system,
          isActive: d.is_active,
          permissions: d.permissions,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "RoleUpdated": {
        if (!current) return null;
        const c = event.data.changes;
        return {
          ...current,
          ...(c.name !== undefined && { name: c.name }),
          ...(c.display_name !== undefined && { displayName: c.display_name }),
          ...(c.description !== undefined && { description: c.description }),
          ...(c.is_active !== undefined && { isActive: c.is_active }),
          updatedAt: at,
        };
      }
      case "RolePermissionsChanged": {
        if (!current) return null;
        const next = current.permissions.filter((p) => !event.data.removed.includes(p));
        for (const p of event.data.added) if (!next.includes(p)) next.push(p);
        return { ...current, permissions: next, updatedAt: at };
      }
      case "RoleDeleted":
        return null;
      default:
        return current;
    }
  },
});
