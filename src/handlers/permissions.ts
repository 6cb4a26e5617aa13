/**
 * The permission catalog as events. The system permissions (SPEC.md) are written at
 * bootstrap, one PermissionCreated each, and are immutable; super admins add, rename,
 * describe and delete custom ones. (resource, action) is unique through a reservation
 * (kind "permission", key "resource.action"), so two bootstraps starting together, or
 * two super admins, cannot define the same permission twice.
 *
 * Roles hold permissions by name. Renaming or deleting a custom permission therefore
 * moves or removes it in every role holding it, through RolePermissionsChanged on each
 * role's stream; the in-memory security state follows those like any other role change,
 * so the change applies on the next request.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { DomainError, conflict, notFound } from "../domain/errors";
import { reservation } from "../domain/reservation";
import { role } from "../domain/role";
import { SYSTEM_PERMISSIONS } from "../domain/permissions";
import {
  parsePermissionName,
  permission,
  permissionIdentityOf,
  permissionName,
  SYSTEM_PERMISSION_DESCRIPTIONS,
  type PermissionIdentity,
} from "../domain/permission";
import { getPermission } from "../../projections/permissions/queries";
import type { PermissionRow } from "../../projections/permissions/schema";
import { isUuid } from "../http/pagination";
import { claim, release, type Claim } from "./reservations";

export function permissionClaim(identity: PermissionIdentity): Claim {
  const name = permissionName(identity);
  return { kind: "permission", key: name, label: `Permission "${name}"` };
}

const SYSTEM_CATALOG = SYSTEM_PERMISSIONS.map((name) => ({ name, description: SYSTEM_PERMISSION_DESCRIPTIONS[name] }));

const isConflict = (err: unknown) => err instanceof DomainError && err.kind === "conflict";

/**
 * Defines every system permission not defined yet; returns the position to settle on.
 * Idempotent and safe when several processes bootstrap at once: the reservation decides
 * the id, and a claim whose PermissionCreated never got written (a crash in between) is
 * completed under the claimed id by the next bootstrap. `catalog` is the SPEC's (tests
 * pass their own).
 */
export async function ensureSystemPermissions(
  deps: Pick<Deps, "store" | "projector" | "security">,
  ctx: CommandContext,
  catalog: ReadonlyArray<{ name: string; description: string }> = SYSTEM_CATALOG,
): Promise<bigint> {
  let position = 0n;
  for (const { name, description } of catalog) {
    const identity = parsePermissionName(name);
    if (!identity) throw new Error(`bad system permission name ${name}`);
    const c = permissionClaim(identity);
    const reserved = await loadState(deps.store, stream.reservation(c.kind, c.key), reservation);
    let id = reserved.state.holder;
    if (!id) {
      const fresh = Bun.randomUUIDv7();
      try {
        await claim(deps.store, ctx, c, fresh);
        id = fresh;
      } catch (err) {
        if (!isConflict(err)) throw err;
        id = (await loadState(deps.store, stream.reservation(c.kind, c.key), reservation)).state.holder;
        if (!id) continue;
      }
    }
    const existing = await loadState(deps.store, stream.permission(id), permission);
    if (existing.state.status !== "absent") continue;
    try {
      const created = await handleCommand(
        deps.store,
        stream.permission(id),
        permission,
        { type: "CreatePermission", permissionId: id, identity, description, isSystem: true },
        ctx,
      );
      if (created.position > position) position = created.position;
    } catch (err) {
      // Another bootstrap wrote it first.
      if (!isConflict(err)) throw err;
    }
  }
  await settle(deps, position);
  return position;
}

export interface PermissionInput {
  name?: string;
  resource?: string;
  action?: string;
  description?: string | null;
}

export async function createPermission(deps: Deps, ctx: CommandContext, input: PermissionInput): Promise<PermissionRow> {
  const identity = permissionIdentityOf(input)!;
  const id = Bun.randomUUIDv7();
  const c = permissionClaim(identity);
  await claim(deps.store, ctx, c, id);
  let position: bigint;
  try {
    ({ position } = await handleCommand(
      deps.store,
      stream.permission(id),
      permission,
      { type: "CreatePermission", permissionId: id, identity, description: input.description?.trim() || null, isSystem: false },
      ctx,
    ));
  } catch (err) {
    await release(deps.store, ctx, c, id).catch(() => {});
    throw err;
  }
  await settle(deps, position);
  return (await getPermission(deps.db.drizzle, id)) ?? gone();
}

