/** Read-model rows to the API's snake_case JSON. Never a password hash. */
import type { OrganizationRow } from "../../projections/organizations/schema";
import type { UserRow } from "../../projections/users/schema";
import { SYSTEM_ORGANIZATION_ID } from "../handlers/organizations";

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

export function userJson(u: UserRow, extra: { roles?: string[]; permissions?: string[] } = {}) {
  const fullName = [u.firstName, u.lastName].filter(Boolean).join(" ") || null;
  const superAdmin = u.organizationId === SYSTEM_ORGANIZATION_ID;
  const roles = extra.roles ?? (superAdmin ? ["super_admin"] : []);
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    full_name: fullName,
    is_active: u.isActive,
    is_verified: u.isVerified,
    organization_id: u.organizationId,
    role: roles[0] ?? "user",
    roles,
    permissions: extra.permissions ?? [],
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}
