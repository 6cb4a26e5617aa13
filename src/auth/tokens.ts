/**
 * Access tokens: HS256 JWTs. Verification (untrusted input) goes through jose, the
 * library under @elysiajs/jwt, used directly because tokens are also checked outside a
 * request; verified tokens are kept in a bounded cache until they expire, and a cached
 * token is still checked against the session state per request.
 *
 * Minting is ours: a fixed header, our own claims, one synchronous HMAC. jose's SignJWT
 * goes through WebCrypto (a key import and an asynchronous sign per token), measured at
 * about a tenth of the service's CPU per refresh (bench/identity.ts); the tokens are
 * byte-for-byte what a JWT library makes, and jose verifies them (test/unit/tokens.test.ts).
 */
import { createHmac } from "node:crypto";
import { jwtVerify, errors as joseErrors } from "jose";

export const ISSUER = "ledgerline";
export const AUDIENCE = "ledgerline-api";
const ALGORITHM = "HS256";
/** base64url({"alg":"HS256","typ":"JWT"}): the same for every token. */
const HEADER = Buffer.from(JSON.stringify({ alg: ALGORITHM, typ: "JWT" })).toString("base64url");

export interface AccessClaims {
  sub: string;
  org: string;
  sid: string;
  jti: string;
  typ: "access";
  exp: number;
  iat: number;
}

export class InvalidTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "InvalidTokenError";
  }
}

export class TokenService {
  private readonly key: Uint8Array;
  private readonly cache = new Map<string, AccessClaims>();

  constructor(secret: string, readonly accessTtlSeconds: number, private readonly cacheSize = 10_000) {
    this.key = new TextEncoder().encode(secret);
  }

  async issueAccess(claims: { sub: string; org: string; sid: string }, now = new Date()): Promise<{ token: string; expiresIn: number; jti: string }> {
    const iat = Math.floor(now.getTime() / 1000);
    const jti = Bun.randomUUIDv7();
    const payload = { org: claims.org, sid: claims.sid, typ: "access", sub: claims.sub, iss: ISSUER, aud: AUDIENCE, jti, iat, exp: iat + this.accessTtlSeconds };
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    const signature = createHmac("sha256", this.key).update(signingInput).digest("base64url");
    return { token: `${signingInput}.${signature}`, expiresIn: this.accessTtlSeconds, jti };
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const cached = this.cache.get(token);
    if (cached) {
      if (cached.exp > nowSeconds) return cached;
      this.cache.delete(token);
      throw new InvalidTokenError("token expired");
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ["exp", "sub", "jti"] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError("token expired");
      throw new InvalidTokenError("invalid token");
    }
    if (payload.typ !== "access" || typeof payload.org !== "string" || typeof payload.sid !== "string") {
      throw new InvalidTokenError("not an access token");
    }
    const claims = payload as unknown as AccessClaims;
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, claims);
    return claims;
  }

  clearCache(): void {
    this.cache.clear();
  }
}
