/**
 * The system permission catalog (SPEC.md "Principals and permissions") and what the
 * three system roles every organization gets may do. Names are `resource.action`;
 * `resource:action` is accepted on input.
 */
export const SYSTEM_PERMISSIONS = [
  "organization.read",
  "organization.update",
  "user.read",
  "user.create",
  "user.update",
  "user.delete",
  "role.read",
  "role.create",
  "role.update",
  "role.delete",
  "role.assign",
  "permission.read",
  "role_request.create",
  "role_request.read",
  "role_request.approve",
  "location.read",
  "location.create",
  "location.update",
  "location.delete",
  "location.assign",
  "apikey.read",
  "apikey.create",
  "apikey.rotate",
  "apikey.revoke",
  "datasource.read",
  "datasource.create",
  "datasource.update",
  "datasource.delete",
  "database_access.read",
  "database_access.grant",
  "database_access.revoke",
  "schema.read",
  "query.execute",
  "query.sql",
  "chat.use",
  "tokens.read",
  "tokens.manage",
  "analytics.read",
  "analytics.system",
  "audit.read",
  "audit.export",
  "admin.system",
] as const;

export type SystemPermission = (typeof SYSTEM_PERMISSIONS)[number];

/** Platform-wide: only super admins hold these. */
export const PLATFORM_PERMISSIONS: readonly string[] = ["admin.system"];

export const SYSTEM_ROLE_NAMES = ["admin", "manager", "user"] as const;
export type SystemRoleName = (typeof SYSTEM_ROLE_NAMES)[number];

const USER_PERMISSIONS: SystemPermission[] = [
  "organization.read",
  "permission.read",
  "role.read",
  "role_request.create",
  "role_request.read",
  "location.read",
  "apikey.read",
  "apikey.create",
  "apikey.rotate",
  "apikey.revoke",
  "datasource.read",
  "schema.read",
  "query.execute",
  "chat.use",
  "tokens.read",
  "analytics.read",
];

const MANAGER_PERMISSIONS: SystemPermission[] = [
  ...USER_PERMISSIONS,
  "user.read",
  "user.create",
  "user.update",
  "role.assign",
  "role_request.approve",
  "location.create",
  "location.update",
  "location.assign",
  "database_access.read",
  "database_access.grant",
  "database_access.revoke",
  "audit.read",
];

export const SYSTEM_ROLES: Record<SystemRoleName, { displayName: string; description: string; permissions: readonly string[] }> = {
  admin: {
    displayName: "Administrator",
    description: "Every organization-scoped permission",
    permissions: SYSTEM_PERMISSIONS.filter((p) => !PLATFORM_PERMISSIONS.includes(p)),
  },
  manager: { displayName: "Manager", description: "Manages people, access and locations", permissions: MANAGER_PERMISSIONS },
  user: { displayName: "User", description: "Uses the organization's analytics", permissions: USER_PERMISSIONS },
};

/** `user:read` and `user.read` name the same permission. */
export function normalizePermissionName(name: string): string {
  return name.trim().toLowerCase().replace(":", ".");
}

/** The `role` field of a user: the highest system role held. */
export function highestSystemRole(roleNames: readonly string[]): SystemRoleName | null {
  for (const name of SYSTEM_ROLE_NAMES) if (roleNames.includes(name)) return name;
  return null;
}
