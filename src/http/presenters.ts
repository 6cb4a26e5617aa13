/** Read models and in-memory state to the API's snake_case JSON. Never a password hash. */
import type { Deps } from "../deps";
import { affectsAccess } from "../auth/security-state";
import type { OrganizationRow } from "../../projections/organizations/schema";
import type { RoleRequestRow } from "../../projections/role-requests/schema";
import type { LocationRow } from "../../projections/locations/schema";
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

const userJsonCaches = new WeakMap<Deps["security"], Map<string, UserJson>>();

/**
 * userJson of a user held in the security state, cached until the next event that can
 * change who may do what (not sessions, logins or queries, most of the traffic). GET
 * /users/me, /auth/me and every token response build it. The object is shared: do not
 * mutate it (spreading it is fine).
 */
export function currentUserJson(deps: Pick<Deps, "security">, userId: string): UserJson | null {
  let cache = userJsonCaches.get(deps.security);
  if (!cache) {
    const fresh = new Map<string, UserJson>();
    deps.security.onEvent((e) => {
      if (affectsAccess(e.type)) fresh.clear();
    });
    userJsonCaches.set(deps.security, fresh);
    cache = fresh;
  }
  let json = cache.get(userId);
  if (!json) {
    const u = deps.security.users.get(userId);
    if (!u) return null;
    json = userJson(deps, u);
    cache.set(userId, json);
  }
  return json;
}

export function roleRequestJson(deps: Pick<Deps, "security">, r: RoleRequestRow) {
  const role = deps.security.roles.get(r.roleId);
  const requester = deps.security.users.get(r.userId);
  return {
    id: r.id,
    organization_id: r.organizationId,
    user_id: r.userId,
    user_email: requester?.email ?? null,
    role_id: r.roleId,
    role_name: role && role.organizationId === r.organizationId ? role.name : null,
    reason: r.reason,
    status: r.status,
    notes: r.notes,
    decided_by: r.decidedBy,
    decided_at: r.decidedAt ? r.decidedAt.toISOString() : null,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

export function locationJson(l: LocationRow) {
  return {
    id: l.id,
    organization_id: l.organizationId,
    name: l.name,
    code: l.code,
    description: l.description,
    address: l.address,
    city: l.city,
    state: l.state,
    country: l.country,
    postal_code: l.postalCode,
    is_active: l.isActive,
    created_at: l.createdAt.toISOString(),
    updated_at: l.updatedAt.toISOString(),
  };
}
