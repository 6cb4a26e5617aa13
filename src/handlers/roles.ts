/**
 * Role use cases needed by identity: every organization gets the system roles admin,
 * manager and user; role names are unique per organization through reservations.
 */
import type { Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { role, type RoleProfile } from "../domain/role";
import { reservation } from "../domain/reservation";
import { SYSTEM_ROLE_NAMES, SYSTEM_ROLES, type SystemRoleName } from "../domain/permissions";
import { claim, release, type Claim } from "./reservations";

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
