/**
 * loadConfig(env) with explicit environments: never process.env, and every DATA_DIR is a
 * fresh temporary directory (embedded mode writes generated secrets there).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ConfigError, loadConfig } from "../../src/config";

const dirs: string[] = [];
function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ll-config-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Env = Record<string, string | undefined>;

/** Embedded mode: only DATA_DIR. */
const embedded = (extra: Env = {}): Env => ({ DATA_DIR: tempDataDir(), ...extra });

const validJwtSecret = () => randomBytes(32).toString("base64url");
const validKey = () => randomBytes(32).toString("base64");
/** Server mode with both secrets given. */
const server = (extra: Env = {}): Env => ({
  DATA_DIR: tempDataDir(),
  DATABASE_URL: "postgres://app:secret@db.internal:5432/ledgerline",
  JWT_SECRET: validJwtSecret(),
  DATA_ENCRYPTION_KEY: validKey(),
  ...extra,
});

/** The ConfigError thrown by loadConfig(env); fails the test when none (or another error) is thrown. */
function configErrorOf(env: Env, options?: Parameters<typeof loadConfig>[1]): ConfigError {
  let thrown: unknown;
  try {
    loadConfig(env, options);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

function expectOneLineNaming(err: ConfigError, variable: string) {
  expect(err.variable).toBe(variable);
  expect(err.message.startsWith(`${variable}: `)).toBe(true);
  expect(err.message).not.toMatch(/[\r\n]/);
  expect(err.message.length).toBeGreaterThan(variable.length + 2);
}

describe("loadConfig, given an empty environment apart from DATA_DIR (embedded mode)", () => {
  test("when loaded / then the documented defaults apply", () => {
    const env = embedded();
    const config = loadConfig(env);
    expect(config.port).toBe(8000);
    expect(config.host).toBe("0.0.0.0");
    expect(config.dataDir).toBe(env.DATA_DIR!);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.eventstoreUrl).toBeUndefined();
    expect(config.accessTokenTtlSeconds).toBe(900);
    expect(config.refreshTokenTtlSeconds).toBe(30 * 86400);
    expect(config.demo).toBe(true);
    expect(config.anthropicModel).toBe("claude-sonnet-4-5");
    expect(config.anthropicApiKey).toBeUndefined();
    expect(config.anthropicBaseUrl).toBeUndefined();
    expect(config.logLevel).toBe("info");
    expect(config.superAdminEmail).toBe("admin@ledgerline.local");
    expect(config.superAdminPassword).toBeUndefined();
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.dataEncryptionKey.length).toBe(32);
  });

  test("when loaded / then jwt-secret and data-encryption-key are generated in DATA_DIR with mode 0600", () => {
    const env = embedded();
    const config = loadConfig(env);
    for (const file of ["jwt-secret", "data-encryption-key"]) {
      const path = join(env.DATA_DIR!, file);
      expect(existsSync(path)).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(env.DATA_DIR!, "jwt-secret"), "utf8").trim()).toBe(config.jwtSecret);
    expect(Buffer.from(readFileSync(join(env.DATA_DIR!, "data-encryption-key"), "utf8").trim(), "base64").equals(Buffer.from(config.dataEncryptionKey))).toBe(true);
  });

  test("when loaded twice on the same DATA_DIR / then the second load reuses the generated secrets", () => {
    const env = embedded();
    const first = loadConfig(env);
    const fileBefore = readFileSync(join(env.DATA_DIR!, "jwt-secret"), "utf8");
    const second = loadConfig(env);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(Buffer.from(second.dataEncryptionKey).equals(Buffer.from(first.dataEncryptionKey))).toBe(true);
    expect(readFileSync(join(env.DATA_DIR!, "jwt-secret"), "utf8")).toBe(fileBefore);
  });

  test("when two DATA_DIRs are used / then each gets its own secrets", () => {
    const a = loadConfig(embedded());
    const b = loadConfig(embedded());
    expect(a.jwtSecret).not.toBe(b.jwtSecret);
    expect(Buffer.from(a.dataEncryptionKey).equals(Buffer.from(b.dataEncryptionKey))).toBe(false);
  });

  test("when JWT_SECRET and DATA_ENCRYPTION_KEY are given / then they are used and no files are written", () => {
    const secret = validJwtSecret();
    const key = validKey();
    const env = embedded({ JWT_SECRET: secret, DATA_ENCRYPTION_KEY: key });
    const config = loadConfig(env);
    expect(config.jwtSecret).toBe(secret);
    expect(Buffer.from(config.dataEncryptionKey).toString("base64")).toBe(key);
    expect(existsSync(join(env.DATA_DIR!, "jwt-secret"))).toBe(false);
    expect(existsSync(join(env.DATA_DIR!, "data-encryption-key"))).toBe(false);
  });

  test("when a generated secret file was damaged / then ConfigError names the variable and the file", () => {
    const env = embedded();
    writeFileSync(join(env.DATA_DIR!, "jwt-secret"), "short\n", { mode: 0o600 });
    const err = configErrorOf(env);
    expectOneLineNaming(err, "JWT_SECRET");
    expect(err.message).toContain(join(env.DATA_DIR!, "jwt-secret"));
  });

  test("when DATA_DIR cannot be created (below a regular file) / then ConfigError names DATA_DIR", () => {
    const parent = tempDataDir();
    const file = join(parent, "not-a-dir");
    writeFileSync(file, "x");
    expectOneLineNaming(configErrorOf({ DATA_DIR: join(file, "data") }), "DATA_DIR");
  });

  test("when DEMO=0, PORT, HOST, SUPER_ADMIN_* and ANTHROPIC_* are set / then they are taken (e-mail lower-cased)", () => {
    const config = loadConfig(
      embedded({
        DEMO: "0",
        PORT: "9123",
        HOST: "127.0.0.1",
        SUPER_ADMIN_EMAIL: "Root@Example.COM",
        SUPER_ADMIN_PASSWORD: "a-long-password",
        ANTHROPIC_API_KEY: "sk-test",
        ANTHROPIC_BASE_URL: "http://127.0.0.1:9999",
        ANTHROPIC_MODEL: "claude-test",
        LOG_LEVEL: "DEBUG",
      }),
    );
    expect(config).toMatchObject({
      demo: false,
      port: 9123,
      host: "127.0.0.1",
      superAdminEmail: "root@example.com",
      superAdminPassword: "a-long-password",
      anthropicApiKey: "sk-test",
      anthropicBaseUrl: "http://127.0.0.1:9999",
      anthropicModel: "claude-test",
      logLevel: "debug",
    });
  });
});

