/**
 * Role aggregate: a named set of permissions within one organization. Stream `role-<id>`.
 * System roles (admin, manager, user) come with every organization and cannot be
 * deleted or renamed. The `admin` role holds every organization-scoped permission and
 * stays that way: it cannot be deactivated nor lose a system permission (an
 * organization must not lock itself out). Permissions are held by name
 * (`resource.action`); a permission renamed or deleted in the catalog is moved or
 * removed by RolePermissionsChanged events.
 */
import { DomainError, notFound } from "./errors";
import { SYSTEM_PERMISSIONS } from "./permissions";

const SYSTEM_PERMISSION_SET: ReadonlySet<string> = new Set(SYSTEM_PERMISSIONS);

export interface RoleProfile {
  name: string;
  display_name: string | null;
  description: string | null;
  is_active: boolean;
}

export type RoleEvent =
  | { type: "RoleCreated"; data: RoleProfile & { role_id: string; organization_id: string; is_system: boolean; permissions: string[] } }
  | { type: "RoleUpdated"; data: { role_id: string; organization_id: string; changes: Partial<RoleProfile> } }
  | { type: "RolePermissionsChanged"; data: { role_id: string; organization_id: string; added: string[]; removed: string[] } }
  | { type: "RoleDeleted"; data: { role_id: string; organization_id: string; name: string } };

export type RoleCommand =
  | { type: "CreateRole"; roleId: string; organizationId: string; profile: RoleProfile; isSystem: boolean; permissions: string[] }
  | { type: "UpdateRole"; changes: Partial<RoleProfile> }
  | { type: "ChangeRolePermissions"; add: string[]; remove: string[] }
  | { type: "DeleteRole" };

export type RoleState =
  | { status: "absent" }
  | { status: "exists" | "deleted"; id: string; organizationId: string; profile: RoleProfile; isSystem: boolean; permissions: string[] };

const isAdminRole = (state: RoleState) => state.status !== "absent" && state.isSystem && state.profile.name === "admin";

export const role = {
  initialState: (): RoleState => ({ status: "absent" }),

  evolve(state: RoleState, event: RoleEvent): RoleState {
    switch (event.type) {
      case "RoleCreated": {
        const { role_id, organization_id, is_system, permissions, ...profile } = event.data;
        return { status: "exists", id: role_id, organizationId: organization_id, profile, isSystem: is_system, permissions };
      }
      case "RoleUpdated":
        return state.status === "absent" ? state : { ...state, profile: { ...state.profile, ...event.data.changes } };
      case "RolePermissionsChanged": {
        if (state.status === "absent") return state;
        const next = state.permissions.filter((p) => !event.data.removed.includes(p));
        for (const p of event.data.added) if (!next.includes(p)) next.push(p);
        return { ...state, permissions: next };
      }
      case "RoleDeleted":
        return state.status === "absent" ? state : { ...state, status: "deleted" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: RoleCommand, state: RoleState): RoleEvent[] {
    switch (command.type) {
      case "CreateRole":
        if (state.status !== "absent") throw new DomainError("conflict", "Role already exists");
        return [
          {
            type: "RoleCreated",
            data: {
              role_id: command.roleId,
              organization_id: command.organizationId,
              ...command.profile,
              is_system: command.isSystem,
              permissions: [...new Set(command.permissions)],
            },
          },
        ];
      case "UpdateRole": {
        if (state.status !== "exists") throw notFound("Role");
        if (state.isSystem && command.changes.name !== undefined && command.changes.name !== state.profile.name) {
          throw new DomainError("validation", "System roles cannot be renamed", { errors: [{ path: "/body/name", message: "system roles cannot be renamed" }] });
        }
        if (isAdminRole(state) && command.changes.is_active === false) {
          throw new DomainError("validation", "The admin role cannot be deactivated", { errors: [{ path: "/body/is_active", message: "the admin role cannot be deactivated" }] });
        }
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) => v !== undefined && state.profile[k as keyof RoleProfile] !== v),
        ) as Partial<RoleProfile>;
        if (Object.keys(changes).length === 0) return [];
        return [{ type: "RoleUpdated", data: { role_id: state.id, organization_id: state.organizationId, changes } }];
      }
      case "ChangeRolePermissions": {
        if (state.status !== "exists") throw notFound("Role");
        const added = [...new Set(command.add)].filter((p) => !state.permissions.includes(p));
        const removed = [...new Set(command.remove)].filter((p) => state.permissions.includes(p) && !command.add.includes(p));
        if (isAdminRole(state) && removed.some((p) => SYSTEM_PERMISSION_SET.has(p))) {
          throw new DomainError("validation", "The admin role keeps every organization-scoped system permission", {
            errors: [{ path: "/body/permission_ids", message: "system permissions cannot be removed from the admin role" }],
          });
        }
        if (added.length === 0 && removed.length === 0) return [];
        return [{ type: "RolePermissionsChanged", data: { role_id: state.id, organization_id: state.organizationId, added, removed } }];
      }
      case "DeleteRole":
        if (state.status !== "exists") throw notFound("Role");
        if (state.isSystem) {
          throw new DomainError("validation", "System roles cannot be deleted", { errors: [{ path: "/params/id", message: "system roles cannot be deleted" }] });
        }
        return [{ type: "RoleDeleted", data: { role_id: state.id, organization_id: state.organizationId, name: state.profile.name } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
