/**
 * The one redaction every audit output goes through (logs, exports, raw replay, the
 * export script). Events should never hold a secret in clear, but they do hold sealed
 * passwords, token and key hashes, and an auditor's copy must not carry even those: a
 * hash is enough to test guesses offline.
 *
 * Two rules, at any depth:
 * - a key whose name says it holds a secret is dropped (password, token, hash, sealed...),
 * - a string that looks like a secret wherever it sits (argon2/bcrypt hash, an `llk_`
 *   API key, an `llr_` refresh token, a JWT) has that part replaced by "[REDACTED]".
 * The public 12-character key prefix (`llk_` + 8 hex digits) is kept: it names a key
 * without being one.
 */

export const REDACTED = "[REDACTED]";

/** Key names (lower-cased, `-` read as `_`) that are secrets whatever they hold. */
const SECRET_KEYS = new Set([
  "password",
  "passwd",
  "pass",
  "secret",
  "token",
  "jwt",
  "hash",
  "key_hash",
  "api_key",
  "apikey",
  "ciphertext",
  "private_key",
  "secret_key",
  "client_secret",
  "authorization",
  "cookie",
  "set_cookie",
  "session_token",
  "access_token",
  "refresh_token",
  "id_token",
  "encryption_key",
  "data_encryption_key",
]);

const SECRET_SUFFIXES = ["_password", "_passwd", "_secret", "_token", "_hash", "_sealed", "_ciphertext", "_api_key", "_private_key", "_secret_key"];
const SECRET_PREFIXES = ["sealed_", "password_", "secret_", "encrypted_"];

export function isSecretKey(name: string): boolean {
  const k = name.toLowerCase().replace(/-/g, "_");
  if (SECRET_KEYS.has(k)) return true;
  if (k.includes("password")) return true;
  return SECRET_SUFFIXES.some((s) => k.endsWith(s)) || SECRET_PREFIXES.some((p) => k.startsWith(p));
}

/**
 * Secret-looking substrings. `llk_`: a full key is the 12-character prefix plus `_` and
 * 43 more characters, so 20+ characters after `llk_` is a key, fewer is its public prefix.
 */
const SECRET_PATTERN = new RegExp(
  [
    String.raw`\$argon2(?:id|i|d)\$[A-Za-z0-9+/=$,.-]*`,
    String.raw`\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{20,}`,
    String.raw`llk_[A-Za-z0-9_-]{20,}`,
    String.raw`llr_[A-Za-z0-9_-]{20,}`,
    String.raw`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`,
  ].join("|"),
  "g",
);
const QUICK_CHECK = /\$argon2|\$2[abxy]?\$|llk_|llr_|eyJ/;

export function redactString(s: string): string {
  // Most strings hold none of the markers: skip the full pattern for them.
  if (!QUICK_CHECK.test(s)) return s;
  return s.replace(SECRET_PATTERN, REDACTED);
}

/** A redacted deep copy of a JSON value. */
export function redact<T>(value: T): T {
  return redactValue(value, 0) as T;
}

const MAX_DEPTH = 64;

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (isSecretKey(k)) continue;
    out[k] = redactValue(v, depth + 1);
  }
  return out;
}
