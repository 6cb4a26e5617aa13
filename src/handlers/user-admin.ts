/**
 * User administration on behalf of a caller (the /users routes; /admin/users can reuse
 * it): who may see and change which user, and the rules that keep an organization
 * manageable.
 *
 * - Tenancy: a caller sees only its own organization's users; a super admin sees every
 *   tenant organization's. Users of an onboarding still in progress and of the platform's
 *   own organization are invisible here. Anything invisible answers 404.
 * - No escalation: a caller who is not an admin of the organization (nor a super admin)
 *   may only grant or revoke roles whose permissions it holds itself, and may only change
 *   users whose permissions it holds itself (a manager cannot make itself admin, nor
 *   deactivate an admin).
 * - Last admin: the last active holder of an organization's `admin` role cannot be
 *   deleted, deactivated, demoted or lose `admin` (409). Such changes are serialized per
 *   organization (in this process by a queue, across processes by a Postgres advisory
 *   lock) and decided on the security state caught up to the event store's head, so two
 *   admins demoting each other at once cannot both win.
 * - Every change waits until read models and the security state show it (settle), so
 *   the next request sees it: a deactivated user's tokens fail at once.
 */
import { createHash } from "node:crypto";
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { user, type UserCommand, type UserEvent, type UserProfile, type UserState } from "../domain/user";
import { DomainError, conflict, forbidden, invalid, notFound } from "../domain/errors";
import { SYSTEM_ROLE_NAMES, type SystemRoleName } from "../domain/permissions";
import type { RoleAccess, UserAccess } from "../auth/security-state";
import { getVisibleUser, listUsers, type UserFilter } from "../../projections/users/queries";
import type { UserRow } from "../../projections/users/schema";
import { isUuid } from "../http/pagination";
import { claim, release } from "./reservations";
import { roleIdByName } from "./roles";
import { endUserSessions } from "./sessions";
import { createUser, deleteUser, emailClaim } from "./users";
import { creationTarget, listScope, type Acting } from "./tenancy";

export type { Acting } from "./tenancy";

const userNotFound = () => notFound("User");
const LAST_ADMIN = "The organization's last active admin cannot be deleted, deactivated or lose the admin role";

// ---------------------------------------------------------------------------- reads

/** The user if the caller may see it; 404 otherwise (never 403: no existence leak). */
export async function findUserFor(deps: Deps, acting: Acting, id: string): Promise<UserRow> {
  if (!isUuid(id)) throw userNotFound();
  const row = await getVisibleUser(deps.db.drizzle, id.toLowerCase(), acting.isSuperAdmin ? undefined : acting.organizationId);
  if (!row) throw userNotFound();
  return row;
}