export async function updatePermission(deps: Deps, ctx: CommandContext, id: string, input: PermissionInput): Promise<PermissionRow> {
  if (!isUuid(id)) throw notFound("Permission");
  const permissionId = id.toLowerCase();
  const streamId = stream.permission(permissionId);
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadState(deps.store, streamId, permission);
    if (state.status !== "exists") throw notFound("Permission");
    const identity = permissionIdentityOf(input, { partial: true, current: state });
    const description = input.description === undefined ? undefined : input.description?.trim() || null;
    const events = permission.decide({ type: "UpdatePermission", identity: identity ?? undefined, description }, state);
    if (events.length === 0) return (await getPermission(deps.db.drizzle, permissionId)) ?? gone();
    const renamed = events.some((e) => e.type === "PermissionUpdated" && e.data.changes.name !== undefined);
    const newClaim = renamed ? permissionClaim(identity!) : null;
    if (newClaim) await claim(deps.store, ctx, newClaim, permissionId);
    let position: bigint;
    try {
      ({ position } = await deps.store.append(streamId, toNewEvents(events, ctx), revision));
    } catch (err) {
      if (newClaim) await release(deps.store, ctx, newClaim, permissionId).catch(() => {});
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      if (attempt >= 5) throw conflict("The permission was changed concurrently; retry the request");
      continue;
    }
    if (newClaim) {
      await release(deps.store, ctx, permissionClaim(state), permissionId);
      const moved = await movePermissionInRoles(deps, ctx, state.name, newClaim.key);
      if (moved.position > position) position = moved.position;
    }
    await settle(deps, position);
    return (await getPermission(deps.db.drizzle, permissionId)) ?? gone();
  }
}

/** Deletes a custom permission and takes it from every role holding it. */
export async function deletePermission(deps: Deps, ctx: CommandContext, id: string): Promise<{ rolesChanged: number }> {
  if (!isUuid(id)) throw notFound("Permission");
  const permissionId = id.toLowerCase();
  const { state, position } = await handleCommand(deps.store, stream.permission(permissionId), permission, { type: "DeletePermission" }, ctx);
  if (state.status === "absent") throw notFound("Permission");
  await release(deps.store, ctx, permissionClaim(state), permissionId);
  const moved = await movePermissionInRoles(deps, ctx, state.name, null);
  await settle(deps, moved.position > position ? moved.position : position);
  return { rolesChanged: moved.changed };
}

function rolesHolding(deps: Pick<Deps, "security">, name: string) {
  return [...deps.security.roles.values()].filter((r) => r.permissions.has(name));
}

/**
 * Replaces `from` by `to` (or removes it) in every role of every organization holding
 * it. Runs after the catalog change is appended: it first catches the security state up
 * to the store's head, so a role that got `from` before the change is found here, and a
 * role that gets it after sees the change in its own check (roles handler,
 * reconcileGrants). Returns the position to settle on and how many roles changed.
 */
export async function movePermissionInRoles(
  deps: Pick<Deps, "store" | "security">,
  ctx: CommandContext,
  from: string,
  to: string | null,
): Promise<{ position: bigint; changed: number }> {
  await deps.security.waitFor(await deps.store.headPosition());
  let position = 0n;
  let changed = 0;
  for (const r of rolesHolding(deps, from)) {
    try {
      const result = await handleCommand(
        deps.store,
        stream.role(r.id),
        role,
        { type: "ChangeRolePermissions", add: to ? [to] : [], remove: [from] },
        { ...ctx, organizationId: r.organizationId },
        { organizationId: r.organizationId },
      );
      if (result.events.length > 0) changed++;
      if (result.position > position) position = result.position;
    } catch (err) {
      // Deleted meanwhile: nothing left to change.
      if (!(err instanceof DomainError && err.kind === "not_found")) throw err;
    }
  }
  return { position, changed };
}

function gone(): never {
  throw notFound("Permission");
}
