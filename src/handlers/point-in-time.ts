/**
 * GET /users/{id}?as_of=: a user as it was at a moment, for auditors. Same tenancy as
 * the present-tense read (another organization's user, or the platform's own, is 404),
 * decided on the organization the user registered in, so a user deleted since can still
 * be looked at as it was.
 */
import type { Deps } from "../deps";
import { DomainError, notFound } from "../domain/errors";
import type { RoleAccess } from "../auth/security-state";
import { isUuid } from "../http/pagination";
import { userJson, type UserJson } from "../http/presenters";
import { userHistory, type UserAsOf } from "../audit/point-in-time";
import type { Acting } from "./tenancy";

export type UserAsOfJson = UserJson & { user: UserJson; as_of: string };

/** Whether the caller may see users of this organization at all (as findUserFor decides for today). */
export function mayAddressOrganization(deps: Pick<Deps, "security">, acting: Acting, organizationId: string): boolean {
  if (!acting.isSuperAdmin) return organizationId === acting.organizationId;
  const org = deps.security.organizations.get(organizationId);
  return Boolean(org && !org.isSystem && !org.provisioning);
}

export async function findUserAsOfFor(deps: Deps, acting: Acting, id: string, at: Date): Promise<UserAsOfJson> {
  if (!isUuid(id)) throw notFound("User");
  const history = await userHistory(deps.store, id.toLowerCase(), at);
  if (!history || !mayAddressOrganization(deps, acting, history.organizationId)) throw notFound("User");
  const when = at.toISOString();
  if (!history.asOf) throw new DomainError("not_found", `User did not exist yet at ${when}`);
  if (history.asOf.state.status === "deleted") throw new DomainError("not_found", `User had been deleted by ${when}`);
  const json = historicalUserJson(history.asOf);
  return { ...json, user: json, as_of: when };
}

/**
 * The present-tense presenter, fed the roles as they were: it looks roles up in
 * `security.roles`, so a map of the historical ones stands in for the live state.
 */
function historicalUserJson(asOf: UserAsOf): UserJson {
  const { state } = asOf;
  const roles = new Map<string, RoleAccess>();
  for (const r of asOf.roles) {
    roles.set(r.id, {
      id: r.id,
      organizationId: r.organizationId,
      name: r.profile.name,
      isActive: r.profile.is_active,
      isSystem: r.isSystem,
      permissions: new Set(r.permissions),
    });
  }
  const then = { security: { roles } } as unknown as Pick<Deps, "security">;
  return userJson(then, {
    id: state.id,
    organizationId: state.organizationId,
    email: state.profile.email,
    username: state.profile.username,
    firstName: state.profile.first_name,
    lastName: state.profile.last_name,
    isActive: state.status === "active",
    isVerified: state.isVerified,
    roleIds: state.roleIds,
    createdAt: asOf.createdAt,
    updatedAt: asOf.updatedAt,
  });
}
