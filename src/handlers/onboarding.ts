/**
 * Onboarding (seed 000 "Onboard New Organization"): an organization, its custom roles and
 * its first users in one call. All of it or none of it becomes visible:
 *
 * 1. Everything that can be checked without writing is checked first (`planOnboarding`):
 *    permission and role names, duplicate e-mails, passwords, max_users. A refusal there
 *    is a 422 and writes nothing.
 * 2. The organization is created `provisioning` (with its system roles): every read model
 *    query hides it and the security state refuses its users' logins and tokens.
 * 3. Custom roles, then users (createUser: e-mail claim, seat, UserRegistered).
 * 4. `CompleteOnboarding` (OrganizationOnboarded) makes all of it visible at once.
 *
 * A failure in 2–4 is compensated: the users created are deleted (their e-mails and seats
 * freed), the custom roles deleted (their names freed), the organization deleted (its
 * slug, name and domain freed), so a retry with the same names succeeds. The system roles
 * are left in place: the role aggregate refuses to delete them, and they need no undoing:
 * their name claims are keyed by the (never reused) organization id, and every role query
 * is scoped to an organization that no longer exists. A normal organization deletion
 * leaves its roles the same way.
 * A process that dies mid-onboarding leaves a provisioning organization behind: invisible,
 * but holding its names until it is deleted (no sweeper yet).
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { organization } from "../domain/organization";
import { role, type RoleProfile } from "../domain/role";
import { DomainError } from "../domain/errors";
import { normalizePermissionName, PLATFORM_PERMISSIONS, SYSTEM_PERMISSIONS, SYSTEM_ROLE_NAMES, type SystemRoleName } from "../domain/permissions";
import { assertAcceptablePassword } from "../auth/password-policy";
import { createOrganization, deleteOrganization, profileFrom, type CreateOrganizationInput } from "./organizations";
import { createRole, ensureSystemRoles, roleNameClaim } from "./roles";
import { createUser, deleteUser } from "./users";
import { release } from "./reservations";
import { getOrganization } from "../../projections/organizations/queries";
import { rolesOfOrganization } from "../../projections/roles/queries";
import type { OrganizationRow } from "../../projections/organizations/schema";
import type { RoleRow } from "../../projections/roles/schema";

export interface OnboardingInput {
  organization: Omit<CreateOrganizationInput, "is_active">;
  roles?: Array<{ name: string; description?: string | null; display_name?: string | null; permissions?: string[] }>;
  users?: Array<{
    email: string;
    password: string;
    first_name?: string | null;
    last_name?: string | null;
    username?: string | null;
    is_admin?: boolean;
    /** Names of system or custom roles. */
    roles?: string[];
  }>;
}

export interface OnboardingPlan {
  organization: CreateOrganizationInput;
  roles: Array<{ profile: RoleProfile; permissions: string[] }>;
  users: Array<{
    email: string;
    password: string;
    username: string | null;
    firstName: string | null;
    lastName: string | null;
    roleNames: string[];
  }>;
}

export interface OnboardingResult {
  organization: OrganizationRow;
  /** Every role of the new organization: system roles, then the custom ones. */
  roles: RoleRow[];
  /** In the order of the request. */
  userIds: string[];
}

type FieldError = { path: string; message: string };

const SYSTEM_ROLE_SET: ReadonlySet<string> = new Set(SYSTEM_ROLE_NAMES);
const GRANTABLE: ReadonlySet<string> = new Set(SYSTEM_PERMISSIONS.filter((p) => !PLATFORM_PERMISSIONS.includes(p)));

/**
 * Checks the whole request without writing anything; every problem found is reported
 * (422 with one entry per problem). Returns what to write.
 */
