/**
 * argon2id at OWASP's parameters (19 MiB, 2 passes): Bun's default 64 MiB is ~4x slower
 * and buys little at these sizes.
 */
export const ARGON2 = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON2);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return Bun.password.verify(password, hash, "argon2id").catch(() => false);
}

/** Whether a stored hash was made with other parameters and should be redone at login. */
export function needsRehash(hash: string): boolean {
  return !hash.startsWith(`$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},`);
}

let dummy: Promise<string> | undefined;
/** Verifying against this for unknown users keeps the answer time the same. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(crypto.randomUUID());
  return dummy;
}
