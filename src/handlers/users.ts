/**
 * User use cases: create (e-mail claim + seat + registration, undone on failure),
 * profile, activation, deletion, roles, passwords.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { emailKey, user, type UserCommand, type UserProfile, type UserSource } from "../domain/user";
import { seats } from "../domain/seats";
import { DomainError, notFound } from "../domain/errors";
import { hashPassword } from "../auth/passwords";
import { assertAcceptablePassword } from "../auth/password-policy";
import { getOrganization } from "../../projections/organizations/queries";
import { claim, release, type Claim } from "./reservations";

export function emailClaim(organizationId: string, email: string): Claim {
  const key = emailKey(email);
  return { kind: "user_email", key: `${organizationId}:${key}`, label: `E-mail "${key}" in this organization` };
}

/** The argon2id hash is sealed to the user id before it goes into an event. */
export function sealPassword(deps: Pick<Deps, "secrets">, userId: string, hash: string): string {
  return deps.secrets.seal(hash, `user-password:${userId}`);
}

export function openPassword(deps: Pick<Deps, "secrets">, userId: string, sealed: string): string {
  return deps.secrets.open(sealed, `user-password:${userId}`);
}

export interface NewUser {
  organizationId: string;
  email: string;
  password: string;
  username?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  roleIds: string[];
  source: UserSource;
  isActive?: boolean;
  isVerified?: boolean;
}

/**
 * Claims the e-mail, takes a seat (max_users), registers the user. Any refusal undoes
 * what was taken, so a failed create leaves the e-mail and the seat free.
 * Returns the position to settle on; the caller decides when to wait.
 */
export async function createUser(
  deps: Deps,
  ctx: CommandContext,
  input: NewUser,
  options: { duringOnboarding?: boolean } = {},
): Promise<{ userId: string; position: bigint }> {
  assertAcceptablePassword(input.password, "/body/password", { email: input.email });
  // An onboarding creates users in its organization before it becomes visible.
  const org = await getOrganization(deps.db.drizzle, input.organizationId, { includeProvisioning: options.duringOnboarding });
  if (!org) throw notFound("Organization");
  const userId = Bun.randomUUIDv7();
  const email = input.email.trim();
  const orgCtx = { ...ctx, organizationId: input.organizationId };
  const c = emailClaim(input.organizationId, email);
  const passwordSealed = sealPassword(deps, userId, await hashPassword(input.password));
  await claim(deps.store, orgCtx, c, userId);
  let seated = false;
  try {
    await handleCommand(deps.store, stream.seats(input.organizationId), seats, { type: "TakeSeat", organizationId: input.organizationId, userId, maxUsers: org.maxUsers }, orgCtx);
    seated = true;
    const profile: UserProfile = { email, username: input.username ?? null, first_name: input.firstName ?? null, last_name: input.lastName ?? null };
    const { position } = await handleCommand(
      deps.store,
      stream.user(userId),
      user,
      {
        type: "RegisterUser",
        userId,
        organizationId: input.organizationId,
        profile,
        passwordSealed,
        isActive: input.isActive ?? true,
        isVerified: input.isVerified ?? false,
        roleIds: input.roleIds,
        source: input.source,
      },
      orgCtx,
    );
    return { userId, position };
  } catch (err) {
    if (seated) {
      await handleCommand(deps.store, stream.seats(input.organizationId), seats, { type: "ReleaseSeat", organizationId: input.organizationId, userId }, orgCtx).catch(() => {});
    }
    await release(deps.store, orgCtx, c, userId).catch(() => {});
    if (err instanceof DomainError && err.kind === "conflict" && err.message.startsWith("E-mail")) {
      throw new DomainError("conflict", "A user with this e-mail already exists in this organization");
    }
    throw err;
  }
}

/** Runs one user command against the user's stream; 404 for another organization's user. */
export async function changeUser(deps: Deps, ctx: CommandContext, organizationId: string, userId: string, command: UserCommand): Promise<{ position: bigint; events: number }> {
  const { state } = await loadState(deps.store, stream.user(userId), user);
  if (state.status === "absent" || state.status === "deleted" || state.organizationId !== organizationId) throw notFound("User");
  const result = await handleCommand(deps.store, stream.user(userId), user, command, { ...ctx, organizationId }, { organizationId });
  return { position: result.position, events: result.events.length };
}

/** Deletes a user and frees its e-mail and seat. */
export async function deleteUser(deps: Deps, ctx: CommandContext, organizationId: string, userId: string): Promise<bigint> {
  const { state } = await loadState(deps.store, stream.user(userId), user);
  if (state.status === "absent" || state.status === "deleted" || state.organizationId !== organizationId) throw notFound("User");
  const orgCtx = { ...ctx, organizationId };
  const { position } = await handleCommand(deps.store, stream.user(userId), user, { type: "DeleteUser" }, orgCtx, { organizationId });
  await release(deps.store, orgCtx, emailClaim(organizationId, state.profile.email), userId);
  const seat = await handleCommand(deps.store, stream.seats(organizationId), seats, { type: "ReleaseSeat", organizationId, userId }, orgCtx);
  return seat.position > position ? seat.position : position;
}

export { settle };
