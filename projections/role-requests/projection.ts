import type { RecordedEvent } from "../../src/eventstore/port";
import type { RoleRequestEvent } from "../../src/domain/role-request";
import { entityProjection } from "../runner/entity-projection";
import { roleRequests, type RoleRequestRow } from "./schema";

export const roleRequestsProjection = entityProjection<RoleRequestRow>({
  name: "role_requests",
  version: 1,
  table: roleRequests,
  idColumn: roleRequests.id,
  idField: "id",
  handles: ["RoleRequested", "RoleRequestApproved", "RoleRequestRejected", "RoleRequestCancelled"],
  idOf: (e) => (e.data as { request_id?: string }).request_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as RoleRequestEvent;
    const at = new Date(recorded.metadata.occurred_at);
    if (event.type === "RoleRequested") {
      const d = event.data;
      return {
        id: d.request_id,
        organizationId: d.organization_id,
        userId: d.user_id,
        roleId: d.role_id,
        reason: d.reason,
        status: "PENDING",
        notes: null,
        decidedBy: null,
        decidedAt: null,
        createdAt: at,
        updatedAt: at,
        lastPosition: recorded.position,
      };
    }
    if (!current) return null;
    switch (event.type) {
      case "RoleRequestApproved":
      case "RoleRequestRejected":
        return {
          ...current,
          status: event.type === "RoleRequestApproved" ? "APPROVED" : "REJECTED",
          notes: event.data.notes,
          decidedBy: event.data.decided_by,
          decidedAt: at,
          updatedAt: at,
        };
      case "RoleRequestCancelled":
        return { ...current, status: "CANCELLED", decidedBy: event.data.cancelled_by, decidedAt: at, updatedAt: at };
      default:
        return current;
    }
  },
});
