/**
 * Access tokens: HS256 JWTs (jose, the library under @elysiajs/jwt; used directly because
 * tokens are also minted outside a request: bootstrap, tests, benchmarks).
 * Verification is the hot path, so verified tokens are kept in a bounded cache until
 * they expire; a cached token is still checked against the session state per request.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";

export const ISSUER = "ledgerline";
export const AUDIENCE = "ledgerline-api";
const ALGORITHM = "HS256";

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
    const token = await new SignJWT({ org: claims.org, sid: claims.sid, typ: "access" })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setSubject(claims.sub)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.accessTtlSeconds)
      .sign(this.key);
    return { token, expiresIn: this.accessTtlSeconds, jti };
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
