/**
 * The auth macro: `{ auth: true }` needs any principal; `{ auth: { superAdmin: true } }`
 * the platform operator; `{ auth: { permission: "user.read" } }` a permission (super
 * admins pass everywhere). Its `resolve` yields `principal`.
 *
 * The check runs on memory only: the verified-token cache, then the security state
 * (session live, user active, organization active, role permissions), which the event
 * subscription keeps current. No database round trip per request.
 *
 * Without an Authorization header, `x-api-key: <secret>` authenticates as the key: its
 * SHA-256 is looked up in the security state, and the principal's permissions are the
 * key's scopes intersected with its creator's permissions at this moment.
 */
import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { DomainError } from "../domain/errors";
import { InvalidTokenError } from "../auth/tokens";
import { SYSTEM_ORGANIZATION_ID } from "../handlers/organizations";
import type { ApiKeyAccess, UserAccess } from "../auth/security-state";
import { hashApiKey } from "../domain/api-key";
import { PLATFORM_PERMISSIONS } from "../domain/permissions";

export interface Principal {
  type: "user" | "api_key";
  /** The actor: the user id, or the API key id. */
  id: string;
  userId: string;
  organizationId: string;
  sessionId: string | null;
  email: string;
  isSuperAdmin: boolean;
  permissions: ReadonlySet<string>;
}

export type AuthRequirement = true | { superAdmin?: boolean; permission?: string };

/** Credentials in a URL end up in logs and browser history: refused outright. */
const QUERY_CREDENTIALS = ["access_token", "token", "api_key", "apikey", "x-api-key", "jwt", "refresh_token", "key"];

const unauthorized = (detail = "Authentication required") => new DomainError("unauthorized", detail);

export function hasCredentialsInQuery(url: string): boolean {
  const q = url.indexOf("?");
  if (q < 0) return false;
  const params = new URLSearchParams(url.slice(q + 1));
  return QUERY_CREDENTIALS.some((k) => params.has(k));
}

export function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space).toLowerCase() !== "bearer") throw unauthorized("Expected 'Authorization: Bearer <token>'");
  const token = header.slice(space + 1).trim();
  if (!token) throw unauthorized("Expected 'Authorization: Bearer <token>'");
  return token;
}

export function principalForUser(deps: Pick<Deps, "security">, user: UserAccess, sessionId: string | null): Principal {
  const isSuperAdmin = user.organizationId === SYSTEM_ORGANIZATION_ID;
  return {
    type: "user",
    id: user.id,
    userId: user.id,
    organizationId: user.organizationId,
    sessionId,
    email: user.email,
    isSuperAdmin,
    permissions: deps.security.permissionsOf(user),
  };
}

/** One answer for every way a key can be unusable: unknown, revoked, expired, rotated, suspended. */
const INVALID_API_KEY = "Invalid API key";
/** Our secrets are ~60 characters; anything far longer is not one (and is not hashed). */
const MAX_API_KEY_LENGTH = 256;

/**
 * What a key may do right now: its scopes, narrowed to what its creator holds now (a
 * role revoked from the creator narrows the key on the next request). A super admin's
 * key carries its organization-scoped scopes, never the platform's, and is no super admin.
 */
export function apiKeyPermissions(deps: Pick<Deps, "security">, key: ApiKeyAccess, creator: UserAccess): Set<string> {
  const out = new Set<string>();
  if (creator.organizationId === SYSTEM_ORGANIZATION_ID) {
    for (const s of key.scopes) if (!PLATFORM_PERMISSIONS.includes(s)) out.add(s);
    return out;
  }
  const held = deps.security.permissionsOf(creator);
  for (const s of key.scopes) if (held.has(s)) out.add(s);
  return out;
}

export function principalForApiKey(deps: Pick<Deps, "security" | "apiKeyUsage">, secret: string, now = Date.now()): Principal {
  const presented = secret.trim();
  if (!presented || presented.length > MAX_API_KEY_LENGTH) throw unauthorized(INVALID_API_KEY);
  const found = deps.security.usableApiKey(hashApiKey(presented), now);
  if (!found) throw unauthorized(INVALID_API_KEY);
  const { key, creator } = found;
  deps.apiKeyUsage.touch(key.id, now);
  return {
    type: "api_key",
    id: key.id,
    userId: creator.id,
    organizationId: key.organizationId,
    sessionId: null,
    email: creator.email,
    isSuperAdmin: false,
    permissions: apiKeyPermissions(deps, key, creator),
  };
}

export async function authenticate(deps: Deps, request: Request): Promise<Principal> {
  if (hasCredentialsInQuery(request.url)) {
    throw unauthorized("Credentials in the query string are refused; use the Authorization or x-api-key header");
  }
  const token = bearerToken(request);
  if (!token) {
    const apiKey = request.headers.get("x-api-key");
    if (apiKey !== null) return principalForApiKey(deps, apiKey);
    throw unauthorized();
  }
  let claims;
  try {
    claims = await deps.tokens.verifyAccess(token);
  } catch (err) {
    if (err instanceof InvalidTokenError) throw unauthorized(err.message === "token expired" ? "Token expired" : "Invalid token");
    throw err;
  }
  const security = deps.security;
  const session = security.sessions.get(claims.sid);
  const user = security.users.get(claims.sub);
  // One answer for every way a token can have died: no hint which it was.
  if (
    !session ||
    session.expiresAt <= Date.now() ||
    session.userId !== claims.sub ||
    !user ||
    !user.isActive ||
    user.organizationId !== claims.org ||
    !security.organizationUsable(user.organizationId)
  ) {
    throw unauthorized("Invalid token");
  }
  return principalForUser(deps, user, claims.sid);
}

export function authorize(principal: Principal, requirement: AuthRequirement): void {
  if (requirement === true) return;
  if (requirement.superAdmin && !principal.isSuperAdmin) throw new DomainError("forbidden", "Super admin only", { permission: "super_admin" });
  if (requirement.permission && !principal.isSuperAdmin && !principal.permissions.has(requirement.permission)) {
    throw new DomainError("forbidden", `Missing permission ${requirement.permission}`, { permission: requirement.permission });
  }
}

// Who made a request, once authenticated: the auth macro's resolve hands it to the route,
// and the error handler names it in the AccessDenied event of a refused request.
const principals = new WeakMap<Request, Principal>();

export function principalOfRequest(request: Request): Principal | undefined {
  return principals.get(request);
}

export function authPlugin(deps: Deps) {
  // Authentication runs in `transform`, before body and query validation: a request
  // without valid credentials gets 401 and learns nothing of the route's schema.
  return new Elysia({ name: "auth" }).macro({
    auth: (requirement: AuthRequirement) => ({
      async transform({ request }) {
        const principal = await authenticate(deps, request);
        principals.set(request, principal);
        authorize(principal, requirement);
        // This principal's earlier write may have answered before it was projected.
        await deps.ownWrites.settle(principal.userId, (position) => deps.projector.waitFor(position));
      },
      resolve({ request }) {
        return { principal: principals.get(request)! };
      },
    }),
  });
}
