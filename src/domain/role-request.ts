/**
 * Role request aggregate: a user asks for a role of its organization; someone else
 * approves or rejects it, or the requester cancels it. Stream `role_request-<id>`.
 *
 * Only a PENDING request can be decided, and it is decided once: the decision is an
 * append at the revision the decider read, so of two concurrent decisions exactly one
 * lands. Rules that need more than this stream (the role is in the organization and not
 * held yet, no other pending request for the same role, no escalation on approval) are
 * checked by the handler (src/handlers/role-requests.ts).
 */
import { DomainError, forbidden, notFound } from "./errors";

export type RoleRequestStatus = "PENDING" | "APPROVED" | "REJECTED" | "CANCELLED";
export const ROLE_REQUEST_STATUSES: readonly RoleRequestStatus[] = ["PENDING", "APPROVED", "REJECTED", "CANCELLED"];

interface Ids {
  request_id: string;
  organization_id: string;
  user_id: string;
  role_id: string;
}

export type RoleRequestEvent =
  | { type: "RoleRequested"; data: Ids & { role_name: string; reason: string | null } }
  | { type: "RoleRequestApproved"; data: Ids & { decided_by: string; notes: string | null } }
  | { type: "RoleRequestRejected"; data: Ids & { decided_by: string; notes: string | null } }
  | { type: "RoleRequestCancelled"; data: Ids & { cancelled_by: string } };

export type RoleRequestCommand =
  | { type: "RequestRole"; requestId: string; organizationId: string; userId: string; roleId: string; roleName: string; reason: string | null }
  | { type: "ApproveRoleRequest"; by: string; notes: string | null }
  | { type: "RejectRoleRequest"; by: string; notes: string | null }
  | { type: "CancelRoleRequest"; by: string };

export type RoleRequestState =
  | { status: "absent" }
  | { status: RoleRequestStatus; id: string; organizationId: string; userId: string; roleId: string; roleName: string };

export const roleRequest = {
  initialState: (): RoleRequestState => ({ status: "absent" }),

  evolve(state: RoleRequestState, event: RoleRequestEvent): RoleRequestState {
    switch (event.type) {
      case "RoleRequested": {
        const d = event.data;
        return { status: "PENDING", id: d.request_id, organizationId: d.organization_id, userId: d.user_id, roleId: d.role_id, roleName: d.role_name };
      }
      case "RoleRequestApproved":
        return state.status === "absent" ? state : { ...state, status: "APPROVED" };
      case "RoleRequestRejected":
        return state.status === "absent" ? state : { ...state, status: "REJECTED" };
      case "RoleRequestCancelled":
        return state.status === "absent" ? state : { ...state, status: "CANCELLED" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: RoleRequestCommand, state: RoleRequestState): RoleRequestEvent[] {
    if (command.type === "RequestRole") {
      if (state.status !== "absent") throw new DomainError("conflict", "Role request already exists");
      return [
        {
          type: "RoleRequested",
          data: {
            request_id: command.requestId,
            organization_id: command.organizationId,
            user_id: command.userId,
            role_id: command.roleId,
            role_name: command.roleName,
            reason: command.reason,
          },
        },
      ];
    }
    if (state.status === "absent") throw notFound("Role request");
    const ids: Ids = { request_id: state.id, organization_id: state.organizationId, user_id: state.userId, role_id: state.roleId };
    switch (command.type) {
      case "ApproveRoleRequest":
      case "RejectRoleRequest":
        // Checked before the status: approving your own request is refused whatever its state.
        if (command.by === state.userId) throw forbidden("You cannot decide your own role request");
        assertPending(state.status);
        return [
          command.type === "ApproveRoleRequest"
            ? { type: "RoleRequestApproved", data: { ...ids, decided_by: command.by, notes: command.notes } }
            : { type: "RoleRequestRejected", data: { ...ids, decided_by: command.by, notes: command.notes } },
        ];
      case "CancelRoleRequest":
        if (command.by !== state.userId) throw forbidden("Only the requester can cancel a role request");
        assertPending(state.status);
        return [{ type: "RoleRequestCancelled", data: { ...ids, cancelled_by: command.by } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};

function assertPending(status: RoleRequestStatus): void {
  if (status !== "PENDING") throw new DomainError("conflict", `The role request is ${status.toLowerCase()}; only a pending request can be decided or cancelled`);
}
