/**
 * Role use cases. Every organization gets the system roles admin, manager and user; role
 * names are unique per organization (exact match) through reservations.
 *
 * The /roles endpoints act on behalf of a caller:
 * - Tenancy: a caller addresses only its own organization's roles; a super admin every
 *   tenant organization's. Anything else answers 404.
 * - Permissions are named by id or by name (`resource.action` or `resource:action`),
 *   mixed; an unknown one, or a platform permission (admin.system), is a 422.
 * - No escalation: a caller who is not a super admin grants only permissions it holds
 *   itself (403 otherwise), whether creating a role, adding permissions, replacing them,
 *   or re-activating a role.
 * - Deleting a role revokes it from every holder (RoleRevoked on each user's stream),
 *   then RoleDeleted, then frees the name.
 * - Every change waits until the read models and the security state show it (settle):
 *   a permission added to or removed from a role applies on its holders' next request.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { role, type RoleEvent, type RoleProfile, type RoleState } from "../domain/role";
import { user } from "../domain/user";
import { permission, parsePermissionName, permissionName } from "../domain/permission";
import { reservation } from "../domain/reservation";
import { DomainError, conflict, forbidden, invalid, notFound } from "../domain/errors";
import { PLATFORM_PERMISSIONS, SYSTEM_ROLE_NAMES, SYSTEM_ROLES, type SystemRoleName } from "../domain/permissions";
import { isUuid } from "../http/pagination";
import { getVisibleRole, listRoles, roleHolderIds, type RoleFilter } from "../../projections/roles/queries";
import type { RoleRow } from "../../projections/roles/schema";
import { permissionsByIds, permissionsByNames } from "../../projections/permissions/queries";
import { claim, release, type Claim } from "./reservations";
import { creationTarget, listScope, type Acting } from "./tenancy";

export function roleNameClaim(organizationId: string, name: string): Claim {
  return { kind: "role_name", key: `${organizationId}:${name}`, label: `Role name "${name}"` };
}

/** The id of the role holding this name in the organization, if any. */
export async function roleIdByName(deps: Pick<Deps, "store">, organizationId: string, name: string): Promise<string | null> {
  const c = roleNameClaim(organizationId, name);
  const { state } = await loadState(deps.store, stream.reservation(c.kind, c.key), reservation);
  return state.holder;
}

export async function createRole(
  deps: Pick<Deps, "store">,
  ctx: CommandContext,
  organizationId: string,
  profile: RoleProfile,
  permissions: string[],
  options: { isSystem?: boolean; id?: string } = {},
): Promise<{ roleId: string; position: bigint }> {
  const roleId = options.id ?? Bun.randomUUIDv7();
  const c = roleNameClaim(organizationId, profile.name);
  await claim(deps.store, ctx, c, roleId);
  try {
    const { position } = await handleCommand(
      deps.store,
      stream.role(roleId),
      role,
      { type: "CreateRole", roleId, organizationId, profile, isSystem: options.isSystem ?? false, permissions },
      ctx,
      { organizationId },
    );
    return { roleId, position };
  } catch (err) {
    await release(deps.store, ctx, c, roleId).catch(() => {});
    throw err;
  }
}

/** Creates whichever system roles the organization lacks; returns name -> id. */
export async function ensureSystemRoles(
  deps: Pick<Deps, "store">,
  ctx: CommandContext,
  organizationId: string,
): Promise<{ ids: Record<SystemRoleName, string>; position: bigint }> {
  const ids = {} as Record<SystemRoleName, string>;
  let position = 0n;
  for (const name of SYSTEM_ROLE_NAMES) {
    const existing = await roleIdByName(deps, organizationId, name);
    if (existing) {
      ids[name] = existing;
      continue;
    }
    const spec = SYSTEM_ROLES[name];
    const created = await createRole(
      deps,
      ctx,
      organizationId,
      { name, display_name: spec.displayName, description: spec.description, is_active: true },
      [...spec.permissions],
      { isSystem: true },
    );
    ids[name] = created.roleId;
    position = created.position;
  }
  return { ids, position };
}

// ---------------------------------------------------------------------------- reads