describe("loadConfig, durations", () => {
  const cases: Array<[string, number]> = [
    ["15m", 900],
    ["12h", 43_200],
    ["30d", 2_592_000],
    ["900", 900],
    ["45s", 45],
  ];
  for (const [raw, seconds] of cases) {
    test(`given ACCESS_TOKEN_TTL=${raw} and REFRESH_TOKEN_TTL=${raw} / when loaded / then both are ${seconds} s`, () => {
      const config = loadConfig(server({ ACCESS_TOKEN_TTL: raw, REFRESH_TOKEN_TTL: raw }));
      expect(config.accessTokenTtlSeconds).toBe(seconds);
      expect(config.refreshTokenTtlSeconds).toBe(seconds);
    });
  }

  test("given ACCESS_TOKEN_TTL=0 / when loaded / then ConfigError naming ACCESS_TOKEN_TTL", () => {
    expectOneLineNaming(configErrorOf(server({ ACCESS_TOKEN_TTL: "0" })), "ACCESS_TOKEN_TTL");
  });
});

describe("loadConfig, given one bad value", () => {
  const tooShortKey = "AAECAwQFBgcICQoLDA0ODw=="; // 16 bytes
  const cases: Array<[string, Env]> = [
    ["PORT", { PORT: "abc" }],
    ["PORT", { PORT: "70000" }],
    ["PORT", { PORT: "-1" }],
    ["PORT", { PORT: "0x1f" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }],
    ["DATABASE_URL", { DATABASE_URL: "not a url" }],
    ["EVENTSTORE_URL", { DATABASE_URL: "postgres://u@h/db", JWT_SECRET: "j".repeat(40), DATA_ENCRYPTION_KEY: randomBytes(32).toString("base64"), EVENTSTORE_URL: "http://x" }],
    ["EVENTSTORE_URL", { EVENTSTORE_URL: "esdb://127.0.0.1:2113?tls=false" }],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
    ["DEMO", { DEMO: "maybe" }],
    ["ACCESS_TOKEN_TTL", { ACCESS_TOKEN_TTL: "soon" }],
    ["REFRESH_TOKEN_TTL", { REFRESH_TOKEN_TTL: "1.5d" }],
    ["DATA_ENCRYPTION_KEY", { DATA_ENCRYPTION_KEY: tooShortKey }],
    ["DATA_ENCRYPTION_KEY", { DATA_ENCRYPTION_KEY: "this is not base64 at all, it has spaces and 32+ chars" }],
    // A stray character that lenient base64 decoding would skip, leaving 32 bytes of another key.
    ["DATA_ENCRYPTION_KEY", { DATA_ENCRYPTION_KEY: "73w9WuECjR.ICxzBhCPrCorZ2/NK2q7oJ9AIhNep1dDI=" }],
    ["JWT_SECRET", { JWT_SECRET: "too-short-secret" }],
    ["SUPER_ADMIN_EMAIL", { SUPER_ADMIN_EMAIL: "not-an-email" }],
    ["SUPER_ADMIN_PASSWORD", { SUPER_ADMIN_PASSWORD: "12345" }],
    ["ANTHROPIC_BASE_URL", { ANTHROPIC_BASE_URL: "ftp://x" }],
  ];
  for (const [variable, bad] of cases) {
    test(`given ${Object.entries(bad).filter(([k]) => k === variable).map(([k, v]) => `${k}=${v}`).join(" ")} / when loaded / then one-line ConfigError naming ${variable}`, () => {
      expectOneLineNaming(configErrorOf(embedded(bad)), variable);
    });
  }

  test("given a value with a line break / when loaded / then the message is still one line", () => {
    const err = configErrorOf(embedded({ LOG_LEVEL: "loud\nERROR: injected" }));
    expectOneLineNaming(err, "LOG_LEVEL");
    expect(err.message).toContain("loud");
  });

  test("given a DATABASE_URL of the wrong scheme carrying a password / when loaded / then the message does not echo the password", () => {
    const err = configErrorOf(server({ DATABASE_URL: "mysql://app:hunter2-secret@db/x" }));
    expectOneLineNaming(err, "DATABASE_URL");
    expect(err.message).not.toContain("hunter2-secret");
  });

  test("given a too-short JWT_SECRET / when loaded / then the message does not echo it", () => {
    const err = configErrorOf(embedded({ JWT_SECRET: "short-but-secret-value" }));
    expectOneLineNaming(err, "JWT_SECRET");
    expect(err.message).not.toContain("short-but-secret-value");
  });
});

