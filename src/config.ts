/**
 * Typed environment. Every variable the service reads is parsed here, once, at start.
 * A bad value raises ConfigError whose message is one line naming the variable, so
 * `main.ts` can print it and exit instead of failing later in some unrelated place.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { LockoutPolicy } from "./domain/login";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Postgres for events and read models; unset = embedded PGlite under dataDir. */
  databaseUrl?: string;
  /** EventStoreDB for events (read models stay in Postgres/PGlite). */
  eventstoreUrl?: string;
  superAdminEmail: string;
  /** Unset = a random password is generated on first start and printed once. */
  superAdminPassword?: string;
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** 32 bytes. */
  dataEncryptionKey: Uint8Array;
  anthropicApiKey?: string;
  anthropicBaseUrl?: string;
  anthropicModel: string;
  demo: boolean;
  logLevel: LogLevel;
  environment: string;
  version: string;
  /** Login lockout; unset = DEFAULT_LOCKOUT (5 failures in 15 min, 15 min lock, doubling). Tests shorten it. */
  lockout?: LockoutPolicy;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    // One line, whatever the value or the OS error contained.
    super(`${variable}: ${problem}`.replace(/\s*[\r\n]+\s*/g, " "));
    this.name = "ConfigError";
  }
}

/** A value echoed in a message: quoted, control characters escaped, length bounded. */
function shown(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}...` : raw);
}

type Env = Record<string, string | undefined>;

const DURATION = /^(\d+)\s*(s|m|h|d)?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

function durationSeconds(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const m = DURATION.exec(raw);
  if (!m) throw new ConfigError(name, `expected seconds or a duration like 15m, 12h, 30d; got ${shown(raw)}`);
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] ?? "s") as keyof typeof UNIT_SECONDS];
  if (seconds < 1) throw new ConfigError(name, "must be at least 1 second");
  return seconds;
}

function port(env: Env): number {
  const raw = env.PORT?.trim();
  if (!raw) return 8000;
  // Digits only: Number() would also take "0x1f", "1e3" or "80.0".
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError("PORT", `expected 0-65535; got ${shown(raw)}`);
  return n;
}

function url(env: Env, name: string, schemes: string[]): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL (expected ${schemes.join(" or ")}...)`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ""))) {
    throw new ConfigError(name, `expected a ${schemes.join(" or ")} URL; got scheme "${parsed.protocol}"`);
  }
  return raw;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `expected 1 or 0; got ${shown(env[name]!)}`);
}

function email(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^[^\s@]+@[^\s@]+$/.test(raw)) throw new ConfigError(name, `not an e-mail address: ${shown(raw)}`);
  return raw.toLowerCase();
}

/**
 * A secret comes from the environment or, in embedded mode only, from a file in DATA_DIR
 * generated on first start (0600). In server mode several API processes must share it,
 * so it has to be given explicitly.
 */
function secret(
  env: Env,
  name: string,
  opts: { embedded: boolean; required: boolean; dataDir: string; file: string; generate: () => string; validate: (v: string) => string | null },
): string {
  const raw = env[name]?.trim();
  if (raw) {
    const problem = opts.validate(raw);
    if (problem) throw new ConfigError(name, problem);
    return raw;
  }
  if (!opts.embedded) {
    // Tools that never mint tokens or open secrets (replay) may run without it.
    if (!opts.required) return opts.generate();
    throw new ConfigError(name, "must be set when DATABASE_URL or EVENTSTORE_URL is set (all API processes must share it)");
  }
  const path = join(opts.dataDir, opts.file);
  const stored = storedSecret(opts.dataDir, path, opts.generate);
  const problem = opts.validate(stored);
  if (problem) throw new ConfigError(name, `the generated value in ${path} is invalid (${problem}); delete the file to regenerate it`);
  return stored;
}

/**
 * Reads DATA_DIR/<file>, creating it (0600) when missing. Two processes starting on a
 * fresh DATA_DIR both get the value of whichever created the file first (the loser then
 * meets the DATA_DIR lock and its clear message, not EEXIST). A DATA_DIR that cannot be
 * created or read is reported as a DATA_DIR problem.
 */