const roleNotFound = () => notFound("Role");

/** The role if the caller may see it; 404 otherwise (never 403: no existence leak). */
export async function findRoleFor(deps: Deps, acting: Acting, id: string): Promise<RoleRow> {
  if (!isUuid(id)) throw roleNotFound();
  const row = await getVisibleRole(deps.db.drizzle, id.toLowerCase(), acting.isSuperAdmin ? undefined : acting.organizationId);
  if (!row) throw roleNotFound();
  return row;
}

export async function listRolesFor(
  deps: Deps,
  acting: Acting,
  filter: Omit<RoleFilter, "organizationId"> & { organizationId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: RoleRow[]; total: number }> {
  const organizationId = await listScope(deps, acting, filter.organizationId);
  return listRoles(deps.db.drizzle, { ...filter, organizationId }, page);
}

// ---------------------------------------------------------------- permission names

export interface GrantedPermission {
  id: string;
  name: string;
}

/**
 * Permission references (ids or names, mixed) to catalog entries; every unknown one is
 * reported (422, one entry per problem). With `held`, a name the role already holds is
 * accepted even when the catalog no longer has it (so it can be removed).
 */
export async function resolvePermissions(deps: Deps, refs: readonly string[], path: string, held?: ReadonlySet<string>): Promise<GrantedPermission[]> {
  const errors: Array<{ path: string; message: string }> = [];
  const ids = refs.filter(isUuid).map((r) => r.toLowerCase());
  const names = refs.filter((r) => !isUuid(r)).map((r) => parsePermissionName(r)).filter((p) => p !== null).map(permissionName);
  const [byId, byName] = await Promise.all([permissionsByIds(deps.db.drizzle, ids), permissionsByNames(deps.db.drizzle, names)]);
  const out = new Map<string, GrantedPermission>();
  refs.forEach((ref, i) => {
    let found: GrantedPermission | undefined;
    if (isUuid(ref)) {
      const row = byId.find((p) => p.id === ref.toLowerCase());
      if (row) found = { id: row.id, name: row.name };
    } else {
      const parsed = parsePermissionName(ref);
      const name = parsed ? permissionName(parsed) : null;
      const row = name ? byName.find((p) => p.name === name) : undefined;
      if (row) found = { id: row.id, name: row.name };
      else if (name && held?.has(name)) found = { id: "", name };
    }
    if (!found) errors.push({ path: `${path}/${i}`, message: `Unknown permission "${ref}"` });
    else if (PLATFORM_PERMISSIONS.includes(found.name)) {
      errors.push({ path: `${path}/${i}`, message: `"${found.name}" is a platform permission; an organization's role cannot hold it` });
    } else out.set(found.name, found);
  });
  if (errors.length > 0) {
    throw new DomainError("validation", errors.length === 1 ? errors[0].message : `${errors.length} unknown or ungrantable permissions`, { errors });
  }
  return [...out.values()];
}

/** No escalation: anyone but a super admin grants only what it holds itself. */
function assertMayGrant(acting: Acting, names: Iterable<string>): void {
  if (acting.isSuperAdmin) return;
  const missing = [...new Set(names)].filter((n) => !acting.permissions.has(n));
  if (missing.length > 0) throw forbidden(`You cannot grant permissions you do not hold: ${missing.sort().join(", ")}`);
}

/**
 * After permissions were granted to a role: any that the catalog deleted or renamed in
 * the meantime is removed or moved (the catalog change may have scanned the roles just
 * before this grant landed). Returns the position to settle on.
 */
async function reconcileGrants(deps: Deps, ctx: CommandContext, roleId: string, organizationId: string, granted: readonly GrantedPermission[]): Promise<bigint> {
  const add: string[] = [];
  const remove: string[] = [];
  for (const g of granted) {
    if (!g.id) continue;
    const { state } = await loadState(deps.store, stream.permission(g.id), permission);
    if (state.status === "exists" && state.name === g.name) continue;
    remove.push(g.name);
    if (state.status === "exists") add.push(state.name);
  }
  if (remove.length === 0) return 0n;
  const { position } = await handleCommand(deps.store, stream.role(roleId), role, { type: "ChangeRolePermissions", add, remove }, ctx, { organizationId }).catch(
    (err) => {
      if (err instanceof DomainError && err.kind === "not_found") return { position: 0n };
      throw err;
    },
  );
  return position;
}

// --------------------------------------------------------------------------- writes

export interface CreateRoleRequest {
  name: string;
  display_name?: string | null;
  description?: string | null;
  is_active?: boolean;
  /** Permission ids or names, mixed. */
  permissions?: string[];
  organization_id?: string;
}

const text = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : v.trim() || null);

