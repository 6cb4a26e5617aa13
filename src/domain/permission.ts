/**
 * Permission aggregate: one entry of the global permission catalog. Stream
 * `permission-<id>`. A permission is identified by (resource, action); its name is
 * `resource.action` (`resource:action` is accepted on input). The system catalog
 * (SPEC.md) is written as events at bootstrap and is immutable; super admins add custom
 * permissions, which can be renamed, described and deleted. Uniqueness of
 * (resource, action) is a reservation (kind "permission", key "resource.action"), taken
 * by the handler before it appends here.
 */
import { DomainError, invalid, notFound } from "./errors";
import type { SystemPermission } from "./permissions";

export interface PermissionIdentity {
  resource: string;
  action: string;
}

export type PermissionEvent =
  | {
      type: "PermissionCreated";
      data: { permission_id: string; name: string; resource: string; action: string; description: string | null; is_system: boolean };
    }
  | {
      type: "PermissionUpdated";
      data: {
        permission_id: string;
        /** The name before this change: roles holding it are moved to the new one. */
        previous_name: string;
        changes: { name?: string; resource?: string; action?: string; description?: string | null };
      };
    }
  | { type: "PermissionDeleted"; data: { permission_id: string; name: string; resource: string; action: string } };

export type PermissionCommand =
  | { type: "CreatePermission"; permissionId: string; identity: PermissionIdentity; description: string | null; isSystem: boolean }
  | { type: "UpdatePermission"; identity?: PermissionIdentity; description?: string | null }
  | { type: "DeletePermission" };

export type PermissionState =
  | { status: "absent" }
  | { status: "exists" | "deleted"; id: string; resource: string; action: string; name: string; description: string | null; isSystem: boolean };

export const permissionName = (p: PermissionIdentity) => `${p.resource}.${p.action}`;

const immutable = () =>
  new DomainError("validation", "System permissions are immutable", {
    errors: [{ path: "/params/id", message: "system permissions cannot be changed or deleted" }],
  });

