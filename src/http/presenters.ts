/** Read models and in-memory state to the API's snake_case JSON. Never a password hash. */
import type { Deps } from "../deps";
import type { OrganizationRow } from "../../projections/organizations/schema";
import { SYSTEM_ORGANIZATION_ID } from "../handlers/organizations";
import { SYSTEM_PERMISSIONS, highestSystemRole } from "../domain/permissions";

export function organizationJson(o: OrganizationRow) {
  return {
    id: o.id,
    name: o.name,
    slug: o.slug,
    domain: o.domain,
    description: o.description,
    max_users: o.maxUsers,
    registration_policy: o.registrationPolicy,
    is_active: o.isActive,
    is_system: o.isSystem,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
  };
}

/** What both a users-table row and the in-memory UserAccess provide. */
export interface UserLike {
  id: string;
  organizationId: string;
  email: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  isActive: boolean;
  isVerified: boolean;
  roleIds: Iterable<string>;
  createdAt: Date | string;
  updatedAt: Date | string;
}

const iso = (d: Date | string) => (typeof d === "string" ? d : d.toISOString());

export function userJson(deps: Pick<Deps, "security">, u: UserLike) {
  const superAdmin = u.organizationId === SYSTEM_ORGANIZATION_ID;
  const roles: Array<{ id: string; name: string }> = [];
  const permissions = new Set<string>();
  for (const roleId of u.roleIds) {
    const r = deps.security.roles.get(roleId);
    if (!r || r.organizationId !== u.organizationId) continue;
    roles.push({ id: r.id, name: r.name });
    if (r.isActive) for (const p of r.permissions) permissions.add(p);
  }
  roles.sort((a, b) => a.name.localeCompare(b.name));
  const roleNames = superAdmin ? ["super_admin", ...roles.map((r) => r.name)] : roles.map((r) => r.name);
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    full_name: [u.firstName, u.lastName].filter(Boolean).join(" ") || null,
    is_active: u.isActive,
    is_verified: u.isVerified,
    organization_id: u.organizationId,
    role: superAdmin ? "super_admin" : (highestSystemRole(roleNames) ?? roleNames[0] ?? null),
    roles: roleNames,
    role_ids: roles.map((r) => r.id),
    permissions: superAdmin ? [...SYSTEM_PERMISSIONS] : [...permissions].sort(),
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
  };
}

export type UserJson = ReturnType<typeof userJson>;