describe("loadConfig, server mode (DATABASE_URL set)", () => {
  test("given no JWT_SECRET / when loaded / then ConfigError naming JWT_SECRET", () => {
    expectOneLineNaming(configErrorOf(server({ JWT_SECRET: undefined })), "JWT_SECRET");
  });

  test("given no DATA_ENCRYPTION_KEY / when loaded / then ConfigError naming DATA_ENCRYPTION_KEY", () => {
    expectOneLineNaming(configErrorOf(server({ DATA_ENCRYPTION_KEY: undefined })), "DATA_ENCRYPTION_KEY");
  });

  test("given no secrets and requireSecrets false / when loaded / then it loads, and nothing is written to DATA_DIR", () => {
    const env = server({ JWT_SECRET: undefined, DATA_ENCRYPTION_KEY: undefined });
    const config = loadConfig(env, { requireSecrets: false });
    expect(config.databaseUrl).toBe(env.DATABASE_URL!);
    expect(config.dataEncryptionKey.length).toBe(32);
    expect(existsSync(join(env.DATA_DIR!, "jwt-secret"))).toBe(false);
    expect(existsSync(join(env.DATA_DIR!, "data-encryption-key"))).toBe(false);
  });

  test("given both secrets / when loaded / then DEMO defaults to off and the URLs are kept", () => {
    const config = loadConfig(server({ EVENTSTORE_URL: "esdb://127.0.0.1:2113?tls=false" }));
    expect(config.demo).toBe(false);
    expect(config.databaseUrl).toBe("postgres://app:secret@db.internal:5432/ledgerline");
    expect(config.eventstoreUrl).toBe("esdb://127.0.0.1:2113?tls=false");
  });
});