export async function listUsersFor(
  deps: Deps,
  acting: Acting,
  filter: Omit<UserFilter, "organizationId"> & { organizationId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: UserRow[]; total: number }> {
  const organizationId = await listScope(deps, acting, filter.organizationId);
  return listUsers(deps.db.drizzle, { ...filter, organizationId }, page);
}

// --------------------------------------------------------------------------- writes

export interface CreateUserRequest {
  email: string;
  password: string;
  username?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  /** Role names in the organization; `user` when none is given. */
  role?: string;
  roles?: string[];
  organization_id?: string;
  is_active?: boolean;
  is_verified?: boolean;
}

export async function createUserFor(deps: Deps, ctx: CommandContext, acting: Acting, input: CreateUserRequest): Promise<UserRow> {
  const organizationId = await creationTarget(deps, acting, input.organization_id, "user");

  const named: Array<{ name: string; path: string }> = [
    ...(input.role !== undefined ? [{ name: input.role, path: "/body/role" }] : []),
    ...(input.roles ?? []).map((name, i) => ({ name, path: `/body/roles/${i}` })),
  ];
  const explicit = named.length > 0;
  if (!explicit) named.push({ name: "user", path: "/body/role" });
  const roles: RoleAccess[] = [];
  for (const { name, path } of named) {
    const id = await roleIdByName(deps, organizationId, name);
    const r = id ? deps.security.roles.get(id) : undefined;
    if (!r || r.organizationId !== organizationId) throw invalid(path, `No role named "${name}" in this organization`);
    if (!roles.some((x) => x.id === r.id)) roles.push(r);
  }
  // The default role is what self-registration gives anyone: creating a plain user is
  // not granting anything. Any other role is an assignment like POST /users/{id}/roles.
  const onlyDefault = roles.every((r) => r.isSystem && r.name === "user");
  if (!onlyDefault) {
    if (explicit) assertMayAssign(acting);
    assertMayGrant(deps, acting, roles);
  }

  const { userId, position } = await createUser(deps, ctx, {
    organizationId,
    email: input.email,
    password: input.password,
    username: input.username,
    firstName: input.first_name,
    lastName: input.last_name,
    roleIds: roles.map((r) => r.id),
    source: "admin",
    isActive: input.is_active,
    isVerified: input.is_verified,
  });
  await settle(deps, position);
  return (await getVisibleUser(deps.db.drizzle, userId, organizationId)) ?? throwGone();
}

export type OwnProfileChanges = Partial<Pick<UserProfile, "username" | "first_name" | "last_name">>;

/** PUT /users/me: the caller's own name fields; nothing that grants anything. */
export async function updateOwnProfile(deps: Deps, ctx: CommandContext, acting: Acting, changes: OwnProfileChanges): Promise<void> {
  const { position } = await applyUserCommands(deps, ctx, acting.organizationId, acting.userId, [{ type: "UpdateProfile", changes }]);
  await settle(deps, position);
}

export interface UpdateUserRequest {
  email?: string;
  username?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  is_active?: boolean;
  is_verified?: boolean;
  /** A system role name: replaces whichever system role the user holds, custom roles stay. */
  role?: SystemRoleName;
}

export async function updateUserFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, input: UpdateUserRequest): Promise<UserRow> {
  const target = await findUserFor(deps, acting, id);
  const organizationId = target.organizationId;
  if (input.role !== undefined) assertMayAssign(acting);
  if (input.is_active === false && target.id === acting.userId) throw invalid("/body/is_active", "You cannot deactivate yourself");
  assertMayManage(deps, acting, target.id);

  const commands: UserCommand[] = [];
  const profile: Partial<UserProfile> & { is_verified?: boolean } = {};
  if (input.email !== undefined) profile.email = input.email.trim();
  for (const k of ["username", "first_name", "last_name"] as const) if (input[k] !== undefined) profile[k] = input[k];
  if (input.is_verified !== undefined) profile.is_verified = input.is_verified;
  if (Object.keys(profile).length > 0) commands.push({ type: "UpdateProfile", changes: profile });

  if (input.role !== undefined) {
    const system = await systemRolesOf(deps, organizationId);
    const wanted = system.get(input.role);
    if (!wanted) throw invalid("/body/role", `No role named "${input.role}" in this organization`);
    const dropped = [...system.values()].filter((r) => r.id !== wanted.id && target.roleIds.includes(r.id));
    assertMayGrant(deps, acting, [wanted, ...dropped]);
    // Assigned before revoked, in one append: the user is never seen without a role.
    commands.push({ type: "AssignRoles", roles: [{ id: wanted.id, name: wanted.name }] });
    if (dropped.length) commands.push({ type: "RevokeRoles", roles: dropped.map((r) => ({ id: r.id, name: r.name })) });
  }
  if (input.is_active !== undefined) commands.push({ type: "SetActive", active: input.is_active });

  const newEmailKey = profile.email?.toLowerCase();
  const emailMoves = newEmailKey !== undefined && newEmailKey !== target.emailKey;
  const removesAdmin = input.is_active === false || (input.role !== undefined && input.role !== "admin");

  await underAdminGuard(deps, organizationId, target.id, removesAdmin, async () => {
    const orgCtx = { ...ctx, organizationId };
    if (emailMoves) {
      try {
        await claim(deps.store, orgCtx, emailClaim(organizationId, profile.email!), target.id);
      } catch (err) {
        if (err instanceof DomainError && err.kind === "conflict") throw conflict("A user with this e-mail already exists in this organization");
        throw err;
      }
    }
    let result: { position: bigint; events: UserEvent[] };
    try {
      result = await applyUserCommands(deps, orgCtx, organizationId, target.id, commands);
    } catch (err) {
      if (emailMoves) await release(deps.store, orgCtx, emailClaim(organizationId, profile.email!), target.id).catch(() => {});
      throw err;
    }
    if (emailMoves) await release(deps.store, orgCtx, emailClaim(organizationId, target.email), target.id);
    let position = result.position;
    if (result.events.some((e) => e.type === "UserDeactivated")) {
      // The user is refused at once anyway (inactive); ending the sessions keeps a later
      // reactivation from bringing the old tokens back.
      const ended = await endUserSessions(deps, orgCtx, target.id, "user_deactivated");
      if (ended > position) position = ended;
    }
    await settle(deps, position);
  });
  return (await getVisibleUser(deps.db.drizzle, target.id, organizationId)) ?? throwGone();
}

