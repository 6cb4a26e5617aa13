import type { RecordedEvent } from "../../src/eventstore/port";
import type { PermissionEvent } from "../../src/domain/permission";
import { entityProjection } from "../runner/entity-projection";
import { permissions, type PermissionRow } from "./schema";

export const permissionsProjection = entityProjection<PermissionRow>({
  name: "permissions",
  version: 1,
  table: permissions,
  idColumn: permissions.id,
  idField: "id",
  handles: ["PermissionCreated", "PermissionUpdated", "PermissionDeleted"],
  idOf: (e) => (e.data as { permission_id?: string }).permission_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as PermissionEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "PermissionCreated": {
        const d = event.data;
        return {
          id: d.permission_id,
          name: d.name,
          resource: d.resource,
          action: d.action,
          description: d.description,
          isSystem: d.is_system,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "PermissionUpdated": {
        if (!current) return null;
        const c = event.data.changes;
        return {
          ...current,
          ...(c.name !== undefined && { name: c.name }),
          ...(c.resource !== undefined && { resource: c.resource }),
          ...(c.action !== undefined && { action: c.action }),
          ...(c.description !== undefined && { description: c.description }),
          updatedAt: at,
        };
      }
      case "PermissionDeleted":
        return null;
      default:
        return current;
    }
  },
});