export const permission = {
  initialState: (): PermissionState => ({ status: "absent" }),

  evolve(state: PermissionState, event: PermissionEvent): PermissionState {
    switch (event.type) {
      case "PermissionCreated": {
        const d = event.data;
        return { status: "exists", id: d.permission_id, resource: d.resource, action: d.action, name: d.name, description: d.description, isSystem: d.is_system };
      }
      case "PermissionUpdated": {
        if (state.status === "absent") return state;
        const c = event.data.changes;
        return {
          ...state,
          ...(c.name !== undefined && { name: c.name }),
          ...(c.resource !== undefined && { resource: c.resource }),
          ...(c.action !== undefined && { action: c.action }),
          ...(c.description !== undefined && { description: c.description }),
        };
      }
      case "PermissionDeleted":
        return state.status === "absent" ? state : { ...state, status: "deleted" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: PermissionCommand, state: PermissionState): PermissionEvent[] {
    switch (command.type) {
      case "CreatePermission":
        if (state.status !== "absent") throw new DomainError("conflict", "Permission already exists");
        return [
          {
            type: "PermissionCreated",
            data: {
              permission_id: command.permissionId,
              name: permissionName(command.identity),
              resource: command.identity.resource,
              action: command.identity.action,
              description: command.description,
              is_system: command.isSystem,
            },
          },
        ];
      case "UpdatePermission": {
        if (state.status !== "exists") throw notFound("Permission");
        if (state.isSystem) throw immutable();
        const changes: { name?: string; resource?: string; action?: string; description?: string | null } = {};
        if (command.identity && permissionName(command.identity) !== state.name) {
          changes.name = permissionName(command.identity);
          if (command.identity.resource !== state.resource) changes.resource = command.identity.resource;
          if (command.identity.action !== state.action) changes.action = command.identity.action;
        }
        if (command.description !== undefined && command.description !== state.description) changes.description = command.description;
        if (Object.keys(changes).length === 0) return [];
        return [{ type: "PermissionUpdated", data: { permission_id: state.id, previous_name: state.name, changes } }];
      }
      case "DeletePermission":
        if (state.status !== "exists") throw notFound("Permission");
        if (state.isSystem) throw immutable();
        return [{ type: "PermissionDeleted", data: { permission_id: state.id, name: state.name, resource: state.resource, action: state.action } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};

/** One part of a name: `user`, `database_access`, `role-request`. */
const PART = /^[a-z][a-z0-9_-]{0,63}$/;

/** `resource.action` or `resource:action`, any case; null when it is neither. */
export function parsePermissionName(name: string): PermissionIdentity | null {
  const m = /^([^.:]+)[.:]([^.:]+)$/.exec(name.trim().toLowerCase());
  if (!m || !PART.test(m[1]) || !PART.test(m[2])) return null;
  return { resource: m[1], action: m[2] };
}

/**
 * The identity a request names: `name` alone, `resource` and `action`, or all three
 * when they agree (seed 002 sends `name: "user:create"` with `resource` and `action`).
 * Throws a 422 naming the field otherwise. With `partial`, nothing named is fine
 * (an update that changes only the description): returns null.
 */
export function permissionIdentityOf(
  input: { name?: string; resource?: string; action?: string },
  options: { partial?: boolean; current?: PermissionIdentity } = {},
): PermissionIdentity | null {
  const fromName = input.name !== undefined ? parsePermissionName(input.name) : undefined;
  if (fromName === null) throw invalid("/body/name", "A permission name is `resource.action` or `resource:action` (lower-case letters, digits, _ and -)");
  const resource = input.resource?.trim().toLowerCase();
  const action = input.action?.trim().toLowerCase();
  if (resource !== undefined && !PART.test(resource)) throw invalid("/body/resource", "A resource is lower-case letters, digits, _ and -, starting with a letter");
  if (action !== undefined && !PART.test(action)) throw invalid("/body/action", "An action is lower-case letters, digits, _ and -, starting with a letter");
  if (fromName) {
    if (resource !== undefined && resource !== fromName.resource) throw invalid("/body/resource", `resource "${resource}" contradicts name "${input.name}"`);
    if (action !== undefined && action !== fromName.action) throw invalid("/body/action", `action "${action}" contradicts name "${input.name}"`);
    return fromName;
  }
  if (resource === undefined && action === undefined) {
    if (options.partial) return null;
    throw invalid("/body/name", "Give name (`resource.action`), or resource and action");
  }
  // On an update, one part alone changes only that part.
  const r = resource ?? options.current?.resource;
  const a = action ?? options.current?.action;
  if (r === undefined) throw invalid("/body/resource", "Give resource with action, or name");
  if (a === undefined) throw invalid("/body/action", "Give action with resource, or name");
  return { resource: r, action: a };
}

/** What each system permission allows: the catalog's descriptions. */
export const SYSTEM_PERMISSION_DESCRIPTIONS: Record<SystemPermission, string> = {
  "organization.read": "View the organization",
  "organization.update": "Update the organization",
  "user.read": "View users",
  "user.create": "Create users",
  "user.update": "Update users",
  "user.delete": "Delete users",
  "role.read": "View roles",
  "role.create": "Create roles",
  "role.update": "Update roles and their permissions",
  "role.delete": "Delete roles",
  "role.assign": "Assign roles to users and revoke them",
  "permission.read": "View the permission catalog",
  "role_request.create": "Request a role",
  "role_request.read": "View role requests",
  "role_request.approve": "Approve or reject role requests",
  "location.read": "View locations",
  "location.create": "Create locations",
  "location.update": "Update locations",
  "location.delete": "Delete locations",
  "location.assign": "Assign users to locations",
  "apikey.read": "View API keys",
  "apikey.create": "Create API keys",
  "apikey.rotate": "Rotate API keys",
  "apikey.revoke": "Revoke API keys",
  "datasource.read": "View data sources",
  "datasource.create": "Register data sources",
  "datasource.update": "Update data sources",
  "datasource.delete": "Delete data sources",
  "database_access.read": "View database access grants",
  "database_access.grant": "Grant database access",
  "database_access.revoke": "Revoke database access",
  "schema.read": "Browse the schema of granted data",
  "query.execute": "Ask questions in natural language",
  "query.sql": "Run SQL written by the caller",
  "chat.use": "Use chat sessions",
  "tokens.read": "View token usage and limits",
  "tokens.manage": "Set token limits",
  "analytics.read": "View usage analytics",
  "analytics.system": "View platform-wide analytics",
  "audit.read": "View audit logs",
  "audit.export": "Export audit logs",
  "admin.system": "Operate the platform (super admin)",
};
