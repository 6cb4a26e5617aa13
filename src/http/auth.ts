/**
 * The auth macro: `{ auth: true }` needs any principal; `{ auth: { superAdmin: true } }`
 * the platform operator; `{ auth: { permission: "user.read" } }` a permission (super
 * admins pass everywhere). Its `resolve` yields `principal`.
 */
import { Elysia } from "elysia";
import type { Deps } from "../deps";
import { DomainError } from "../domain/errors";
import { InvalidTokenError } from "../auth/tokens";
import { getUser } from "../../projections/users/queries";
import { getOrganization } from "../../projections/organizations/queries";
import { SYSTEM_ORGANIZATION_ID } from "../handlers/organizations";

export interface Principal {
  type: "user" | "api_key";
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

function refuseQueryCredentials(request: Request): void {
  const url = new URL(request.url);
  if (QUERY_CREDENTIALS.some((k) => url.searchParams.has(k))) throw unauthorized("Credentials in the query string are refused; use the Authorization or x-api-key header");
}

export function authPlugin(deps: Deps) {
  async function principalFrom(request: Request): Promise<Principal> {
    refuseQueryCredentials(request);
    const header = request.headers.get("authorization");
    if (!header) throw unauthorized();
    const [scheme, token] = header.split(" ", 2);
    if (scheme?.toLowerCase() !== "bearer" || !token) throw unauthorized("Expected 'Authorization: Bearer <token>'");
    let claims;
    try {
      claims = await deps.tokens.verifyAccess(token.trim());
    } catch (err) {
      if (err instanceof InvalidTokenError) throw unauthorized(err.message === "token expired" ? "Token expired" : "Invalid token");
      throw err;
    }
    const db = deps.db.drizzle;
    const [account, org] = await Promise.all([getUser(db, claims.org, claims.sub), getOrganization(db, claims.org)]);
    if (!account || !account.isActive || !org || !org.isActive) throw unauthorized("Invalid token");
    return {
      type: "user",
      id: account.id,
      userId: account.id,
      organizationId: account.organizationId,
      sessionId: claims.sid,
      email: account.email,
      isSuperAdmin: account.organizationId === SYSTEM_ORGANIZATION_ID,
      permissions: new Set(),
    };
  }

  return new Elysia({ name: "auth" }).macro({
    auth: (requirement: AuthRequirement) => ({
      // Before validation: a strict query schema would otherwise answer 422 and the
      // refusal would depend on the route's query schema.
      transform({ request }) {
        refuseQueryCredentials(request);
      },
      async resolve({ request }) {
        const principal = await principalFrom(request);
        if (requirement !== true) {
          if (requirement.superAdmin && !principal.isSuperAdmin) throw new DomainError("forbidden", "Super admin only");
          if (requirement.permission && !principal.isSuperAdmin && !principal.permissions.has(requirement.permission)) {
            throw new DomainError("forbidden", `Missing permission ${requirement.permission}`);
          }
        }
        return { principal };
      },
    }),
  });
}