export async function deleteUserFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string): Promise<void> {
  const target = await findUserFor(deps, acting, id);
  if (target.id === acting.userId) throw invalid("/params/id", "You cannot delete yourself");
  assertMayManage(deps, acting, target.id);
  const organizationId = target.organizationId;
  await underAdminGuard(deps, organizationId, target.id, true, async () => {
    const orgCtx = { ...ctx, organizationId };
    const deleted = await deleteUser(deps, orgCtx, organizationId, target.id);
    const ended = await endUserSessions(deps, orgCtx, target.id, "user_deleted");
    await settle(deps, ended > deleted ? ended : deleted);
  });
}

export async function assignRolesFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, roleIds: string[]): Promise<UserRow> {
  return changeRoles(deps, ctx, acting, id, roleIds, "AssignRoles");
}

export async function revokeRolesFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, roleIds: string[]): Promise<UserRow> {
  return changeRoles(deps, ctx, acting, id, roleIds, "RevokeRoles");
}

async function changeRoles(deps: Deps, ctx: CommandContext, acting: Acting, id: string, roleIds: string[], type: "AssignRoles" | "RevokeRoles"): Promise<UserRow> {
  const target = await findUserFor(deps, acting, id);
  const organizationId = target.organizationId;
  const roles = roleIds.map((roleId) => {
    const r = isUuid(roleId) ? deps.security.roles.get(roleId.toLowerCase()) : undefined;
    // Another organization's role is as unknown as a made-up id.
    if (!r || r.organizationId !== organizationId) throw notFound("Role");
    return r;
  });
  assertMayManage(deps, acting, target.id);
  assertMayGrant(deps, acting, roles);
  const removesAdmin = type === "RevokeRoles" && roles.some(isAdminRole);
  await underAdminGuard(deps, organizationId, target.id, removesAdmin, async () => {
    const { position } = await applyUserCommands(deps, ctx, organizationId, target.id, [{ type, roles: roles.map((r) => ({ id: r.id, name: r.name })) }]);
    await settle(deps, position);
  });
  return (await getVisibleUser(deps.db.drizzle, target.id, organizationId)) ?? throwGone();
}

// ------------------------------------------------------------------------ the rules

function throwGone(): never {
  // Deleted between the write and the read: as good as not found.
  throw userNotFound();
}

function assertMayAssign(acting: Acting): void {
  if (!acting.isSuperAdmin && !acting.permissions.has("role.assign")) throw forbidden("Missing permission role.assign");
}

const isAdminRole = (r: RoleAccess) => r.isSystem && r.name === "admin";

function holdsAdmin(deps: Deps, u: UserAccess, requireActiveRole: boolean): boolean {
  for (const id of u.roleIds) {
    const r = deps.security.roles.get(id);
    if (r && r.organizationId === u.organizationId && isAdminRole(r) && (!requireActiveRole || r.isActive)) return true;
  }
  return false;
}

/** Admins of the organization and super admins are not limited to what they hold themselves. */
function actsAsAdmin(deps: Deps, acting: Acting): boolean {
  if (acting.isSuperAdmin) return true;
  if (acting.type !== "user") return false; // an API key is limited to its scopes
  const u = deps.security.users.get(acting.userId);
  return Boolean(u && u.organizationId === acting.organizationId && holdsAdmin(deps, u, true));
}

function assertMayGrant(deps: Deps, acting: Acting, roles: readonly RoleAccess[]): void {
  if (actsAsAdmin(deps, acting)) return;
  for (const r of roles) {
    for (const p of r.permissions) {
      if (!acting.permissions.has(p)) throw forbidden(`Role "${r.name}" carries ${p}, which you do not hold`);
    }
  }
}

