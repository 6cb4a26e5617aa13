/**
 * First start: the built-in `system` organization, the system permission catalog and
 * the super admin. Idempotent and safe when several processes start together (the
 * reservation streams decide).
 */
import { randomBytes } from "node:crypto";
import { settle, type Deps } from "../deps";
import { systemContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { organization } from "../domain/organization";
import { reservation } from "../domain/reservation";
import { user } from "../domain/user";
import { DomainError } from "../domain/errors";
import { hashPassword } from "../auth/passwords";
import { claim, release } from "./reservations";
import { createOrganization, SYSTEM_ORGANIZATION_ID } from "./organizations";
import { emailClaim, sealPassword } from "./users";
import { ensureSystemPermissions } from "./permissions";

export interface BootstrapResult {
  superAdminEmail: string;
  superAdminId: string;
  /** Present only when the password was generated now: print it once. */
  generatedPassword?: string;
}

export async function bootstrap(deps: Deps): Promise<BootstrapResult> {
  const ctx = systemContext();
  const org = await loadState(deps.store, stream.organization(SYSTEM_ORGANIZATION_ID), organization);
  if (org.state.status === "absent") {
    await createOrganization(
      deps,
      ctx,
      { name: "System", slug: "system", description: "Platform operators (super admins)", registration_policy: "closed" },
      { id: SYSTEM_ORGANIZATION_ID, isSystem: true },
    ).catch((err) => {
      if (!(err instanceof DomainError && err.kind === "conflict")) throw err;
    });
  }

  // The permission catalog: every system permission not yet defined gets its event.
  await ensureSystemPermissions(deps, ctx);

  const email = deps.config.superAdminEmail;
  const c = emailClaim(SYSTEM_ORGANIZATION_ID, email);
  const held = await loadState(deps.store, stream.reservation(c.kind, c.key), reservation);
  if (held.state.holder) return { superAdminEmail: email, superAdminId: held.state.holder };

  const userId = Bun.randomUUIDv7();
  const generated = deps.config.superAdminPassword ? undefined : randomBytes(18).toString("base64url");
  const password = deps.config.superAdminPassword ?? generated!;
  try {
    await claim(deps.store, ctx, c, userId);
  } catch (err) {
    if (err instanceof DomainError && err.kind === "conflict") {
      const again = await loadState(deps.store, stream.reservation(c.kind, c.key), reservation);
      return { superAdminEmail: email, superAdminId: again.state.holder! };
    }
    throw err;
  }
  try {
    const { position } = await handleCommand(
      deps.store,
      stream.user(userId),
      user,
      {
        type: "RegisterUser",
        userId,
        organizationId: SYSTEM_ORGANIZATION_ID,
        profile: { email, username: "superadmin", first_name: "Super", last_name: "Admin" },
        passwordSealed: sealPassword(deps, userId, await hashPassword(password)),
        isActive: true,
        isVerified: true,
        roleIds: [],
        source: "bootstrap",
      },
      ctx,
      { organizationId: SYSTEM_ORGANIZATION_ID },
    );
    await settle(deps, position);
  } catch (err) {
    await release(deps.store, ctx, c, userId).catch(() => {});
    throw err;
  }
  return { superAdminEmail: email, superAdminId: userId, generatedPassword: generated };
}