export function planOnboarding(input: OnboardingInput): OnboardingPlan {
  const errors: FieldError[] = [];
  const collect = (path: string) => (err: unknown) => {
    if (!(err instanceof DomainError) || err.kind !== "validation") throw err;
    for (const e of err.extra.errors ?? [{ path: "", message: err.message }]) errors.push({ path: e.path.startsWith("/body") ? e.path : `${path}${e.path}`, message: e.message });
  };

  let maxUsers: number | null = null;
  try {
    maxUsers = profileFrom(input.organization).max_users;
  } catch (err) {
    collect("/body/organization")(err);
  }

  const roles: OnboardingPlan["roles"] = [];
  const customNames = new Set<string>();
  (input.roles ?? []).forEach((r, i) => {
    const name = r.name.trim();
    if (!name) errors.push({ path: `/body/roles/${i}/name`, message: "A role needs a name" });
    else if (SYSTEM_ROLE_SET.has(name)) errors.push({ path: `/body/roles/${i}/name`, message: `"${name}" is a system role every organization already has` });
    else if (customNames.has(name)) errors.push({ path: `/body/roles/${i}/name`, message: `Role "${name}" is named twice` });
    customNames.add(name);
    const permissions: string[] = [];
    (r.permissions ?? []).forEach((p, j) => {
      const normalized = normalizePermissionName(p);
      if (GRANTABLE.has(normalized)) permissions.push(normalized);
      else if (PLATFORM_PERMISSIONS.includes(normalized)) errors.push({ path: `/body/roles/${i}/permissions/${j}`, message: `"${p}" is a platform permission; an organization's role cannot hold it` });
      else errors.push({ path: `/body/roles/${i}/permissions/${j}`, message: `Unknown permission "${p}"` });
    });
    roles.push({
      profile: { name, display_name: r.display_name ?? null, description: r.description ?? null, is_active: true },
      permissions: [...new Set(permissions)],
    });
  });

  const users: OnboardingPlan["users"] = [];
  const emails = new Map<string, number>();
  (input.users ?? []).forEach((u, i) => {
    const email = u.email.trim();
    const key = email.toLowerCase();
    const first = emails.get(key);
    if (first !== undefined) errors.push({ path: `/body/users/${i}/email`, message: `E-mail "${email}" is already given to users/${first}` });
    else emails.set(key, i);
    try {
      assertAcceptablePassword(u.password, `/body/users/${i}/password`, { email });
    } catch (err) {
      collect(`/body/users/${i}/password`)(err);
    }
    const roleNames = new Set<string>();
    if (u.is_admin) roleNames.add("admin");
    (u.roles ?? []).forEach((name, j) => {
      const n = name.trim();
      if (SYSTEM_ROLE_SET.has(n) || customNames.has(n)) roleNames.add(n);
      else errors.push({ path: `/body/users/${i}/roles/${j}`, message: `Unknown role "${name}": name a system role (${SYSTEM_ROLE_NAMES.join(", ")}) or one of this request's roles` });
    });
    if (roleNames.size === 0) roleNames.add("user");
    users.push({ email, password: u.password, username: u.username ?? null, firstName: u.first_name ?? null, lastName: u.last_name ?? null, roleNames: [...roleNames] });
  });

  if (maxUsers !== null && users.length > maxUsers) {
    errors.push({ path: "/body/users", message: `${users.length} users exceed the organization's max_users of ${maxUsers}` });
  }

  if (errors.length > 0) {
    throw new DomainError("validation", errors.length === 1 ? errors[0].message : `${errors.length} problems in the onboarding request: ${errors.map((e) => e.message).join("; ")}`, { errors });
  }
  return { organization: { ...input.organization, is_active: true }, roles, users };
}

/** Runs a checked plan; see the module comment for the all-or-nothing guarantee. */
export async function onboardOrganization(deps: Deps, ctx: CommandContext, plan: OnboardingPlan): Promise<OnboardingResult> {
  const organizationId = Bun.randomUUIDv7();
  const orgCtx: CommandContext = { ...ctx, organizationId };
  const customRoles: Array<{ id: string; name: string }> = [];
  const userIds: string[] = [];

  const position = await (async () => {
    try {
      await createOrganization(deps, ctx, plan.organization, { id: organizationId, provisioning: true });
      const { ids: systemIds } = await ensureSystemRoles(deps, orgCtx, organizationId);
      const roleIds = new Map<string, string>(SYSTEM_ROLE_NAMES.map((n: SystemRoleName) => [n, systemIds[n]]));
      for (const r of plan.roles) {
        const { roleId } = await createRole(deps, orgCtx, organizationId, r.profile, r.permissions);
        customRoles.push({ id: roleId, name: r.profile.name });
        roleIds.set(r.profile.name, roleId);
      }
      // One after another: they all take a seat in the same stream.
      for (const u of plan.users) {
        const { userId } = await createUser(deps, orgCtx, {
          organizationId,
          email: u.email,
          password: u.password,
          username: u.username,
          firstName: u.firstName,
          lastName: u.lastName,
          roleIds: u.roleNames.map((n) => roleIds.get(n)!),
          source: "onboard",
        }, { duringOnboarding: true });
        userIds.push(userId);
      }
      const done = await handleCommand(
        deps.store,
        stream.organization(organizationId),
        organization,
        { type: "CompleteOnboarding", roleIds: [...roleIds.values()], userIds },
        orgCtx,
        { organizationId },
      );
      return done.position;
    } catch (err) {
      await compensate(deps, orgCtx, organizationId, customRoles, userIds);
      throw err;
    }
  })();

  // Visible from here on: never undone, even if reading it back is slow.
  await settle(deps, position);
  const org = await getOrganization(deps.db.drizzle, organizationId);
  if (!org) throw new DomainError("unavailable", "The organization was onboarded but is not readable yet; fetch it shortly");
  return { organization: org, roles: await rolesOfOrganization(deps.db.drizzle, organizationId), userIds };
}

/**
 * Undoes a failed onboarding, newest first. Every step is attempted even if one fails:
 * what cannot be undone stays invisible (the organization is still provisioning).
 */
async function compensate(deps: Deps, ctx: CommandContext, organizationId: string, customRoles: Array<{ id: string; name: string }>, userIds: string[]): Promise<void> {
  const attempt = async (what: string, step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (err) {
      deps.logger.error("onboarding compensation step failed", { organization_id: organizationId, step: what, error: err instanceof Error ? err.message : String(err) });
    }
  };
  for (const userId of [...userIds].reverse()) await attempt(`delete user ${userId}`, () => deleteUser(deps, ctx, organizationId, userId));
  for (const r of [...customRoles].reverse()) {
    await attempt(`delete role ${r.id}`, async () => {
      await handleCommand(deps.store, stream.role(r.id), role, { type: "DeleteRole" }, ctx, { organizationId });
      await release(deps.store, ctx, roleNameClaim(organizationId, r.name), r.id);
    });
  }
  await attempt("delete organization", async () => {
    const { state } = await loadState(deps.store, stream.organization(organizationId), organization);
    // Absent: its creation itself failed and released its names already.
    if (state.status !== "absent" && state.status !== "deleted") await deleteOrganization(deps, ctx, organizationId);
  });
}