function storedSecret(dataDir: string, path: string, generate: () => string): string {
  const fsProblem = (err: unknown) =>
    new ConfigError("DATA_DIR", `cannot use ${dataDir}: ${err instanceof Error ? err.message : String(err)}`);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw fsProblem(err);
  }
  const value = generate();
  try {
    writeFileSync(path, value + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(path, 0o600);
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fsProblem(err);
  }
  // Exists: ours from an earlier start, or another process's being written right now.
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = readFileSync(path, "utf8").trim();
    } catch (err) {
      throw fsProblem(err);
    }
    if (text || attempt >= 20) return text;
    Bun.sleepSync(25);
  }
}

function encryptionKey(value: string): string | null {
  // Buffer.from(_, "base64") skips characters outside the alphabet: a mistyped key
  // would silently become another key.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return "expected 32 bytes in base64 (openssl rand -base64 32); the value is not base64";
  const bytes = Buffer.from(value, "base64");
  return bytes.length === 32 ? null : `expected 32 bytes in base64 (openssl rand -base64 32); got ${bytes.length} bytes`;
}

export interface LoadOptions {
  /** False for tools (replay) that never use JWT_SECRET or DATA_ENCRYPTION_KEY. */
  requireSecrets?: boolean;
}

export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  const requireSecrets = options.requireSecrets ?? true;
  const dataDir = resolve(env.DATA_DIR?.trim() || "./data");
  const databaseUrl = url(env, "DATABASE_URL", ["postgres", "postgresql"]);
  const eventstoreUrl = url(env, "EVENTSTORE_URL", ["esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"]);
  if (eventstoreUrl && !databaseUrl) {
    // Read models need a Postgres that every API process shares.
    throw new ConfigError("EVENTSTORE_URL", "needs DATABASE_URL as well (read models live in Postgres)");
  }
  const embedded = !databaseUrl;
  const logLevel = (env.LOG_LEVEL?.trim().toLowerCase() || "info") as LogLevel;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `expected debug, info, warn or error; got ${shown(env.LOG_LEVEL!)}`);
  }
  const superAdminPassword = env.SUPER_ADMIN_PASSWORD || undefined;
  if (superAdminPassword !== undefined && (superAdminPassword.length < 8 || superAdminPassword.length > 128)) {
    throw new ConfigError("SUPER_ADMIN_PASSWORD", "must be 8 to 128 characters");
  }
  const anthropicModel = env.ANTHROPIC_MODEL?.trim() || "claude-sonnet-4-5";
  return {
    port: port(env),
    host: env.HOST?.trim() || "0.0.0.0",
    dataDir,
    databaseUrl,
    eventstoreUrl,
    superAdminEmail: email(env, "SUPER_ADMIN_EMAIL", "admin@ledgerline.local"),
    superAdminPassword,
    jwtSecret: secret(env, "JWT_SECRET", {
      embedded,
      required: requireSecrets,
      dataDir,
      file: "jwt-secret",
      generate: () => randomBytes(48).toString("base64url"),
      validate: (v) => (v.length >= 32 ? null : "must be at least 32 characters"),
    }),
    accessTokenTtlSeconds: durationSeconds(env, "ACCESS_TOKEN_TTL", 900),
    refreshTokenTtlSeconds: durationSeconds(env, "REFRESH_TOKEN_TTL", 30 * 86400),
    dataEncryptionKey: Buffer.from(
      secret(env, "DATA_ENCRYPTION_KEY", {
        embedded,
        required: requireSecrets,
        dataDir,
        file: "data-encryption-key",
        generate: () => randomBytes(32).toString("base64"),
        validate: encryptionKey,
      }),
      "base64",
    ),
    anthropicApiKey: env.ANTHROPIC_API_KEY?.trim() || undefined,
    anthropicBaseUrl: url(env, "ANTHROPIC_BASE_URL", ["http", "https"]),
    anthropicModel,
    demo: flag(env, "DEMO", embedded),
    logLevel,
    environment: env.NODE_ENV?.trim() || "development",
    version: packageVersion(),
  };
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}
