/**
 * Access tokens minted by TokenService are standard HS256 JWTs: jose (an independent
 * implementation) verifies them with the secret and reads the same claims, and the
 * service's own verification refuses a token altered anywhere.
 */
import { describe, expect, test } from "bun:test";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { AUDIENCE, ISSUER, InvalidTokenError, TokenService } from "../../src/auth/tokens";

const SECRET = "a-test-secret-of-reasonable-length-0123456789";
const claims = { sub: "0194b1c2-3d4e-7f00-8000-000000000001", org: "0194b1c2-3d4e-7f00-8000-000000000002", sid: "0194b1c2-3d4e-7f00-8000-000000000003" };

describe("access tokens", () => {
  test("given a minted token, when jose verifies it with the secret, then it passes with every claim and the HS256 header", async () => {
    const tokens = new TokenService(SECRET, 900);
    const now = new Date();
    const { token, jti, expiresIn } = await tokens.issueAccess(claims, now);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE });
    const iat = Math.floor(now.getTime() / 1000);
    expect(payload).toEqual({ ...claims, typ: "access", iss: ISSUER, aud: AUDIENCE, jti, iat, exp: iat + 900 });
    expect(expiresIn).toBe(900);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
  });

  test("given a minted token, when verified with another secret, then jose refuses it", async () => {
    const { token } = await new TokenService(SECRET, 900).issueAccess(claims);
    await expect(jwtVerify(token, new TextEncoder().encode(`${SECRET}-other`), { algorithms: ["HS256"] })).rejects.toThrow();
  });

  test("given a minted token, when its payload or signature is altered, then the service's verification refuses it", async () => {
    const tokens = new TokenService(SECRET, 900);
    const { token } = await tokens.issueAccess(claims);
    expect((await tokens.verifyAccess(token)).sid).toBe(claims.sid);
    const [header, payload, signature] = token.split(".");
    const otherPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "someone-else" })).toString("base64url");
    const flipped = signature.slice(0, -2) + (signature.at(-2) === "A" ? "B" : "A") + signature.at(-1);
    await expect(tokens.verifyAccess(`${header}.${otherPayload}.${signature}`)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(tokens.verifyAccess(`${header}.${payload}.${flipped}`)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});
