/** Shared pieces of the user use cases. */
import type { Deps } from "../deps";
import type { Claim } from "./reservations";

export function emailClaim(organizationId: string, email: string): Claim {
  const key = email.trim().toLowerCase();
  return { kind: "user_email", key: `${organizationId}:${key}`, label: `E-mail "${key}" in this organization` };
}

/** The argon2id hash is sealed to the user id before it goes into an event. */
export function sealPassword(deps: Pick<Deps, "secrets">, userId: string, hash: string): string {
  return deps.secrets.seal(hash, `user-password:${userId}`);
}

export function openPassword(deps: Pick<Deps, "secrets">, userId: string, sealed: string): string {
  return deps.secrets.open(sealed, `user-password:${userId}`);
}