function assertMayManage(deps: Deps, acting: Acting, targetId: string): void {
  if (actsAsAdmin(deps, acting)) return;
  const target = deps.security.users.get(targetId);
  if (!target) return;
  for (const p of deps.security.permissionsOf(target)) {
    if (!acting.permissions.has(p)) throw forbidden("This user holds permissions you do not hold");
  }
}

async function systemRolesOf(deps: Deps, organizationId: string): Promise<Map<SystemRoleName, RoleAccess>> {
  const out = new Map<SystemRoleName, RoleAccess>();
  for (const name of SYSTEM_ROLE_NAMES) {
    const id = await roleIdByName(deps, organizationId, name);
    const r = id ? deps.security.roles.get(id) : undefined;
    if (r && r.organizationId === organizationId) out.set(name, r);
  }
  return out;
}

function activeAdminIds(deps: Deps, organizationId: string): string[] {
  const ids: string[] = [];
  for (const u of deps.security.users.values()) {
    if (u.organizationId === organizationId && u.isActive && holdsAdmin(deps, u, false)) ids.push(u.id);
  }
  return ids;
}

/** The security state has applied everything the event store holds right now. */
async function catchUp(deps: Deps): Promise<void> {
  await deps.security.waitFor(await deps.store.headPosition());
}

const queues = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier call for this organization in this process has finished. */
async function inOrganizationQueue<T>(organizationId: string, fn: () => Promise<T>): Promise<T> {
  const before = queues.get(organizationId) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = before.then(() => mine);
  queues.set(organizationId, tail);
  await before;
  try {
    return await fn();
  } finally {
    done();
    if (queues.get(organizationId) === tail) queues.delete(organizationId);
  }
}

async function crossProcessLock(deps: Deps, organizationId: string): Promise<{ release(): Promise<void> }> {
  const digest = createHash("sha256").update(`ledgerline:last-admin:${organizationId}`).digest("hex");
  const key = BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lock = await deps.db.tryAdvisoryLock(key);
    if (lock) return lock;
    if (Date.now() > deadline) throw conflict("Another change to this organization's admins is in progress; retry the request");
    await Bun.sleep(5 + Math.random() * 20);
  }
}

/**
 * Runs a change of one user of the organization. When it could take away the last
 * active admin (`removesAdmin` and the user is an active admin right now), it is decided
 * under the cross-process lock, on fresh state, and `fn` must settle before returning so
 * that the next guarded change sees it.
 */
async function underAdminGuard(deps: Deps, organizationId: string, targetId: string, removesAdmin: boolean, fn: () => Promise<void>): Promise<void> {
  await inOrganizationQueue(organizationId, async () => {
    if (!removesAdmin) return fn();
    await catchUp(deps);
    const isActiveAdmin = () => activeAdminIds(deps, organizationId).includes(targetId);
    if (!isActiveAdmin()) return fn();
    const lock = await crossProcessLock(deps, organizationId);
    try {
      await catchUp(deps);
      if (isActiveAdmin() && activeAdminIds(deps, organizationId).every((id) => id === targetId)) throw conflict(LAST_ADMIN);
      await fn();
    } finally {
      await lock.release();
    }
  });
}

/**
 * Several commands on one user, decided in order and appended together against the
 * revision they were decided on: all of them or none (a concurrent change re-decides).
 */
async function applyUserCommands(
  deps: Deps,
  ctx: CommandContext,
  organizationId: string,
  userId: string,
  commands: UserCommand[],
): Promise<{ position: bigint; events: UserEvent[] }> {
  const streamId = stream.user(userId);
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadState(deps.store, streamId, user);
    if (state.status === "absent" || state.status === "deleted" || state.organizationId !== organizationId) throw userNotFound();
    let next: UserState = state;
    const events: UserEvent[] = [];
    for (const command of commands) {
      for (const e of user.decide(command, next)) {
        next = user.evolve(next, e);
        events.push(e);
      }
    }
    if (events.length === 0) return { position: 0n, events };
    try {
      const { position } = await deps.store.append(streamId, toNewEvents(events, { ...ctx, organizationId }, organizationId), revision);
      return { position, events };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      if (attempt >= 5) throw conflict("The user was changed concurrently; retry the request");
      await Bun.sleep(Math.random() * 5 * attempt);
    }
  }
}
