/**
 * Redaction (src/audit/redact.ts): the one function every audit output goes through.
 */
import { describe, expect, test } from "bun:test";
import { REDACTED, isSecretKey, redact, redactString } from "../../src/audit/redact";

const ARGON = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
const API_KEY = "llk_0a1b2c3d_" + "A".repeat(43);
const REFRESH = "llr_0190a1b2-0000-7000-8000-000000000002_" + "b".repeat(43);
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";

describe("audit redaction", () => {
  test("given secret-named keys at any depth, when redacted, then they are dropped and everything else is kept", () => {
    const input = {
      user_id: "u1",
      email: "a@b.c",
      password: "hunter2hunter2",
      password_sealed: "v1.k.iv.ct",
      new_password: "x",
      refresh_token_hash: "abc",
      key_hash: "def",
      hash: "00",
      sealed_secret: "s",
      nested: { deeper: [{ token: "t", api_key: "k", ciphertext: "c", keep: 1 }], client_secret: "z" },
      usage: { input_tokens: 10, output_tokens: 20 },
      prefix: "llk_0a1b2c3d",
    };
    expect(redact(input) as unknown).toEqual({
      user_id: "u1",
      email: "a@b.c",
      nested: { deeper: [{ keep: 1 }] },
      usage: { input_tokens: 10, output_tokens: 20 },
      prefix: "llk_0a1b2c3d",
    });
    // A copy: the event itself is left as it was.
    expect(input.password).toBe("hunter2hunter2");
  });

  test("given secrets inside ordinary strings, when redacted, then only the secret part is masked", () => {
    expect(redactString(`hash is ${ARGON} here`)).toBe(`hash is ${REDACTED} here`);
    expect(redactString(`key=${API_KEY}`)).toBe(`key=${REDACTED}`);
    expect(redactString(`{"refresh":"${REFRESH}"}`)).toBe(`{"refresh":"${REDACTED}"}`);
    expect(redactString(`Bearer ${JWT}`)).toBe(`Bearer ${REDACTED}`);
    expect(redactString("$2b$12$" + "x".repeat(53))).toBe(REDACTED);
    expect(redact({ reason: ARGON, list: [API_KEY, "plain"] })).toEqual({ reason: REDACTED, list: [REDACTED, "plain"] });
  });

  test("given a key's public prefix and plain values, when redacted, then they are unchanged", () => {
    for (const v of ["llk_0a1b2c3d", "hello", "", "2026-01-01T00:00:00Z"]) expect(redactString(v)).toBe(v);
    expect(redact({ n: 1, b: true, z: null, a: [1, "x"] })).toEqual({ n: 1, b: true, z: null, a: [1, "x"] });
  });

  test("secret key names are recognised in either spelling", () => {
    for (const k of ["password", "Password_Hash", "refresh-token", "api_key", "key_hash", "password_sealed", "sealed_value", "access_token", "x_secret"]) expect(isSecretKey(k)).toBe(true);
    for (const k of ["user_id", "email", "input_tokens", "prefix", "scopes", "reason", "api_key_id", "key"]) expect(isSecretKey(k)).toBe(false);
  });
});