function roleNameOf(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw invalid("/body/name", "A role needs a name");
  return trimmed;
}

export async function createRoleFor(deps: Deps, ctx: CommandContext, acting: Acting, input: CreateRoleRequest): Promise<RoleRow> {
  const organizationId = await creationTarget(deps, acting, input.organization_id, "role");

  const name = roleNameOf(input.name);
  const granted = await resolvePermissions(deps, input.permissions ?? [], "/body/permissions");
  assertMayGrant(acting, granted.map((g) => g.name));
  const orgCtx = { ...ctx, organizationId };
  const { roleId, position } = await createRole(
    deps,
    orgCtx,
    organizationId,
    { name, display_name: text(input.display_name) ?? null, description: text(input.description) ?? null, is_active: input.is_active ?? true },
    granted.map((g) => g.name),
  );
  const reconciled = await reconcileGrants(deps, orgCtx, roleId, organizationId, granted);
  await settle(deps, reconciled > position ? reconciled : position);
  return (await getVisibleRole(deps.db.drizzle, roleId, organizationId)) ?? roleGone();
}

export interface UpdateRoleRequest {
  name?: string;
  display_name?: string | null;
  description?: string | null;
  is_active?: boolean;
  /** Replaces the role's permissions: ids or names, mixed. */
  permissions?: string[];
}

export async function updateRoleFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, input: UpdateRoleRequest): Promise<RoleRow> {
  const row = await findRoleFor(deps, acting, id);
  const organizationId = row.organizationId;
  const orgCtx = { ...ctx, organizationId };
  const wanted = input.permissions !== undefined ? await resolvePermissions(deps, input.permissions, "/body/permissions", new Set(row.permissions)) : undefined;
  const changes: Partial<RoleProfile> = {};
  if (input.name !== undefined) changes.name = roleNameOf(input.name);
  if (input.display_name !== undefined) changes.display_name = text(input.display_name) ?? null;
  if (input.description !== undefined) changes.description = text(input.description) ?? null;
  if (input.is_active !== undefined) changes.is_active = input.is_active;

  const streamId = stream.role(row.id);
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadState(deps.store, streamId, role);
    if (state.status !== "exists" || state.organizationId !== organizationId) throw roleNotFound();
    const events: RoleEvent[] = [];
    let next: RoleState = state;
    const run = (command: Parameters<typeof role.decide>[0]) => {
      for (const e of role.decide(command, next)) {
        next = role.evolve(next, e);
        events.push(e);
      }
    };
    run({ type: "UpdateRole", changes });
    if (wanted) {
      const names = wanted.map((w) => w.name);
      run({ type: "ChangeRolePermissions", add: names, remove: state.permissions.filter((p) => !names.includes(p)) });
    }
    if (events.length === 0) return row;
    if (next.status !== "exists") throw roleNotFound();

    const added = events.flatMap((e) => (e.type === "RolePermissionsChanged" ? e.data.added : []));
    assertMayGrant(acting, added);
    // Re-activating a role grants everything it carries to its holders.
    if (!state.profile.is_active && next.profile.is_active) assertMayGrant(acting, next.permissions);

    const renamedTo = next.profile.name !== state.profile.name ? next.profile.name : null;
    const newClaim = renamedTo ? roleNameClaim(organizationId, renamedTo) : null;
    if (newClaim) await claim(deps.store, orgCtx, newClaim, row.id);
    let position: bigint;
    try {
      ({ position } = await deps.store.append(streamId, toNewEvents(events, orgCtx, organizationId), revision));
    } catch (err) {
      if (newClaim) await release(deps.store, orgCtx, newClaim, row.id).catch(() => {});
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      if (attempt >= 5) throw conflict("The role was changed concurrently; retry the request");
      await Bun.sleep(Math.random() * 5 * attempt);
      continue;
    }
    if (newClaim) await release(deps.store, orgCtx, roleNameClaim(organizationId, state.profile.name), row.id);
    const grantedNow = (wanted ?? []).filter((w) => added.includes(w.name));
    const reconciled = await reconcileGrants(deps, orgCtx, row.id, organizationId, grantedNow);
    await settle(deps, reconciled > position ? reconciled : position);
    return (await getVisibleRole(deps.db.drizzle, row.id, organizationId)) ?? roleGone();
  }
}

