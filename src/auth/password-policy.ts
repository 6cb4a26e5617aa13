/**
 * What a new password must be: 8 to 128 characters (never truncated: argon2id takes the
 * whole string), and not one of the 10,000 most common passwords (shipped list, ranked
 * from leaked-password corpora; compared case-insensitively).
 */
import { readFileSync } from "node:fs";
import { DomainError } from "../domain/errors";

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 128;

let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  common ??= new Set(readFileSync(new URL("./common-passwords.txt", import.meta.url), "utf8").split("\n").filter(Boolean));
  return common;
}

/** Throws a 422 naming `path` when the password is not acceptable. */
export function assertAcceptablePassword(password: string, path = "/body/password", context: { email?: string } = {}): void {
  const length = [...password].length;
  const fail = (message: string) => new DomainError("validation", message, { errors: [{ path, message }] });
  if (length < MIN_PASSWORD) throw fail(`Password must be at least ${MIN_PASSWORD} characters`);
  if (length > MAX_PASSWORD) throw fail(`Password must be at most ${MAX_PASSWORD} characters`);
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) throw fail("This password is too common; choose another");
  if (context.email && lower === context.email.toLowerCase()) throw fail("The password must not be the e-mail address");
}
