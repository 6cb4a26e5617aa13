/**
 * Which organization a request may address. Tenancy is absolute: a caller addresses its
 * own organization; only a super admin may name another, and even then only a visible
 * tenant (not the system organization, not one still onboarding). Anything else is 404,
 * never 403, so existence does not leak.
 */
import type { Deps } from "../deps";
import { invalid, notFound } from "../domain/errors";
import { isUuid } from "../http/pagination";
import { getOrganization } from "../../projections/organizations/queries";

/** The caller, as the auth macro resolves it (a `Principal` fits). */
export interface Acting {
  type: "user" | "api_key";
  userId: string;
  organizationId: string;
  isSuperAdmin: boolean;
  permissions: ReadonlySet<string>;
}

/** The organization id named by the request, if the caller may address it; 404 otherwise. */
export async function addressableOrganization(deps: Pick<Deps, "db">, acting: Acting, organizationId: string): Promise<string> {
  if (!acting.isSuperAdmin) {
    if (organizationId.toLowerCase() !== acting.organizationId) throw notFound("Organization");
    return acting.organizationId;
  }
  const org = isUuid(organizationId) ? await getOrganization(deps.db.drizzle, organizationId.toLowerCase()) : null;
  if (!org || org.isSystem || org.provisioning) throw notFound("Organization");
  return org.id;
}

/**
 * The organization a list is filtered by: the one requested (checked as above), else the
 * caller's own; undefined only for a super admin who named none (every organization).
 */
export async function listScope(deps: Pick<Deps, "db">, acting: Acting, requested?: string): Promise<string | undefined> {
  if (requested) return addressableOrganization(deps, acting, requested);
  return acting.isSuperAdmin ? undefined : acting.organizationId;
}

/**
 * The organization a new resource goes to: the one named (checked as above), else the
 * caller's own. A super admin belongs to no tenant, so it must name one (422).
 */
export async function creationTarget(deps: Pick<Deps, "db">, acting: Acting, requested: string | undefined, what: string): Promise<string> {
  if (requested !== undefined) return addressableOrganization(deps, acting, requested);
  if (acting.isSuperAdmin) throw invalid("/body/organization_id", `A super admin names the organization to create the ${what} in`);
  return acting.organizationId;
}