/** POST (add) and DELETE (remove) /roles/{id}/permissions. */
export async function changeRolePermissionsFor(
  deps: Deps,
  ctx: CommandContext,
  acting: Acting,
  id: string,
  refs: readonly string[],
  mode: "add" | "remove",
  path = "/body/permission_ids",
): Promise<RoleRow> {
  const row = await findRoleFor(deps, acting, id);
  const organizationId = row.organizationId;
  const orgCtx = { ...ctx, organizationId };
  const named = await resolvePermissions(deps, refs, path, mode === "remove" ? new Set(row.permissions) : undefined);
  const names = named.map((n) => n.name);
  if (mode === "add") assertMayGrant(acting, names);
  const { position, events } = await handleCommand(
    deps.store,
    stream.role(row.id),
    role,
    { type: "ChangeRolePermissions", add: mode === "add" ? names : [], remove: mode === "remove" ? names : [] },
    orgCtx,
    { organizationId },
  );
  let settleAt = position;
  if (mode === "add") {
    const added = events.flatMap((e) => (e.type === "RolePermissionsChanged" ? e.data.added : []));
    const reconciled = await reconcileGrants(deps, orgCtx, row.id, organizationId, named.filter((n) => added.includes(n.name)));
    if (reconciled > settleAt) settleAt = reconciled;
  }
  await settle(deps, settleAt);
  return (await getVisibleRole(deps.db.drizzle, row.id, organizationId)) ?? roleGone();
}

/**
 * Deletes a custom role: revoked from every holder first (RoleRevoked on each user's
 * stream), then RoleDeleted, then the name is freed. A holder who got the role while
 * this ran is found by a second pass after RoleDeleted. Returns how many users lost it.
 */
export async function deleteRoleFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string): Promise<{ revoked: number }> {
  const row = await findRoleFor(deps, acting, id);
  const organizationId = row.organizationId;
  const orgCtx = { ...ctx, organizationId };
  const { state } = await loadState(deps.store, stream.role(row.id), role);
  // Refused before anyone loses the role: a system role (422), a role already gone (404).
  role.decide({ type: "DeleteRole" }, state);
  if (state.status !== "exists") throw roleNotFound();

  let position = 0n;
  const revoked = new Set<string>();
  const revokeFromHolders = async () => {
    await deps.projector.waitFor(await deps.store.headPosition());
    for (const userId of await roleHolderIds(deps.db.drizzle, organizationId, row.id)) {
      try {
        const r = await handleCommand(
          deps.store,
          stream.user(userId),
          user,
          { type: "RevokeRoles", roles: [{ id: row.id, name: state.profile.name }] },
          orgCtx,
          { organizationId },
        );
        if (r.events.length > 0) revoked.add(userId);
        if (r.position > position) position = r.position;
      } catch (err) {
        // Deleted meanwhile: holds nothing any more.
        if (!(err instanceof DomainError && err.kind === "not_found")) throw err;
      }
    }
  };

  await revokeFromHolders();
  const deleted = await handleCommand(deps.store, stream.role(row.id), role, { type: "DeleteRole" }, orgCtx, { organizationId });
  if (deleted.position > position) position = deleted.position;
  await release(deps.store, orgCtx, roleNameClaim(organizationId, state.profile.name), row.id);
  await revokeFromHolders();
  await settle(deps, position);
  return { revoked: revoked.size };
}

function roleGone(): never {
  // Deleted between the write and the read: as good as not found.
  throw roleNotFound();
}
